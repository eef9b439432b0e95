"""The committed template matches the code, and every message is whole and well formed."""

from __future__ import annotations

import gettext
import io
import string
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, REVIEWED_MARK, cldr_plural_forms

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


# Every language the leaflet's participants need (issue 6), besides English.
LANGUAGES = ("cy", "pl", "ro", "sq", "lt", "pt", "pa", "bn", "ur", "ar", "ckb", "fa")


def _catalog_paths() -> list[Path]:
    return sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _catalog(path: Path) -> Catalog:
    language = path.parent.parent.name if path.suffix == ".po" else None
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("path", _catalog_paths(), ids=lambda p: p.parent.parent.name)
def test_each_catalog_is_complete_and_keeps_every_placeholder(path: Path) -> None:
    catalog = _catalog(path)
    language = path.parent.parent.name
    assert catalog.plural_forms == cldr_plural_forms(language), "plural rules must be CLDR's"
    forms = len(Locale.parse(language).plural_form.tags) + 1
    assert catalog.num_plurals == forms
    template = {m.id for m in _catalog(LOCALES_DIR / "messages.pot") if m.id}
    found = {m.id for m in catalog if m.id}
    assert found == template, "run 'make messages' and translate what is new"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        if isinstance(message.id, tuple):
            assert isinstance(message.string, tuple) and len(message.string) == forms, message.id
            expected = _fields(message.id[1])
            for form in message.string:
                assert form.strip(), message.id
                assert _fields(form) == expected, (message.id, form)
        else:
            assert isinstance(message.string, str) and message.string.strip(), message.id
            assert _fields(message.string) == _fields(message.id), (message.id, message.string)
    # The header says whether a qualified translator has reviewed it.
    assert any(line.startswith(REVIEWED_MARK) for line in catalog.header_comment.splitlines())
    # It compiles, and gettext can evaluate its plural rule.
    write_mo(io.BytesIO(), catalog, use_fuzzy=False)
    gettext.c2py(catalog.plural_expr)


def test_every_language_participants_need_has_a_catalog() -> None:
    assert {path.parent.parent.name for path in _catalog_paths()} >= set(LANGUAGES)
