"""Complaints: routing, who may see one, deadlines in working days, stages and states.

RULES.md, "Complaints and concerns": discrimination goes to his Offender Manager (the SPO
sees it too), unfair treatment to the SPO at stage 1, stage 2 to the Chief Officer, and a
complaint about a named member of staff is never shown to that person.
"""

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import EXAMPLE_PROFILE, load_profile
from bot.domain.complaints import (
    REFERENCE_LENGTH,
    STAGE_2_ROUTING,
    Category,
    ComplaintRules,
    Deadlines,
    Routing,
    Status,
    Visibility,
    acknowledge,
    can_see,
    check_can_escalate,
    current_deadline,
    deadlines,
    escalation_open_until,
    is_overdue,
    new_reference,
    reply,
    route,
    satisfied,
)
from bot.domain.enrolment import ALPHABET
from bot.domain.errors import Conflict
from bot.domain.roles import Role
from bot.domain.workdays import WorkingCalendar

ENGLAND = WorkingCalendar("GB", "ENG")
# The package itself, independent of WorkingCalendar, to compute expected working days.
ENGLAND_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")
RULES = load_profile(EXAMPLE_PROFILE).complaint_rules

OM = 11  # his Offender Manager
OTHER_STAFF = 12  # e.g. a facilitator of his cohort
SPO = 13

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2031, 12, 31))
staff_ids = st.integers(min_value=1, max_value=4)
maybe_staff_ids = st.none() | staff_ids
visibilities = st.builds(
    Visibility,
    stage=st.sampled_from([1, 2]),
    queue=st.sampled_from(Role),
    assignee_id=maybe_staff_ids,
    about_staff_id=maybe_staff_ids,
    category=st.sampled_from(Category),
)
AWAITING = [Status.RECEIVED, Status.ACKNOWLEDGED, Status.ESCALATED]
DONE = [Status.ANSWERED, Status.CLOSED]


def _is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in ENGLAND_HOLIDAYS


def _walk_forward(day: date, n: int) -> date:
    """The nth working day after `day`, counted with the holidays package directly."""
    while n:
        day += timedelta(days=1)
        if _is_working_day(day):
            n -= 1
    return day


def _weekdays_forward(day: date, n: int) -> date:
    """The nth weekday after `day`, ignoring bank holidays."""
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


# --- the enums ------------------------------------------------------------------------------


def test_categories_say_which_are_discrimination_and_which_may_name_staff() -> None:
    assert {c for c in Category if c.is_discrimination} == {
        Category.DISCRIMINATION_STAFF,
        Category.DISCRIMINATION_GROUP,
    }
    assert {c for c in Category if not c.may_name_staff} == {Category.DISCRIMINATION_GROUP}


def test_statuses_say_which_are_open_and_which_wait_for_staff() -> None:
    assert {s for s in Status if not s.is_open} == {Status.CLOSED}
    assert {s for s in Status if s.awaiting_reply} == set(AWAITING)


# --- routing --------------------------------------------------------------------------------


def test_unfair_treatment_goes_to_the_spo_queue_for_anyone_in_it() -> None:
    assert route(Category.UNFAIR, None, OM) == Routing(Role.SENIOR_PROBATION_OFFICER, None)
    assert route(Category.UNFAIR, OM, OM) == Routing(Role.SENIOR_PROBATION_OFFICER, None)
    assert route(Category.UNFAIR, OTHER_STAFF, OM) == Routing(Role.SENIOR_PROBATION_OFFICER, None)


@pytest.mark.parametrize("category", [Category.DISCRIMINATION_STAFF, Category.DISCRIMINATION_GROUP])
@pytest.mark.parametrize("about", [None, OTHER_STAFF])
def test_discrimination_goes_to_his_own_offender_manager(
    category: Category, about: int | None
) -> None:
    assert route(category, about, OM) == Routing(Role.OFFENDER_MANAGER, OM)


def test_discrimination_about_his_offender_manager_goes_past_him_to_the_spo() -> None:
    assert route(Category.DISCRIMINATION_STAFF, OM, OM) == Routing(
        Role.SENIOR_PROBATION_OFFICER, None
    )


