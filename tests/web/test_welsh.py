"""The dashboard in Welsh (issue 6): each member of staff chooses English or Cymraeg in the
page header, or gets what the browser asks for; every word of the pages, and the dates,
are then in that language."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from handlers.web.app import make_web_app
from handlers.web.i18n import Dashboard, preferred_languages
from tests.web.conftest import Dashboard as Board
from tests.web.conftest import csrf
from tests.web.test_queue import ADMIN, OM, SPO, _world

WELSH = {"Accept-Language": "cy-GB,cy;q=0.9,en-GB;q=0.8"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


async def _page(
    client: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> str:
    async with client.get(url, headers=headers) as answer:
        assert answer.status == 200, (url, answer.status)
        return await answer.text()


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match, "no lang on <html>"
    return match.group(1)


async def _switch(
    client: aiohttp.ClientSession, html: str, language: str, back: str
) -> aiohttp.ClientResponse:
    answer = await client.post(
        "/language",
        data={"csrf_token": csrf(html), "language": language, "next": back},
        allow_redirects=False,
    )
    assert (answer.status, answer.headers["Location"]) == (303, back)
    return answer


async def test_staff_switch_to_welsh_and_back(dashboard: Board) -> None:
    ids = await _world(dashboard)
    absence = f"/absences/{ids['absence']}"
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        queue = await _page(browser, "/")
        assert _lang(queue) == "en-GB" and "<h1>Your queue</h1>" in queue
        # The switch names the other language in itself, in its own language.
        assert '<button type="submit" name="language" value="cy" lang="cy"' in queue
        assert ">Cymraeg</button>" in queue

        chosen = await _switch(browser, queue, "cy", "/")
        cookie = chosen.headers["Set-Cookie"]
        assert cookie.startswith("companion_language=cy;")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        # Plain http on this machine, as the session cookie; Secure over https (below).
        assert "Secure" not in cookie

        queue = await _page(browser, "/")
        assert _lang(queue) == "cy"
        assert (
            "<h1>Eich ciw</h1>" in queue
            and "<title>Eich ciw – Programme Companion</title>" in queue
        )
        assert "Absenoldeb i benderfynu arno" in queue  # the row's task
        assert "yn ddyledus ymhen 12 diwrnod gwaith" in queue  # his sick note's last day
        assert ">Absenoldebau (1)</a>" in queue and "1 eitem" in queue
        assert 'lang="en-GB" class="link">English</button>' in queue
        # An unreviewed translation says so, in Welsh.
        assert "Nid yw cyfieithydd cymwysedig wedi gwirio" in queue
        assert "Your queue" not in queue and "Absence to decide" not in queue

        page = await _page(browser, absence)
        assert _lang(page) == "cy"
        assert "Dydd Iau 3 Rhagfyr 2026 am 18:00" in page  # the session, Babel's Welsh
        assert "dyledus erbyn Dydd Iau 10 Rhagfyr 2026" in page  # the sick note
        assert "<dt>Rheswm</dt><dd>yn sâl</dd>" in page
        assert "Ydy'r rheswm yn dderbyniol?" in page and "Anfon y penderfyniad" in page
        assert "Thursday" not in page and "December" not in page and "Sick note" not in page
        # A message from the dashboard itself is in Welsh too (the services' rule errors: below).
        refused = await browser.post(
            f"{absence}/decide",
            data={"csrf_token": csrf(page), "decision": "maybe"},
            allow_redirects=False,
        )
        assert refused.status == 400
        assert "Dewiswch Derbyniol neu Ddim yn dderbyniol." in await refused.text()

        await _switch(browser, page, "en", absence)
        page = await _page(browser, absence)
        assert _lang(page) == "en-GB"
        assert "Thursday 3 December 2026 at 18:00" in page
        assert "due Thursday 10 December 2026" in page and "Rheswm" not in page
        # The choice outlasts the session: it is the person's, in their browser.
        await _page(browser, "/")
    async with dashboard.client() as other:
        await dashboard.sign_in(other, OM)
        assert _lang(await _page(other, "/")) == "en-GB"


async def test_the_services_rule_errors_are_in_welsh_too(dashboard: Board) -> None:
    """A rule the services enforce (a sick note already marked, an absence already decided,
    an item that is not there) is told in the page's language, with its values as they are;
    the same error in English reads as the CLI prints it."""
    ids = await _world(dashboard)
    absence = f"/absences/{ids['absence']}"
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        await _switch(browser, await _page(browser, "/"), "cy", "/")
        page = await _page(browser, absence)
        token = csrf(page)
        marked = await browser.post(
            f"{absence}/sick-note", data={"csrf_token": token}, allow_redirects=False
        )
        assert marked.status == 303
        again = await browser.post(f"{absence}/sick-note", data={"csrf_token": token})
        assert again.status == 400
        text = unescape(await again.text())
        assert _lang(text) == "cy"
        assert (
            f"Mae wedi'i nodi eisoes bod y nodyn salwch ar gyfer absenoldeb {ids['absence']} "
            "wedi dod i law."
        ) in text
        assert "already marked received" not in text

        decided = await browser.post(
            f"{absence}/decide",
            data={"csrf_token": token, "decision": "acceptable"},
            allow_redirects=False,
        )
        assert decided.status == 303
        twice = await browser.post(
            f"{absence}/decide", data={"csrf_token": token, "decision": "unacceptable"}
        )
        assert twice.status == 400
        # The status is a value: it stays the code the services give (noted for translators).
        assert (
            "Mae gan yr absenoldeb hwn y statws acceptable eisoes; ni ellir penderfynu arno eto."
        ) in unescape(await twice.text())

        # An item that is not there (or not theirs): a plain 404, in Welsh.
        async with browser.get("/absences/999999") as missing:
            assert missing.status == 404
            assert await missing.text() == "Does dim adroddiad absenoldeb 999999."
        async with browser.get("/files/999999") as missing:
            assert (missing.status, await missing.text()) == (404, "Does dim ffeil 999999.")
    async with dashboard.client() as english:
        await dashboard.sign_in(english, OM)
        async with english.get("/absences/999999") as missing:
            assert missing.status == 404
            assert await missing.text() == "There is no absence report 999999."


async def test_sign_in_in_welsh_from_the_browser_or_the_switch(dashboard: Board) -> None:
    async with dashboard.client() as browser:
        page = await _page(browser, "/sign-in", headers=WELSH)
        assert _lang(page) == "cy"
        assert "<h1>Mewngofnodi</h1>" in page and '<label for="password">Cyfrinair</label>' in page
        assert 'lang="en-GB" class="link">English</button>' in page
        # The switch works before signing in, and the choice wins over the browser's.
        await _switch(browser, page, "en", "/sign-in")
        page = await _page(browser, "/sign-in", headers=WELSH)
        assert _lang(page) == "en-GB" and "<h1>Sign in</h1>" in page
        await _switch(browser, page, "cy", "/sign-in")
        page = await _page(browser, "/sign-in", headers=ENGLISH)
        assert _lang(page) == "cy" and "<h1>Mewngofnodi</h1>" in page
        # Signing in keeps it: the second step, then the queue.
        answer = await browser.post(
            "/sign-in",
            data={
                "csrf_token": csrf(page),
                "email": OM,
                "password": "correct horse battery staple",
            },
            allow_redirects=False,
        )
        step = await _page(browser, answer.headers["Location"])
        assert _lang(step) == "cy" and "Gosod eich ail gam" in step and "Allwedd:" in step
    async with dashboard.client() as english:
        page = await _page(english, "/sign-in", headers=ENGLISH)
        assert _lang(page) == "en-GB" and "<h1>Sign in</h1>" in page
        assert ">Cymraeg</button>" in page
        # No Accept-Language at all: English.
        english.cookie_jar.clear()
        assert _lang(await _page(english, "/sign-in")) == "en-GB"


async def test_a_refused_sign_in_is_told_in_welsh(dashboard: Board) -> None:
    async with dashboard.client() as browser:
        page = await _page(browser, "/sign-in", headers=WELSH)
        form = {"csrf_token": csrf(page), "email": OM, "password": "not her password"}
        async with browser.post("/sign-in", data=form, headers=WELSH) as refused:
            assert refused.status == 401
            text = await refused.text()
        assert _lang(text) == "cy"
        assert "Nid yw&#39;r e-bost a&#39;r cyfrinair yn cyfateb." in text
        assert "do not match" not in text


async def test_the_switch_goes_back_only_to_this_site(dashboard: Board) -> None:
    async with dashboard.client() as browser:
        page = await _page(browser, "/sign-in")
        for back in ("https://evil.example/", "//evil.example/", "/\\evil.example", "nowhere"):
            answer = await browser.post(
                "/language",
                data={"csrf_token": csrf(page), "language": "cy", "next": back},
                allow_redirects=False,
            )
            assert (answer.status, answer.headers["Location"]) == (303, "/"), back
        # A language the dashboard does not have changes nothing.
        answer = await browser.post(
            "/language",
            data={"csrf_token": csrf(page), "language": "xx", "next": "/sign-in"},
            allow_redirects=False,
        )
        assert answer.status == 303 and "Set-Cookie" not in answer.headers
        # No CSRF token, no change.
        forged = await browser.post("/language", data={"language": "en"}, allow_redirects=False)
        assert forged.status == 403


async def test_a_page_shown_after_a_form_switches_back_to_its_own_address(
    dashboard: Board,
) -> None:
    """After a POST the page is the item's: the switch must not come back to the action."""
    ids = await _world(dashboard)
    absence = f"/absences/{ids['absence']}"
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await _page(browser, absence)
        refused = await browser.post(f"{absence}/decide", data={"csrf_token": csrf(page)})
        assert f'name="next" value="{absence}"' in await refused.text()


