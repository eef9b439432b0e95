"""Translations: catalogs loaded once, one `Translator` chosen per participant.

There is no global locale: every message is rendered with the translator of the person it
is for. Message ids are whole sentences with named placeholders.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"
# Participants are in England and Wales: English dates read "Thursday 3 December 2026".
_FORMAT_LOCALES = {"en": "en_GB"}


def N_(message: str) -> str:
    """Mark a module-level string for extraction; it is translated when sent."""
    return message


@dataclass(frozen=True, slots=True)
class Translator:
    """Gettext and Babel formatting for one language."""

    language: str
    locale: Locale
    translations: NullTranslations

    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def date(self, value: date) -> str:
        """E.g. "Thursday 3 December 2026" in English; each locale's own order and words."""
        return format_date(value, format="full", locale=self.locale)

    def time(self, value: datetime) -> str:
        return format_time(value, format="short", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        return format_datetime(value, format="medium", locale=self.locale)


class Catalogs:
    """Every compiled catalog under `locales/`, read once at start-up."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._translations: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}
        for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
            language = po_path.parent.parent.name
            self._translations[language] = _compile(po_path, language)
        self._translators = {
            code: Translator(code, Locale.parse(_FORMAT_LOCALES.get(code, code)), translations)
            for code, translations in self._translations.items()
        }

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)

    def translator(self, *preferences: str | None) -> Translator:
        """The first supported language among `preferences` (stored choice first), else English.

        Telegram's `language_code` is an IETF tag such as "pt-BR"; Babel parses it and we
        fall back from the full tag to the bare language.
        """
        for preference in preferences:
            code = self.match(preference)
            if code is not None:
                return self._translators[code]
        return self._translators[SOURCE_LANGUAGE]

    def match(self, tag: str | None) -> str | None:
        if not tag:
            return None
        try:
            locale = Locale.parse(tag.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            return None
        for candidate in (str(locale), locale.language):
            if candidate in self._translators:
                return candidate
        return None

    def all_translations(self, message: str) -> frozenset[str]:
        """The message in every language, e.g. to recognise a menu button's label."""
        return frozenset(translator._(message) for translator in self._translators.values())


def _compile(po_path: Path, language: str) -> Translations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain="messages")