@pytest.mark.parametrize("about", [None, OM, OTHER_STAFF])
def test_other_complaints_go_to_the_spo(about: int | None) -> None:
    assert route(Category.OTHER, about, OM) == Routing(Role.SENIOR_PROBATION_OFFICER, None)


def test_stage_2_goes_to_the_chief_officer_queue() -> None:
    assert Routing(Role.CHIEF_OFFICER, None) == STAGE_2_ROUTING


@given(
    st.sampled_from(Category),
    st.sampled_from(["none", "om", "other"]),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
)
def test_a_complaint_is_never_routed_to_the_person_it_is_about(
    category: Category, who: str, om_id: int, other_id: int
) -> None:
    about = {"none": None, "om": om_id, "other": other_id}[who]
    routing = route(category, about, om_id)
    if about is not None:
        assert routing.assignee_id != about
    # Routed to a person only when it is his Offender Manager and the complaint is not about him.
    assert routing.assignee_id in (None, om_id)
    if routing.assignee_id is None:
        assert routing.queue is Role.SENIOR_PROBATION_OFFICER
    else:
        assert routing.queue is Role.OFFENDER_MANAGER
        assert category.is_discrimination
        assert about != om_id
    # Whoever it lands with can see it, and the person it is about cannot.
    facts = Visibility(1, routing.queue, routing.assignee_id, about, category)
    handler = om_id if routing.queue is Role.OFFENDER_MANAGER else 0  # no one it is about
    assert can_see(handler, routing.queue, facts)
    if about is not None:
        for role in Role:
            assert not can_see(about, role, facts)


# --- who may see a complaint ----------------------------------------------------------------


@given(staff_ids, st.sampled_from(Role), visibilities)
def test_the_person_a_complaint_is_about_never_sees_it(
    staff_id: int, role: Role, facts: Visibility
) -> None:
    named = Visibility(facts.stage, facts.queue, facts.assignee_id, staff_id, facts.category)
    assert not can_see(staff_id, role, named)


@given(staff_ids, visibilities)
def test_admin_sees_everything_not_about_them(staff_id: int, facts: Visibility) -> None:
    assert can_see(staff_id, Role.ADMIN, facts) is (facts.about_staff_id != staff_id)


@given(staff_ids, visibilities)
def test_chief_officer_sees_only_stage_2(staff_id: int, facts: Visibility) -> None:
    expected = facts.stage == 2 and facts.about_staff_id != staff_id
    assert can_see(staff_id, Role.CHIEF_OFFICER, facts) is expected


@given(staff_ids, visibilities)
def test_spo_sees_only_stage_1_whatever_the_queue(staff_id: int, facts: Visibility) -> None:
    expected = facts.stage == 1 and facts.about_staff_id != staff_id
    assert can_see(staff_id, Role.SENIOR_PROBATION_OFFICER, facts) is expected


@given(staff_ids, visibilities)
def test_an_offender_manager_sees_only_his_own_queue(staff_id: int, facts: Visibility) -> None:
    expected = (
        facts.queue is Role.OFFENDER_MANAGER
        and facts.assignee_id == staff_id
        and facts.about_staff_id != staff_id
    )
    assert can_see(staff_id, Role.OFFENDER_MANAGER, facts) is expected


@given(staff_ids, st.sampled_from([Role.FACILITATOR, Role.CONTRACTS_OFFICER]), visibilities)
def test_facilitators_and_contracts_officers_see_none(
    staff_id: int, role: Role, facts: Visibility
) -> None:
    assert not can_see(staff_id, role, facts)


def test_the_spo_sees_discrimination_in_an_offender_managers_queue() -> None:
    facts = Visibility(1, Role.OFFENDER_MANAGER, OM, None, Category.DISCRIMINATION_GROUP)
    assert can_see(SPO, Role.SENIOR_PROBATION_OFFICER, facts)
    assert can_see(OM, Role.OFFENDER_MANAGER, facts)
    assert not can_see(OTHER_STAFF, Role.OFFENDER_MANAGER, facts)  # another OM's queue
    assert not can_see(SPO, Role.CHIEF_OFFICER, facts)


