"""Parsing of HTML / MarkdownV2 / Markdown text into visible text and entities."""

from __future__ import annotations

import pytest

from bot.sandbox import EntityParseError, parse_formatted


def test_plain_text_is_untouched() -> None:
    parsed = parse_formatted("<b>not html</b>", None)
    assert parsed.text == "<b>not html</b>"
    assert parsed.entities == []


def test_html_entities_and_offsets_in_utf16() -> None:
    parsed = parse_formatted('😀 <b>bold</b> &lt;x&gt; <a href="https://e.org">link</a>', "HTML")
    assert parsed.text == "😀 bold <x> link"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 12, "length": 4, "url": "https://e.org"},
    ]


def test_html_pre_with_language() -> None:
    parsed = parse_formatted('<pre><code class="language-python">x = 1</code></pre>', "HTML")
    assert parsed.text == "x = 1"
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("line<br>break", 'unsupported start tag "br"'),
        ("<b>open", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("1 < 2", 'unexpected "<"'),
        ('<span class="x">s</span>', "tg-spoiler"),
    ],
)
def test_html_errors(text: str, fragment: str) -> None:
    with pytest.raises(EntityParseError, match="can't parse entities") as info:
        parse_formatted(text, "HTML")
    assert fragment in str(info.value)


def test_markdown_v2() -> None:
    parsed = parse_formatted(
        r"*bold* _it_ __u__ ~s~ ||sp|| `c\`` [l](https://x.y/\)) 1\.5", "MarkdownV2"
    )
    assert parsed.text == "bold it u s sp c` l 1.5"
    kinds = [e["type"] for e in parsed.entities]
    assert kinds == ["bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link"]
    assert parsed.entities[-1]["url"] == "https://x.y/)"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Done.", "character '.' is reserved"),
        ("*bold", "can't find end of bold entity"),
        ("`code", "can't find end of code entity"),
        ("a - b", "character '-' is reserved"),
    ],
)
def test_markdown_v2_errors(text: str, fragment: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_formatted(text, "MarkdownV2")
    assert fragment in str(info.value)


def test_legacy_markdown() -> None:
    parsed = parse_formatted("*b* _i_ `c` [t](https://u)", "Markdown")
    assert parsed.text == "b i c t"
    with pytest.raises(EntityParseError):
        parse_formatted("*b", "Markdown")
