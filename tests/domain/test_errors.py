"""A rule error carries a whole sentence to translate and the values to fill it with; in
English it reads exactly as it always has (the CLI prints `str(error)`)."""

from __future__ import annotations

import pickle

import pytest

from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from handlers.web.i18n import Dashboard


def test_the_sentence_is_the_template_filled_in() -> None:
    error = NotFound("There is no cohort called {name!r}.", name="Nope")
    assert str(error) == "There is no cohort called 'Nope'."
    assert error.template == "There is no cohort called {name!r}."
    assert error.values == {"name": "Nope"}
    assert isinstance(error, DomainError)
    # No values: the template is the sentence.
    assert str(Conflict("The time to ask for stage 2 has passed.")).endswith("passed.")


def test_a_value_is_never_read_as_a_template() -> None:
    """What someone typed (a "{" in a name) is a value: it is neither formatted nor lost,
    and the error survives a copy between processes."""
    error = InvalidInput("{reference} is not in {cohort}.", reference="P-1", cohort="Tue {x}")
    assert str(error) == "P-1 is not in Tue {x}."
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(again) is InvalidInput
    assert (str(again), again.template, again.values) == (str(error), error.template, error.values)


def test_a_missing_value_is_a_mistake_at_the_raise() -> None:
    with pytest.raises(KeyError):
        NotFound("There is no file {id}.")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "There is no participant P-ABC123 in your caseload."),
        ("cy", "Does dim cyfranogwr P-ABC123 yn eich llwyth achosion."),
    ],
)
def test_the_dashboard_shows_it_in_the_readers_language(language: str, expected: str) -> None:
    words = Dashboard().get(language)
    assert words is not None
    error = NotFound("There is no participant {reference} in your caseload.", reference="P-ABC123")
    assert words.error(error) == expected