def test_discrimination_about_his_om_is_hidden_from_the_om_but_not_the_spo() -> None:
    routing = route(Category.DISCRIMINATION_STAFF, OM, OM)
    facts = Visibility(1, routing.queue, routing.assignee_id, OM, Category.DISCRIMINATION_STAFF)
    assert not can_see(OM, Role.OFFENDER_MANAGER, facts)
    assert can_see(SPO, Role.SENIOR_PROBATION_OFFICER, facts)
    assert not can_see(SPO, Role.CHIEF_OFFICER, facts)
    assert can_see(SPO, Role.ADMIN, facts)
    # At stage 2 the Chief Officer has it and the SPO no longer does.
    stage2 = Visibility(2, Role.CHIEF_OFFICER, None, OM, Category.DISCRIMINATION_STAFF)
    assert can_see(SPO, Role.CHIEF_OFFICER, stage2)
    assert not can_see(SPO, Role.SENIOR_PROBATION_OFFICER, stage2)
    assert not can_see(OM, Role.OFFENDER_MANAGER, stage2)


# --- deadlines ------------------------------------------------------------------------------


def test_the_example_profile_has_the_documented_complaint_deadlines() -> None:
    expected = ComplaintRules(
        acknowledge_working_days=5,
        stage1_reply_working_days=25,
        stage2_request_working_days=20,
        stage2_reply_working_days=20,
    )
    assert expected == RULES


def test_deadlines_on_a_plain_week() -> None:
    # Monday 9 November 2026: no bank holidays until Christmas.
    due = deadlines(date(2026, 11, 9), 1, ENGLAND, RULES)
    assert due == Deadlines(acknowledge_by=date(2026, 11, 16), reply_by=date(2026, 12, 14))
    due2 = deadlines(date(2026, 11, 9), 2, ENGLAND, RULES)
    assert due2 == Deadlines(acknowledge_by=date(2026, 11, 16), reply_by=date(2026, 12, 7))


@given(days, st.sampled_from([1, 2]))
def test_deadlines_are_working_days_the_right_distance_away(received: date, stage: int) -> None:
    due = deadlines(received, stage, ENGLAND, RULES)
    assert _is_working_day(due.acknowledge_by)
    assert _is_working_day(due.reply_by)
    assert ENGLAND.working_days_between(received, due.acknowledge_by) == 5
    assert ENGLAND.working_days_between(received, due.reply_by) == (25 if stage == 1 else 20)
    # Counted independently of WorkingCalendar.
    assert due.acknowledge_by == _walk_forward(received, 5)
    assert due.reply_by == _walk_forward(received, 25 if stage == 1 else 20)


@given(
    days,
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=30),
)
def test_deadlines_follow_the_rules_given(
    received: date, acknowledge_days: int, stage1: int, stage2: int
) -> None:
    rules = ComplaintRules(acknowledge_days, stage1, 20, stage2)
    one = deadlines(received, 1, ENGLAND, rules)
    two = deadlines(received, 2, ENGLAND, rules)
    assert one.acknowledge_by == two.acknowledge_by == _walk_forward(received, acknowledge_days)
    assert one.reply_by == _walk_forward(received, stage1)
    assert two.reply_by == _walk_forward(received, stage2)


@pytest.mark.parametrize("stage", [1, 2])
def test_a_complaint_on_christmas_eve_has_its_deadlines_pushed_past_the_bank_holidays(
    stage: int,
) -> None:
    eve = date(2026, 12, 24)
    reply_days = 25 if stage == 1 else 20
    due = deadlines(eve, stage, ENGLAND, RULES)
    assert due.acknowledge_by == _walk_forward(eve, 5)
    assert due.reply_by == _walk_forward(eve, reply_days)
    # The bank holidays in the window, by the package: each pushes the deadline a weekday on.
    for n, deadline in ((5, due.acknowledge_by), (reply_days, due.reply_by)):
        naive = _weekdays_forward(eve, n)
        skipped = [
            d
            for d in (eve + timedelta(days=i) for i in range(1, (deadline - eve).days + 1))
            if d.weekday() < 5 and d in ENGLAND_HOLIDAYS
        ]
        assert len(skipped) >= 3  # Christmas Day, Boxing Day (substitute), New Year's Day
        assert deadline > naive
        assert (deadline - naive).days >= len(skipped)
        assert ENGLAND.working_days_between(eve, deadline) == n
        assert _is_working_day(deadline)
    # All the Christmas bank holidays are before the acknowledgement is due.
    assert all(d < due.acknowledge_by for d in ENGLAND_HOLIDAYS if eve < d <= date(2027, 1, 1))