def test_accept_language_is_read_by_quality() -> None:
    assert preferred_languages("en-GB,en;q=0.9,cy;q=0.95") == ["en-gb", "cy", "en"]
    assert preferred_languages("cy;q=0, fr , *;q=0.1") == ["fr"]
    assert preferred_languages("nonsense;q=x, en") == ["en"]
    languages = Dashboard()
    assert languages.choose(None, "fr-FR, cy-GB;q=0.5, en;q=0.4").language == "cy"
    assert languages.choose(None, "fr-FR").language == "en"
    assert languages.choose("cy", "en").language == "cy"
    assert languages.choose("xx", "cy").language == "cy"


async def test_the_language_cookie_is_secure_over_https(dashboard: Board) -> None:
    """Behind an https proxy, like the session's: a __Host- cookie, Secure, and the
    language it names is used."""
    server = TestServer(make_web_app(dashboard.core.services, public_https=True), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession(base_url=str(server.make_url(""))) as proxy:
            page = await proxy.get("/sign-in")
            # Secure cookies: this plain-http test client sends them by hand.
            session_id = page.cookies["__Host-companion_session"].value
            cookies = f"__Host-companion_session={session_id}"
            answer = await proxy.post(
                "/language",
                data={"csrf_token": csrf(await page.text()), "language": "cy", "next": "/sign-in"},
                headers={"Cookie": cookies},
                allow_redirects=False,
            )
            chosen = answer.cookies["__Host-companion_language"]
            assert chosen.value == "cy" and chosen["secure"] and chosen["httponly"]
            assert chosen["samesite"] == "Strict" and chosen["path"] == "/"
            page = await proxy.get(
                "/sign-in", headers={"Cookie": f"{cookies}; __Host-companion_language=cy"}
            )
            assert _lang(await page.text()) == "cy"
    finally:
        await server.close()


# --- no English left on the Welsh pages -----------------------------------------------------


class _Text(HTMLParser):
    """What a reader meets: text, and the words of labels and alternatives."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._skip += 1
        for name, value in attrs:
            if value and name in ("aria-label", "alt", "title", "data-signed-out"):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


WORD = re.compile(r"[^\W\d_]{3,}")
# Not words of either language: `%(name)s` and `{name!r}` placeholders, and markup.
_PLACEHOLDER = re.compile(r"%\(\w+\)s|\{[^{}]*\}|<[^>]+>")


def _english_words() -> set[str]:
    """Words of the dashboard's English that its Welsh never uses ("staff", "Telegram" and
    "braille" are Welsh too, so they are not evidence of English)."""
    with (LOCALES_DIR / "cy" / "LC_MESSAGES" / "dashboard.po").open("rb") as handle:
        catalog = read_po(handle, locale="cy")
    english: set[str] = set()
    welsh: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            english |= {w.lower() for w in WORD.findall(_PLACEHOLDER.sub(" ", text))}
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            welsh |= {w.lower() for w in WORD.findall(_PLACEHOLDER.sub(" ", text))}
    return english - welsh


# Names and references the pages show as they are: people, places, the product, his words.
PROPER = (
    "Programme Companion",
    "Dana Fictional",
    "Staff Fictional",
    "Thursday A",
    "Room 2, Example House",
    "note.pdf",
    "Flu",
    "New item in your queue",  # the Telegram alert, which the bot sends in English
    "English",  # the switch back, in its own language
)


def _english_left(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    for name in PROPER:
        text = text.replace(name, " ")
    text = re.sub(r"\S+@\S+", " ", text)  # email addresses
    # References are random letters and digits: "P-KEY29R" is not the English "key".
    text = re.sub(r"\b[A-Z]-[0-9A-Z]{5,6}\b", " ", text)
    english = _english_words()
    return sorted({w for w in WORD.findall(text) if w.lower() in english})


async def test_no_english_is_left_on_the_main_welsh_pages(dashboard: Board) -> None:
    ids = await _world(dashboard)
    pages = {
        OM: ["/", f"/absences/{ids['absence']}", "/participants", "/saved-replies", "/telegram"],
        SPO: ["/", "/complaints/C-7K3QX", "/?status=closed"],
        ADMIN: ["/staff", "/audit?actor=nobody", "/cohorts", "/participants/new"],
    }
    found: dict[str, list[str]] = {}
    for email, urls in pages.items():
        async with dashboard.client() as browser:
            await dashboard.sign_in(browser, email)
            await _switch(browser, await _page(browser, "/"), "cy", "/")
            people = await _page(browser, "/participants")
            urls += re.findall(r'href="(/participants/P-[^"]+)"', people)[:1]
            for url in urls:
                html = await _page(browser, url)
                assert _lang(html) == "cy", url
                if left := _english_left(html):
                    found[f"{email} {url}"] = left
    async with dashboard.client() as anonymous:
        for url in ("/sign-in",):
            html = await _page(anonymous, url, headers=WELSH)
            if left := _english_left(html):
                found[url] = left
    assert found == {}, found


def test_the_scan_sees_english() -> None:
    """The check above would catch an English word left in a template."""
    assert _english_left('<p>Nothing here.</p><button aria-label="Remove it">Tynnu</button>') == [
        "Nothing",
        "Remove",
        "here",
    ]
    assert _english_left("<p>Dim byd yma.</p><code>/start ABC</code>") == []


def test_no_template_writes_a_date_with_strftime() -> None:
    """Dates go through the page's language (`|day`, `|day_at`, ...), never strftime."""
    templates = Path(__file__).resolve().parents[2] / "handlers" / "web" / "templates"
    assert [p.name for p in templates.glob("*.html") if "strftime" in p.read_text()] == []


@pytest.mark.parametrize("language", ["en", "cy"])
def test_dates_read_naturally(language: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    words = Dashboard().get(language)
    assert words is not None
    at = datetime(2027, 1, 12, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    expected = {
        "en": ("Tuesday 12 January 2027 at 10:00", "12 Jan 2027"),
        "cy": ("Dydd Mawrth 12 Ionawr 2027 am 10:00", "12 Ion 2027"),
    }[language]
    assert (words.day_at(at), words.short_date(at)) == expected
