"""Parsing of Telegram's formatted text (HTML, MarkdownV2, Markdown) into plain text + entities.

The sandbox needs this for two reasons: the documented length limits ("1-4096 characters after
entities parsing") apply to the *visible* text, and Telegram rejects malformed markup with
``400 Bad Request: can't parse entities: ...``, which is a bot bug we want tests to catch.

The parsers follow https://core.telegram.org/bots/api#formatting-options closely enough to catch
real mistakes (unsupported or unclosed tags, unescaped reserved MarkdownV2 characters) without
trying to reproduce every corner of Telegram's implementation. Entity offsets and lengths are in
UTF-16 code units, as in the Bot API; error positions are UTF-8 byte offsets, as Telegram reports.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

PARSE_MODES = ("HTML", "MarkdownV2", "Markdown")


class EntityParseError(ValueError):
    """The text is not valid for its parse mode (Telegram: "can't parse entities")."""


@dataclass
class ParsedText:
    """Visible text and the entities Telegram would attach to the message."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_formatted(text: str, parse_mode: str | None) -> ParsedText:
    """Parse ``text`` as Telegram would for ``parse_mode`` (None = plain text).

    Raises EntityParseError for malformed markup and ValueError for an unknown parse mode.
    """
    if parse_mode is None or parse_mode == "":
        return ParsedText(text)
    if parse_mode == "HTML":
        return _HtmlParser(text).parse()
    if parse_mode == "MarkdownV2":
        return _MarkdownV2Parser(text).parse()
    if parse_mode == "Markdown":
        return _parse_legacy_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