# --- stage 2: the window to ask for it ------------------------------------------------------


@given(days)
def test_stage_2_can_be_asked_for_until_the_20th_working_day_after_the_reply(
    answered: date,
) -> None:
    until = escalation_open_until(answered, ENGLAND, RULES)
    assert _is_working_day(until)
    assert ENGLAND.working_days_between(answered, until) == 20
    assert until == _walk_forward(answered, 20)


def test_the_window_after_a_christmas_eve_reply() -> None:
    eve = date(2026, 12, 24)
    assert escalation_open_until(eve, ENGLAND, RULES) == _walk_forward(eve, 20)
    assert escalation_open_until(eve, ENGLAND, RULES) > _weekdays_forward(eve, 20)


@given(
    st.sampled_from([1, 2]),
    st.sampled_from(Status),
    st.integers(min_value=-30, max_value=30),
)
def test_check_can_escalate(stage: int, status: Status, offset: int) -> None:
    open_until = date(2027, 2, 10)
    today = open_until + timedelta(days=offset)
    allowed = stage == 1 and status in DONE and today <= open_until
    if allowed:
        check_can_escalate(stage, status, open_until, today)
    else:
        with pytest.raises(Conflict):
            check_can_escalate(stage, status, open_until, today)


def test_escalation_window_is_inclusive_of_its_last_day() -> None:
    until = date(2027, 2, 10)
    check_can_escalate(1, Status.ANSWERED, until, until)
    check_can_escalate(1, Status.CLOSED, until, until)
    with pytest.raises(Conflict) as refused:
        check_can_escalate(1, Status.ANSWERED, until, until + timedelta(days=1))
    assert str(refused.value) == "The time to ask for stage 2 has passed."


@pytest.mark.parametrize(
    ("stage", "status", "open_until"),
    [
        (2, Status.ANSWERED, date(2027, 2, 10)),
        (1, Status.RECEIVED, date(2027, 2, 10)),
        (1, Status.ACKNOWLEDGED, date(2027, 2, 10)),
        (1, Status.ESCALATED, date(2027, 2, 10)),
        (1, Status.ANSWERED, None),
    ],
)
def test_only_an_answered_stage_1_complaint_can_go_to_stage_2(
    stage: int, status: Status, open_until: date | None
) -> None:
    with pytest.raises(Conflict) as refused:
        check_can_escalate(stage, status, open_until, date(2027, 2, 1))
    assert str(refused.value) == "Only a complaint answered at stage 1 can go to stage 2."


# --- overdue --------------------------------------------------------------------------------

DUE = Deadlines(acknowledge_by=date(2027, 1, 11), reply_by=date(2027, 2, 5))


@pytest.mark.parametrize(
    ("status", "acknowledged", "today", "overdue"),
    [
        (Status.RECEIVED, False, date(2027, 1, 11), False),  # the last day to acknowledge
        (Status.RECEIVED, False, date(2027, 1, 12), True),
        (Status.ESCALATED, False, date(2027, 1, 12), True),
        (Status.ACKNOWLEDGED, True, date(2027, 1, 12), False),
        (Status.ACKNOWLEDGED, True, date(2027, 2, 5), False),  # the last day to reply
        (Status.ACKNOWLEDGED, True, date(2027, 2, 6), True),
        (Status.RECEIVED, True, date(2027, 2, 6), True),
        (Status.ANSWERED, False, date(2027, 3, 1), False),
        (Status.CLOSED, False, date(2027, 3, 1), False),
        (Status.RECEIVED, False, date(2027, 1, 4), False),
    ],
)
def test_is_overdue(status: Status, acknowledged: bool, today: date, overdue: bool) -> None:
    assert is_overdue(status, acknowledged, DUE, today) is overdue


