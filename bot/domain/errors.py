"""Errors raised when a request breaks a programme rule.

Each carries one whole English sentence for staff, its `template`, with `{name}`
placeholders, and the `values` for them: `raise NotFound("There is no file {id}.",
id=attachment_id)`. `str(error)` is the sentence filled in, in English (the CLI, logs);
the dashboard shows the template in the reader's language with the same values
(`handlers.web.i18n.Words.error`). The template is always a literal at the `raise`, so
`make messages` extracts it into the dashboard's catalog; never an f-string, and never a
sentence built from pieces.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that breaks a rule; the message is one plain sentence for staff."""

    template: str
    values: dict[str, object]

    def __init__(self, template: str, /, **values: object) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the template and values: the sentence alone may hold a "{" typed
        # by someone (a cohort's name), which the template's format() would trip on.
        return (_rebuild, (type(self), self.template, self.values))


def _rebuild(kind: type[DomainError], template: str, values: dict[str, object]) -> DomainError:
    return kind(template, **values)


class NotFound(DomainError):
    """Something named in the request does not exist."""


class Conflict(DomainError):
    """The request clashes with what is already recorded."""


class InvalidInput(DomainError):
    """The request itself is malformed (bad date, number out of range, ...)."""


class SignInRefused(DomainError):
    """A sign-in did not succeed; the sentence is safe to show (it never says why)."""