class _Builder:
    """Accumulates visible text and tracks UTF-16 positions for entity bookkeeping."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos16 = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, chunk: str) -> None:
        if chunk:
            self.parts.append(chunk)
            self.pos16 += utf16_len(chunk)

    def entity(self, start16: int, kind: str, **extra: Any) -> None:
        length = self.pos16 - start16
        # Telegram silently drops empty entities.
        if length > 0:
            self.entities.append({"type": kind, "offset": start16, "length": length, **extra})

    def result(self) -> ParsedText:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.parts), self.entities)


# --- HTML -------------------------------------------------------------------------------------

_TAG_RE = re.compile(
    r"<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)"
    r"(?P<attrs>(?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)"
    r"\s*/?>"
)
_ATTR_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_SPECIAL = {"a", "span", "blockquote", "tg-emoji", "tg-time"}


@dataclass
class _OpenTag:
    name: str
    start16: int
    byte_offset: int
    kind: str
    extra: dict[str, Any]


class _HtmlParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder()
        self.stack: list[_OpenTag] = []

    def error(self, message: str) -> EntityParseError:
        return EntityParseError(f"can't parse entities: {message}")

    def parse(self) -> ParsedText:
        text = self.text
        i = 0
        plain_start = 0
        while i < len(text):
            ch = text[i]
            if ch == "<":
                self.out.add(text[plain_start:i])
                match = _TAG_RE.match(text, i)
                if match is None:
                    raise self.error(
                        f'unexpected "<" at byte offset {_byte_offset(text, i)}; escape it as &lt;'
                    )
                self._tag(match, i)
                i = match.end()
                plain_start = i
            elif ch == "&":
                self.out.add(text[plain_start:i])
                match = _ENTITY_RE.match(text, i)
                if match is None:
                    # Telegram keeps a lone "&" as is.
                    self.out.add("&")
                    i += 1
                else:
                    self.out.add(html.unescape(match.group(0)))
                    i = match.end()
                plain_start = i
            else:
                i += 1
        self.out.add(text[plain_start:])
        if self.stack:
            tag = self.stack[-1]
            raise self.error(f'can\'t find end tag corresponding to start tag "{tag.name}"')
        return self.out.result()

    def _tag(self, match: re.Match[str], index: int) -> None:
        name = match.group("name").lower()
        offset = _byte_offset(self.text, index)
        if match.group("close"):
            if not self.stack:
                raise self.error(f'unexpected end tag "{name}" at byte offset {offset}')
            top = self.stack.pop()
            if top.name != name:
                raise self.error(
                    f'unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            self._close(top)
            return
        if name not in _HTML_SIMPLE and name not in _HTML_SPECIAL:
            raise self.error(f'unsupported start tag "{name}" at byte offset {offset}')
        attrs = {
            key.lower(): html.unescape(value.strip("\"'")) if value else ""
            for key, value in _ATTR_RE.findall(match.group("attrs"))
        }
        kind, extra = self._open_kind(name, attrs, offset)
        self.stack.append(_OpenTag(name, self.out.pos16, offset, kind, extra))

    def _open_kind(
        self, name: str, attrs: dict[str, str], offset: int
    ) -> tuple[str, dict[str, Any]]:
        if name in _HTML_SIMPLE:
            if name == "code" and self.stack and self.stack[-1].name == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-"):
                    # <pre><code class="language-x"> sets the language of the enclosing pre.
                    self.stack[-1].extra["language"] = language.removeprefix("language-")
            return _HTML_SIMPLE[name], {}
        if name == "span":
            if attrs.get("class") != "tg-spoiler":
                raise self.error(f'tag "span" must have class "tg-spoiler" at byte offset {offset}')
            return "spoiler", {}
        if name == "a":
            href = attrs.get("href", "")
            user = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if user:
                return "text_mention", {
                    # Telegram fills in the real user; the sandbox only knows the id.
                    "user": {"id": int(user.group(1)), "is_bot": False, "first_name": "User"}
                }
            return "text_link", {"url": href}
        if name == "blockquote":
            return ("expandable_blockquote" if "expandable" in attrs else "blockquote"), {}
        if name == "tg-emoji":
            if "emoji-id" not in attrs:
                raise self.error(
                    f'tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
                )
            return "custom_emoji", {"custom_emoji_id": attrs["emoji-id"]}
        # tg-time
        unix = attrs.get("unix", "")
        if not unix.isdigit():
            raise self.error(
                f'tag "tg-time" must have a numeric "unix" attribute at byte offset {offset}'
            )
        extra: dict[str, Any] = {"unix_time": int(unix)}
        if attrs.get("format"):
            extra["date_time_format"] = attrs["format"]
        return "date_time", extra

    def _close(self, tag: _OpenTag) -> None:
        if tag.name == "code" and self.stack and self.stack[-1].name == "pre":
            return  # merged into the enclosing pre entity
        self.out.entity(tag.start16, tag.kind, **tag.extra)


# --- MarkdownV2 -------------------------------------------------------------------------------

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_TOGGLES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


class _MarkdownV2Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder()
        # (marker, start16, byte offset of the marker)
        self.stack: list[tuple[str, int, int]] = []

    def error(self, message: str) -> EntityParseError:
        return EntityParseError(f"can't parse entities: {message}")

    def parse(self) -> ParsedText:
        text = self.text
        i = 0
        line_start = True
        quote_start: int | None = None
        while i < len(text):
            ch = text[i]
            if line_start and ch == ">":
                if quote_start is None:
                    quote_start = self.out.pos16
                i += 1
                line_start = False
                continue
            if line_start and quote_start is not None and ch != ">":
                self.out.entity(quote_start, "blockquote")
                quote_start = None
            line_start = False
            if ch == "\\":
                if i + 1 < len(text) and 1 <= ord(text[i + 1]) <= 126:
                    self.out.add(text[i + 1])
                    i += 2
                    continue
                raise self.error(
                    f"character '\\' at byte offset {_byte_offset(text, i)} must be escaped "
                    "with the preceding '\\'"
                )
            if ch == "\n":
                self.out.add(ch)
                line_start = True
                i += 1
                continue
            if ch == "`":
                i = self._code(i)
                continue
            two = text[i : i + 2]
            if two in ("__", "||"):
                self._toggle(two, i)
                i += 2
                continue
            if ch in ("*", "_", "~"):
                self._toggle(ch, i)
                i += 1
                continue
            if ch == "[" or (two == "!["):
                i = self._link(i)
                continue
            if ch in _MDV2_RESERVED:
                raise self.error(
                    f"character '{ch}' is reserved and must be escaped with the preceding '\\'"
                )
            self.out.add(ch)
            i += 1
        if quote_start is not None:
            self.out.entity(quote_start, "blockquote")
        if self.stack:
            marker, _, offset = self.stack[-1]
            raise self.error(
                f"can't find end of {_MDV2_TOGGLES[marker]} entity at byte offset {offset}"
            )
        return self.out.result()

    def _toggle(self, marker: str, index: int) -> None:
        if self.stack and self.stack[-1][0] == marker:
            _, start16, _ = self.stack.pop()
            self.out.entity(start16, _MDV2_TOGGLES[marker])
            return
        if any(open_marker == marker for open_marker, _, _ in self.stack):
            raise self.error(
                f"entities must be properly nested; unexpected '{marker}' at byte offset "
                f"{_byte_offset(self.text, index)}"
            )
        self.stack.append((marker, self.out.pos16, _byte_offset(self.text, index)))

    def _scan_until(self, start: int, terminator: str, what: str, origin: int) -> tuple[str, int]:
        """Read escaped content up to ``terminator``; return (content, index after it)."""
        text = self.text
        chunk: list[str] = []
        i = start
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                chunk.append(text[i + 1])
                i += 2
                continue
            if text.startswith(terminator, i):
                return "".join(chunk), i + len(terminator)
            chunk.append(text[i])
            i += 1
        raise self.error(
            f"can't find end of {what} entity at byte offset {_byte_offset(text, origin)}"
        )

    def _code(self, index: int) -> int:
        if self.text.startswith("```", index):
            body, end = self._scan_until(index + 3, "```", "pre", index)
            language = ""
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            start16 = self.out.pos16
            self.out.add(body)
            if language:
                self.out.entity(start16, "pre", language=language)
            else:
                self.out.entity(start16, "pre")
            return end
        body, end = self._scan_until(index + 1, "`", "code", index)
        start16 = self.out.pos16
        self.out.add(body)
        self.out.entity(start16, "code")
        return end

    def _link(self, index: int) -> int:
        emoji = self.text[index] == "!"
        label_start = index + (2 if emoji else 1)
        # The label may itself contain formatting, so parse it recursively.
        depth_text = self.text
        j = label_start
        while j < len(depth_text) and depth_text[j] != "]":
            j += 2 if depth_text[j] == "\\" else 1
        if j >= len(depth_text) or not depth_text.startswith("(", j + 1):
            raise self.error(
                "can't find end of text_link entity at byte offset "
                f"{_byte_offset(self.text, index)}"
            )
        label = _MarkdownV2Parser(depth_text[label_start:j]).parse()
        url, end = self._scan_until(j + 2, ")", "text_link", index)
        start16 = self.out.pos16
        for entity in label.entities:
            self.out.entities.append({**entity, "offset": entity["offset"] + start16})
        self.out.add(label.text)
        if emoji:
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if not match:
                raise self.error(f"invalid custom emoji URL {url!r}")
            self.out.entity(start16, "custom_emoji", custom_emoji_id=match.group(1))
        else:
            self.out.entity(start16, "text_link", url=url)
        return end


# --- Markdown (legacy) ------------------------------------------------------------------------

_LEGACY = {"*": "bold", "_": "italic", "`": "code"}


def _parse_legacy_markdown(text: str) -> ParsedText:
    """Legacy Markdown: no nesting, only *bold*, _italic_, `code`, ```pre``` and [text](url)."""
    out = _Builder()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(
                    f"can't parse entities: can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            start16 = out.pos16
            out.add(text[i + 3 : end])
            out.entity(start16, "pre")
            i = end + 3
            continue
        if ch in _LEGACY:
            end = text.find(ch, i + 1)
            if end < 0:
                raise EntityParseError(
                    f"can't parse entities: can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            start16 = out.pos16
            out.add(text[i + 1 : end])
            out.entity(start16, _LEGACY[ch])
            i = end + 1
            continue
        if ch == "[":
            match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
            if match:
                start16 = out.pos16
                out.add(match.group(1))
                out.entity(start16, "text_link", url=match.group(2))
                i = match.end()
                continue
        out.add(ch)
        i += 1
    return out.result()
