"""The committed template matches the code, and every message is whole and well formed."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def _extracted() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords=KEYWORDS, comment_tags=("Translators:",)
        ):
            found.add(message if isinstance(message, tuple) else (message,))
    return found


def _committed() -> set[tuple[str, ...]]:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        catalog = read_po(handle)
    return {
        tuple(message.id) if isinstance(message.id, tuple) else (message.id,)
        for message in catalog
        if message.id
    }


def test_committed_template_matches_a_fresh_extraction() -> None:
    extracted, committed = _extracted(), _committed()
    assert extracted - committed == set(), "new messages: run 'make messages'"
    assert committed - extracted == set(), "stale messages: run 'make messages'"


def test_placeholders_are_named_never_positional() -> None:
    for message in _extracted():
        for text in message:
            for _literal, field, _spec, _conversion in string.Formatter().parse(text):
                assert field is None or field.isidentifier(), (text, field)


def test_plural_forms_use_the_same_placeholders() -> None:
    for message in _extracted():
        if len(message) == 2:
            singular, plural = (
                {f for _, f, _, _ in string.Formatter().parse(text) if f} for text in message
            )
            assert singular == plural, message
