"""Translations: catalogs loaded once, one `Translator` chosen per participant.

There is no global locale: every message is rendered with the translator of the person it
is for. Message ids are whole sentences with named placeholders.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.plural import to_gettext
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"
# Participants are in England and Wales: English dates read "Thursday 3 December 2026".
_FORMAT_LOCALES = {"en": "en_GB"}


def N_(message: str) -> str:
    """Mark a module-level string for extraction; it is translated when sent."""
    return message


# In each catalog's header comment: "yes" once a qualified translator has checked it.
REVIEWED_MARK = "# Reviewed by a qualified translator:"


@dataclass(frozen=True, slots=True)
class Translator:
    """Gettext and Babel formatting for one language."""

    language: str
    locale: Locale
    translations: NullTranslations
    # English is the source; a translation nobody qualified has checked says so.
    reviewed: bool = True

    @property
    def own_name(self) -> str:
        return own_name(self.language)

    def _(self, message: str) -> str:
        return self._sentence(self.translations.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._sentence(self.translations.ngettext(singular, plural, n))

    def _sentence(self, text: str) -> str:
        if self.locale.character_order == "right-to-left":
            # A left-to-right mark before "/help" keeps the slash in front of the command;
            # otherwise right-to-left text shows it as "help/".
            return _RightToLeftSentence(_COMMAND.sub("\u200e/", text))
        return text

    def date(self, value: date) -> str:
        """E.g. "Thursday 3 December 2026" in English; each locale's own order and words."""
        return format_date(value, format="full", locale=self.locale)

    def time(self, value: datetime) -> str:
        return format_time(value, format="short", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        return format_datetime(value, format="medium", locale=self.locale)


_COMMAND = re.compile(r"(?<![\w/])/(?=[a-z])")


class _RightToLeftSentence(str):
    """A translated sentence in Arabic, Urdu, Farsi or Sorani whose filled-in values
    (numbers, references, dates, names, phone numbers) are each wrapped in Unicode isolates,
    so a left-to-right value cannot scramble the sentence around it."""

    def format(self, *args: object, **kwargs: object) -> str:
        return str.format(
            self,
            *(f"\u2068{value}\u2069" for value in args),
            **{key: f"\u2068{value}\u2069" for key, value in kwargs.items()},
        )


class Catalogs:
    """Every compiled catalog under `locales/`, read once at start-up."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._translators = {
            SOURCE_LANGUAGE: Translator(
                SOURCE_LANGUAGE, Locale.parse(_FORMAT_LOCALES[SOURCE_LANGUAGE]), NullTranslations()
            )
        }
        for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
            code = po_path.parent.parent.name
            translations, reviewed = compile_catalog(po_path, code)
            locale = Locale.parse(_FORMAT_LOCALES.get(code, code))
            self._translators[code] = Translator(code, locale, translations, reviewed)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)

    def translators(self) -> list[Translator]:
        """Every language, English first, then by code."""
        return list(self._translators.values())

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


def own_name(language: str) -> str:
    """A language's name in itself ("Cymraeg", "Polski", not "English (United Kingdom)"),
    as people look for it."""
    own = Locale.parse(language)
    name = own.get_display_name(own) or language
    return name[:1].upper() + name[1:]


def compile_catalog(
    po_path: Path, language: str, domain: str = "messages"
) -> tuple[Translations, bool]:
    """The catalog compiled in memory (no fuzzy entries), and whether a qualified
    translator reviewed it."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=domain), is_reviewed(catalog.header_comment)


def is_reviewed(header_comment: str) -> bool:
    for line in header_comment.splitlines():
        if line.startswith(REVIEWED_MARK):
            return line.removeprefix(REVIEWED_MARK).strip().lower() == "yes"
    return False


def cldr_plural_forms(language: str) -> str:
    """The Plural-Forms header from CLDR's rules (e.g. six forms for Welsh and Arabic)."""
    header = to_gettext(Locale.parse(language).plural_form)
    # Counts are whole numbers, so CLDR's compact exponent `e` (Portuguese "many") is 0;
    # gettext knows only `n`.
    return re.sub(r"\be\b", "0", header)


def start_catalog(language: str, directory: Path = LOCALES_DIR) -> Path:
    """A new language's catalog from the template: CLDR plural rules, marked unreviewed
    (`make catalog CODE=cy`)."""
    with (directory / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    locale = Locale.parse(language)
    catalog = Catalog(
        locale=locale,
        project="Programme Companion",
        header_comment=(
            f"# {locale.get_display_name('en')} translations for Programme Companion.\n"
            f"{REVIEWED_MARK} no"
        ),
    )
    catalog.update(template)
    catalog.fuzzy = False
    catalog.mime_headers = [("Plural-Forms", cldr_plural_forms(language))]
    path = directory / language / "LC_MESSAGES" / "messages.po"
    if path.exists():
        raise FileExistsError(path)
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, width=100)
    return path
