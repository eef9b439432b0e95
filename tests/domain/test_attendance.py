import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.attendance import Outcome, ProgrammeRules, summarise
from bot.domain.errors import Conflict, InvalidInput

RULES = ProgrammeRules(sessions_required=35, max_catch_ups=4)
MISSED = [o for o in Outcome if o.uses_catch_up]


def test_two_attended_one_missed_shows_two_of_35_and_one_catch_up_to_do() -> None:
    summary = summarise(
        RULES, {1: Outcome.ATTENDED, 2: Outcome.ATTENDED, 3: Outcome.ABSENT}, catch_ups_for=[]
    )
    assert summary.sessions_completed == 2
    assert summary.catch_ups_used == 1
    assert summary.catch_ups_left == 3
    assert summary.catch_ups_outstanding == 1
    assert not summary.may_attend_next_session
    assert not summary.restart_required


def test_completed_catch_up_counts_as_a_completed_session() -> None:
    summary = summarise(RULES, {1: Outcome.ATTENDED, 2: Outcome.ABSENT}, catch_ups_for=[2])
    assert summary.sessions_completed == 2
    assert summary.catch_ups_used == 1
    assert summary.catch_ups_outstanding == 0
    assert summary.may_attend_next_session


def test_every_kind_of_miss_uses_a_catch_up_including_attended_but_failed_to_comply() -> None:
    outcomes = {n: o for n, o in enumerate(MISSED, start=1)}
    summary = summarise(RULES, outcomes, catch_ups_for=[])
    assert summary.catch_ups_used == len(MISSED) == 4
    assert summary.sessions_completed == 0


def test_fifth_missed_session_requires_restart() -> None:
    four = summarise(RULES, {n: Outcome.ABSENT for n in range(1, 5)}, catch_ups_for=[])
    five = summarise(RULES, {n: Outcome.ABSENT for n in range(1, 6)}, catch_ups_for=[])
    assert not four.restart_required
    assert five.restart_required
    assert five.catch_ups_left == 0
    assert not five.may_attend_next_session


def test_catch_up_for_an_attended_session_is_refused() -> None:
    with pytest.raises(Conflict):
        summarise(RULES, {1: Outcome.ATTENDED}, catch_ups_for=[1])


def test_catch_up_for_an_unrecorded_session_is_refused() -> None:
    with pytest.raises(Conflict):
        summarise(RULES, {}, catch_ups_for=[3])


def test_session_numbers_outside_the_programme_are_refused() -> None:
    with pytest.raises(InvalidInput):
        summarise(RULES, {36: Outcome.ATTENDED}, catch_ups_for=[])
    with pytest.raises(InvalidInput):
        summarise(RULES, {0: Outcome.ATTENDED}, catch_ups_for=[])


@st.composite
def histories(draw: st.DrawFn) -> tuple[ProgrammeRules, dict[int, Outcome], list[int]]:
    required = draw(st.integers(min_value=1, max_value=60))
    rules = ProgrammeRules(required, draw(st.integers(min_value=0, max_value=10)))
    numbers = draw(st.sets(st.integers(min_value=1, max_value=required)))
    outcomes = {n: draw(st.sampled_from(list(Outcome))) for n in numbers}
    missed = sorted(n for n, o in outcomes.items() if o.uses_catch_up)
    caught_up = draw(st.lists(st.sampled_from(missed), unique=True)) if missed else []
    return rules, outcomes, caught_up


@given(histories())
def test_completed_never_exceeds_required(
    history: tuple[ProgrammeRules, dict[int, Outcome], list[int]],
) -> None:
    rules, outcomes, caught_up = history
    summary = summarise(rules, outcomes, caught_up)
    assert 0 <= summary.sessions_completed <= rules.sessions_required
    assert summary.sessions_completed == summary.sessions_attended + len(caught_up)


@given(histories())
def test_restart_exactly_when_missed_exceeds_max(
    history: tuple[ProgrammeRules, dict[int, Outcome], list[int]],
) -> None:
    rules, outcomes, caught_up = history
    summary = summarise(rules, outcomes, caught_up)
    missed = sum(1 for o in outcomes.values() if o.uses_catch_up)
    assert summary.restart_required == (missed > rules.max_catch_ups)


@given(histories())
def test_catch_up_figures_stay_consistent(
    history: tuple[ProgrammeRules, dict[int, Outcome], list[int]],
) -> None:
    rules, outcomes, caught_up = history
    summary = summarise(rules, outcomes, caught_up)
    assert summary.catch_ups_left == max(0, rules.max_catch_ups - summary.catch_ups_used)
    assert 0 <= summary.catch_ups_outstanding <= summary.catch_ups_used
    if summary.may_attend_next_session:
        assert summary.catch_ups_outstanding == 0
