"""The dashboard in English and Welsh, chosen by each member of staff.

Staff words are a gettext domain of their own, "dashboard" (`locales/dashboard.pot`,
`locales/<code>/LC_MESSAGES/dashboard.po`), so the participants' catalogs in 13 languages
carry none of them. Python code here marks its words with `words.tr(...)` and
`words.trn(...)`, keywords the participant extraction does not look for; templates use
`_()` and `{% trans %}` (Jinja2's newstyle gettext, placeholders written `%(name)s`).
The sentences of the services' rule errors (`bot.domain.errors.DomainError`, placeholders
written `{name}`) are in this domain too, shown with `words.error(problem)`.
Catalogs are compiled in memory once, when the app is made; there is no global locale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations
from markupsafe import Markup

from bot.domain.errors import DomainError
from bot.i18n import LOCALES_DIR, compile_catalog, own_name

DOMAIN = "dashboard"
SOURCE_LANGUAGE = "en"
# English pages say en-GB, and English dates read "Thursday 3 December 2026".
_FORMAT_LOCALES = {"en": "en_GB"}
_TAGS = {"en": "en-GB"}

# One pattern for every language (GOV.UK's and the Welsh Government's style: no commas);
# Babel fills in each locale's own day and month names.
DAY = "EEEE d MMMM y"
DATE = "d MMMM y"
SHORT_DATE = "d MMM y"
TIME = "HH:mm"


@dataclass(frozen=True, slots=True)
class Words:
    """The dashboard's words and dates in one language."""

    language: str
    locale: Locale
    translations: NullTranslations
    # English is the source; a translation nobody qualified has checked says so.
    reviewed: bool = True

    @property
    def tag(self) -> str:
        """For `<html lang>` and `lang` attributes."""
        return _TAGS.get(self.language, self.language.replace("_", "-"))

    @property
    def own_name(self) -> str:
        return own_name(self.language)

    def tr(self, message: str, /, **values: object) -> str:
        """A sentence, with `%(name)s` placeholders filled in."""
        text = self.translations.gettext(message)
        return text % values if values else text

    def trn(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """A sentence that depends on a count, given to the placeholders as `num`."""
        return self.translations.ngettext(singular, plural, n) % {"num": n, **values}

    def error(self, problem: DomainError) -> str:
        """A broken rule's sentence from the services, in this language: its template (a
        `{name}` format string, extracted from `bot/services` and `bot/domain`) translated,
        filled in with its values as they are."""
        return self.translations.gettext(problem.template).format(**problem.values)

    # Dates and times (values are already in the programme's time zone).

    def day(self, value: date) -> str:
        return format_date(value, DAY, locale=self.locale)

    def long_date(self, value: date) -> str:
        return format_date(value, DATE, locale=self.locale)

    def short_date(self, value: date) -> str:
        return format_date(value, SHORT_DATE, locale=self.locale)

    def time(self, value: datetime) -> str:
        return format_datetime(value, TIME, locale=self.locale)

    def day_at(self, value: datetime) -> str:
        # Translators: a day and a time, e.g. "Thursday 3 December 2026 at 18:00".
        return self.tr("%(day)s at %(time)s", day=self.day(value), time=self.time(value))

    def date_time(self, value: datetime) -> str:
        return format_datetime(value, f"{DATE} {TIME}", locale=self.locale)

    def short_day_time(self, value: datetime) -> str:
        return format_datetime(value, f"EEE {SHORT_DATE} {TIME}", locale=self.locale)

    def timestamp(self, value: datetime) -> str:
        return format_datetime(value, f"{SHORT_DATE} {TIME}:ss", locale=self.locale)

    # For templates: Jinja2's newstyle gettext, with this language's catalog.

    def template_functions(self) -> dict[str, Callable[..., str]]:
        return {"gettext": self._gettext, "_": self._gettext, "ngettext": self._ngettext}

    @jinja2.pass_context
    def _gettext(self, context: jinja2.runtime.Context, message: str, /, **values: Any) -> str:
        text = self.translations.gettext(message)
        # Always a format string, as Jinja2's own newstyle gettext: `%%` for a percent sign.
        return _markup(context, text) % values

    @jinja2.pass_context
    def _ngettext(
        self,
        context: jinja2.runtime.Context,
        singular: str,
        plural: str,
        n: int,
        /,
        **values: Any,
    ) -> str:
        values.setdefault("num", n)
        return _markup(context, self.translations.ngettext(singular, plural, n)) % values


def _markup(context: jinja2.runtime.Context, text: str) -> str:
    """In an autoescaped template the sentence is trusted and the values are escaped."""
    # The catalogs are ours, as the templates are (Jinja2's own newstyle gettext does this).
    return Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704


class Dashboard:
    """English, and every language with a `dashboard.po` under `locales/`, read once."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._words = {
            SOURCE_LANGUAGE: Words(
                SOURCE_LANGUAGE, Locale.parse(_FORMAT_LOCALES[SOURCE_LANGUAGE]), NullTranslations()
            )
        }
        for po_path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            code = po_path.parent.parent.name
            translations, reviewed = compile_catalog(po_path, code, DOMAIN)
            locale = Locale.parse(_FORMAT_LOCALES.get(code, code))
            self._words[code] = Words(code, locale, translations, reviewed)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._words)

    def all(self) -> list[Words]:
        """Every language, English first."""
        return list(self._words.values())

    def get(self, language: str | None) -> Words | None:
        return self._words.get(language) if language else None

    def choose(self, stored: str | None, accept_language: str | None) -> Words:
        """The member of staff's own choice (the cookie) if we have it; else the first
        language the browser asks for that we have; else English."""
        chosen = self.get(stored)
        if chosen is not None:
            return chosen
        for tag in preferred_languages(accept_language or ""):
            for candidate in (tag, tag.split("-")[0]):
                if candidate in self._words:
                    return self._words[candidate]
        return self._words[SOURCE_LANGUAGE]


def preferred_languages(header: str) -> list[str]:
    """An Accept-Language header's tags, most wanted first ("cy-GB,cy;q=0.9,en;q=0.8"),
    lower case with "-"; anything not understood, and `q=0`, is left out."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower().replace("_", "-")
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]