@given(st.sampled_from(DONE), st.booleans(), days, days, days)
def test_never_overdue_once_answered_or_closed(
    status: Status, acknowledged: bool, acknowledge_by: date, reply_by: date, today: date
) -> None:
    assert not is_overdue(status, acknowledged, Deadlines(acknowledge_by, reply_by), today)


@given(st.sampled_from(AWAITING), st.booleans(), st.integers(min_value=-60, max_value=60))
def test_overdue_while_waiting_means_a_deadline_passed(
    status: Status, acknowledged: bool, offset: int
) -> None:
    today = DUE.acknowledge_by + timedelta(days=offset)
    expected = today > DUE.reply_by or (not acknowledged and today > DUE.acknowledge_by)
    assert is_overdue(status, acknowledged, DUE, today) is expected


# --- transitions ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.RECEIVED, Status.ESCALATED])
def test_a_new_or_escalated_complaint_can_be_acknowledged(status: Status) -> None:
    assert acknowledge(status) is Status.ACKNOWLEDGED


@pytest.mark.parametrize("status", [Status.ACKNOWLEDGED, Status.ANSWERED, Status.CLOSED])
def test_acknowledging_twice_or_after_a_reply_is_a_conflict(status: Status) -> None:
    with pytest.raises(Conflict, match=f"This complaint is {status.value}; only a new one"):
        acknowledge(status)


@pytest.mark.parametrize("status", [*AWAITING, Status.ANSWERED])
def test_a_stage_1_answer_or_follow_up_can_be_sent_and_can_close_it(status: Status) -> None:
    assert reply(status, 1, close=False) is Status.ANSWERED
    assert reply(status, 1, close=True) is Status.CLOSED


@pytest.mark.parametrize("status", [*AWAITING, Status.ANSWERED])
def test_the_stage_2_answer_is_the_last_and_closes_it(status: Status) -> None:
    assert reply(status, 2, close=False) is Status.CLOSED


@pytest.mark.parametrize("stage", [1, 2])
@pytest.mark.parametrize("close", [False, True])
def test_replying_to_a_closed_complaint_is_a_conflict(stage: int, close: bool) -> None:
    with pytest.raises(Conflict, match="This complaint is closed; it is not waiting"):
        reply(Status.CLOSED, stage, close)


def test_he_can_say_he_is_satisfied_only_with_an_answer() -> None:
    assert satisfied(Status.ANSWERED) is Status.CLOSED
    for status in set(Status) - {Status.ANSWERED}:
        with pytest.raises(Conflict, match=f"This complaint is {status.value}, so it cannot"):
            satisfied(status)


# --- references -----------------------------------------------------------------------------


def test_references_are_c_and_five_crockford_characters() -> None:
    references = [new_reference() for _ in range(200)]
    for reference in references:
        prefix, _, body = reference.partition("-")
        assert prefix == "C"
        assert len(body) == REFERENCE_LENGTH == 5
        assert all(ch in ALPHABET for ch in body)
        assert not set(body) & set("ILOU")
    assert len(set(references)) > 190  # random, not a counter


def test_references_take_a_prefix() -> None:
    reference = new_reference("F")
    assert reference.startswith("F-")
    assert len(reference) == 7
    assert all(ch in ALPHABET for ch in reference[2:])


def test_the_deadline_that_applies_now() -> None:
    due = Deadlines(date(2026, 12, 1), date(2026, 12, 29))
    assert current_deadline(Status.RECEIVED, due) == date(2026, 12, 1)
    assert current_deadline(Status.ESCALATED, due) == date(2026, 12, 1)
    assert current_deadline(Status.ACKNOWLEDGED, due) == date(2026, 12, 29)
    assert current_deadline(Status.ANSWERED, due) is None
    assert current_deadline(Status.CLOSED, due) is None
