"""The part of the demo data that happens in the chat, played through the sandbox with the
bot running: phones are linked with their codes, one participant reports he is ill, one takes
his complaint to stage 2, one asks for an audio version. The phone page then shows these
conversations as they happened.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from bot import messages
from bot.demo import data
from bot.domain.absence import Reason
from bot.domain.complaints import Category
from bot.i18n import Translator
from bot.sandbox import BotApiSandbox, SandboxUser, SentMessage
from bot.services import admin, complaint_review
from bot.services.context import ServiceContext

REFERENCE = re.compile(r"C-[0-9A-Z]{5}")
COMPLAINT_WORDS = (
    "The facilitator told me off in front of the group for being late, but the bus was late."
)
STAGE_2_WORDS = "Nothing has changed, and I was not asked what happened."
SPO_REPLY = (
    "Thank you for telling us. I spoke to the facilitator, who says you were not singled "
    "out. Please let us know if it happens again."
)


class ChatScript:
    """Plays a participant's side of a conversation.

    Each step returns a mark (how many bot messages the chat had before it), and the next
    step looks only at what came after it, so a reminder arriving in between changes nothing.
    """

    def __init__(self, sandbox: BotApiSandbox, timeout: float = 60.0) -> None:
        self.sandbox = sandbox
        self.timeout = timeout

    def say(self, user: SandboxUser, words: str) -> int:
        mark = len(user.messages())
        user.send_text(words)
        return mark

    async def tap(self, user: SandboxUser, label: str, after: int) -> int:
        """Press the button labelled `label` on the newest bot message since `after` that
        has one (waiting for it to arrive)."""
        message = await self.expect(user, after, lambda m: label in _labels(m))
        [data_] = [b["callback_data"] for b in message.inline_buttons if b["text"] == label]
        mark = len(user.messages())
        user.press(message.message_id, str(data_))
        return mark

    async def expect(
        self, user: SandboxUser, after: int, test: Callable[[SentMessage], bool]
    ) -> SentMessage:
        """The newest bot message since `after` that passes `test` (waiting for one)."""

        def found() -> SentMessage | None:
            return next((m for m in reversed(user.messages()[after:]) if test(m)), None)

        await self.sandbox.wait_until(
            lambda: found() is not None, self.timeout, f"the demo chat with {user.first_name}"
        )
        message = found()
        assert message is not None  # noqa: S101 - just waited for it
        return message


def _labels(message: SentMessage) -> list[str]:
    return [str(b.get("text")) for b in message.inline_buttons]


def _has_keyboard(message: SentMessage) -> bool:
    """An answer that ends a conversation brings back the menu keyboard."""
    return "keyboard" in (message.reply_markup or {})


def _asks_for_words(t: Translator) -> Callable[[SentMessage], bool]:
    """A question waiting for his own words has only a Cancel button."""
    return lambda message: _labels(message) == [t._(messages.BUTTON_CANCEL)]


async def play(ctx: ServiceContext, sandbox: BotApiSandbox, seeded: data.Seeded) -> None:
    """Everything the demo data needs from the chat; the bot must be running."""
    script = ChatScript(sandbox)
    t = ctx.catalogs.translator()
    staff_phone = sandbox.user(data.STAFF_PHONE.user_id, data.STAFF_PHONE.first_name)
    code = await admin.issue_staff_code(ctx, data.ACTOR, data.OFFENDER_MANAGER.email, None)
    await script.expect(staff_phone, script.say(staff_phone, f"/start {code.code}"), bool)
    linked = [p for p in data.PERSONAS if p.linked]
    users = {p.key: sandbox.user(p.phone_id, p.first_name, p.phone_language) for p in linked}
    await asyncio.gather(
        *(
            script.expect(
                users[p.key], script.say(users[p.key], f"/start {seeded.codes[p.key]}"), bool
            )
            for p in linked
        )
    )
    await asyncio.gather(
        _reports_illness(ctx, script, t, users[data.SICK_NOTE.key], seeded.plan.sick_session),
        _takes_complaint_to_stage_2(ctx, script, t, users[data.STAGE_2.key]),
        _asks_for_audio(script, t, users[data.ON_TRACK.key]),
    )


async def _reports_illness(
    ctx: ServiceContext, script: ChatScript, t: Translator, user: SandboxUser, number: int
) -> None:
    [cohort] = [c for c in await admin.list_cohorts(ctx) if c.name == data.COHORT]
    [missed] = [s.starts_at for s in cohort.sessions if s.number == number]
    mark = script.say(user, "/absence")
    mark = await script.tap(user, messages.session_label(t, missed), mark)
    mark = await script.tap(user, t._(messages.REASON_LABELS[Reason.ILL]), mark)
    mark = await script.tap(user, t._(messages.BUTTON_SKIP), mark)
    mark = await script.tap(user, t._(messages.BUTTON_SEND), mark)
    await script.expect(user, mark, _has_keyboard)


async def _takes_complaint_to_stage_2(
    ctx: ServiceContext, script: ChatScript, t: Translator, user: SandboxUser
) -> None:
    mark = script.say(user, "/complaint")
    mark = await script.tap(user, t._(messages.CATEGORY_LABELS[Category.UNFAIR]), mark)
    mark = await script.tap(user, t._(messages.BUTTON_SOMEONE_ELSE), mark)
    await script.expect(user, mark, _asks_for_words(t))
    mark = script.say(user, COMPLAINT_WORDS)
    mark = await script.tap(user, t._(messages.BUTTON_DONE), mark)
    mark = await script.tap(user, t._(messages.BUTTON_SEND), mark)
    sent = await script.expect(user, mark, lambda m: bool(REFERENCE.search(m.text or "")))
    reference = REFERENCE.findall(sent.text or "")[0]
    spo = data.SENIOR_PROBATION_OFFICER.email
    mark = len(user.messages())
    await complaint_review.acknowledge(ctx, spo, reference)
    await complaint_review.reply(ctx, spo, reference, SPO_REPLY)
    mark = await script.tap(user, t._(messages.BUTTON_NOT_SATISFIED), mark)
    await script.expect(user, mark, _asks_for_words(t))
    mark = script.say(user, STAGE_2_WORDS)
    mark = await script.tap(user, t._(messages.BUTTON_SEND), mark)
    await script.expect(user, mark, _has_keyboard)


async def _asks_for_audio(script: ChatScript, t: Translator, user: SandboxUser) -> None:
    mark = script.say(user, "/format")
    audio = messages.FORMAT_LABELS["audio"]  # a variable, so no literal reaches pybabel
    mark = await script.tap(user, t._(audio), mark)
    await script.expect(user, mark, _has_keyboard)
