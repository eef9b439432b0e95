"""He reads everything in the language he picks: Welsh, then Arabic, then Polish, with
each language's plural forms and dates, and the line saying the English version counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.config import Profile
from bot.i18n import LOCALES_DIR, Catalogs, Translator
from bot.messages import welcome as welcome_text
from bot.services.reminders import queue_due_reminders
from tests.conftest import FakeClock
from tests.telegram.conftest import Harness, button_labels, running_harness

CATALOGS = Catalogs()
EVENING_BEFORE = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
CATCH_UPS_LEFT = (
    "You have used {used} of your {max} catch-ups. You have {left} catch-up left.",
    "You have used {used} of your {max} catch-ups. You have {left} catch-ups left.",
)


@pytest.fixture
async def harness(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with running_harness(
        database_url, profile, clock, tmp_path, scheduler_interval=3600
    ) as running:
        yield running


def _t(code: str) -> Translator:
    t = CATALOGS.translator(code)
    assert t.language == code, f"no {code} catalog"
    return t


async def test_he_reads_progress_conditions_and_reminders_in_the_language_he_picks(
    harness: Harness,
) -> None:
    user = harness.sandbox.user(9301, "Sam")
    await harness.enrol(user)
    for code in ("cy", "ar", "pl"):
        t = _t(code)
        [choose] = await harness.say(user, "/language")
        assert t.own_name in button_labels(choose)
        saved = await harness.tap(user, choose, t.own_name)
        notice = t._(
            "This is a translation. If it is not clear, the English version is the one that counts."
        )
        assert saved.text == (
            t._("OK. I will write to you in this language from now on.") + "\n\n" + notice
        )
        # The menu under the chat changes language too.
        labels = [b["text"] for row in (saved.reply_markup or {})["keyboard"] for b in row]
        assert t._("My progress") in labels and t._("🌐 Language") in labels

        [shown] = await harness.say(user, "/progress")
        text = shown.text or ""
        assert text.startswith(t._("Your progress"))
        assert t.ngettext(*CATCH_UPS_LEFT, 4).format(used=0, max=4, left=4) in text
        assert t.date(date(2026, 12, 3)) in text  # his next session, in his language

        [rules] = await harness.say(user, "/conditions")
        assert (rules.text or "").startswith(t._("What you agreed to"))
        assert (rules.text or "").endswith(notice)

    # The reminder goes out in the language he chose last.
    before = len(user.messages())
    harness.clock.now = EVENING_BEFORE
    assert await queue_due_reminders(harness.core.services) == 1
    [reminder] = await harness.replies(user, before)
    polish = _t("pl")
    assert polish.date(date(2026, 12, 3)) in (reminder.text or "")
    assert "Reminder" not in (reminder.text or "")


def _form_for(code: str, n: int) -> str:
    """The catalog's own form for `n`, picked by CLDR's category (not by gettext)."""
    with (LOCALES_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=code)
    forms = catalog[CATCH_UPS_LEFT[0]].string
    rule = Locale.parse(code).plural_form
    categories = [c for c in ("zero", "one", "two", "few", "many") if c in rule.tags]
    category = rule(n)
    index = categories.index(category) if category in categories else len(categories)
    return str(forms[index])


async def test_his_phones_language_is_offered_on_first_contact(harness: Harness) -> None:
    user = harness.sandbox.user(9302, "Sam", language_code="pl-PL")
    _, code = await harness.add_participant("Sam")
    welcome, offer = await harness.say(user, f"/start {code}", replies=2)
    polish = _t("pl")
    assert welcome.text == welcome_text(polish, "Sam")
    assert offer.text == polish._(
        "I will write to you in this language. To change it, tap one below."
    )
    assert {"English", "Cymraeg", "Polski", "العربية"} <= set(button_labels(offer))
    english = await harness.tap(user, offer, "English")
    assert english.text == "OK. I will write to you in this language from now on."


async def test_no_offer_when_his_phone_is_in_english(harness: Harness) -> None:
    user = harness.sandbox.user(9303, "Sam")
    _, code = await harness.add_participant("Sam")
    [welcome] = await harness.say(user, f"/start {code}")
    assert (welcome.text or "").startswith("Welcome, Sam.")


def test_right_to_left_text_keeps_numbers_and_commands_in_place() -> None:
    arabic = _t("ar")
    filled = arabic._("You have done {done} of {required} sessions.").format(done=3, required=35)
    # Each number sits in its own isolate, so "3" and "35" cannot swap places.
    assert "\u20683\u2069" in filled and "\u206835\u2069" in filled
    # A command keeps its slash in front of it.
    assert "\u200e/help" in arabic._("/help shows this list.")
    # Left-to-right languages are left alone.
    polish = _t("pl")._("You have done {done} of {required} sessions.").format(done=3, required=35)
    assert "\u2068" not in polish


@pytest.mark.parametrize("left", [1, 2, 5, 22])
async def test_his_catch_ups_left_read_right_in_each_language(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path, left: int
) -> None:
    """An area allowing `left` catch-ups: /progress in Welsh, Arabic and Polish says how
    many he has left in the form CLDR gives that number."""
    programme = profile.programme.model_copy(update={"max_catch_ups": left})
    area = profile.model_copy(update={"programme": programme})
    async with running_harness(database_url, area, clock, tmp_path) as harness:
        user = harness.sandbox.user(9310, "Sam")
        await harness.enrol(user)
        for code in ("cy", "ar", "pl"):
            t = _t(code)
            [choose] = await harness.say(user, "/language")
            await harness.tap(user, choose, t.own_name)
            [shown] = await harness.say(user, "/progress")
            form = t._sentence(_form_for(code, left)).format(used=0, max=left, left=left)
            assert form in (shown.text or ""), (code, left)
