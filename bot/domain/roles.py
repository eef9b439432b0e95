"""Staff roles."""

import enum


class Role(enum.StrEnum):
    OFFENDER_MANAGER = "offender_manager"
    FACILITATOR = "facilitator"
    SENIOR_PROBATION_OFFICER = "senior_probation_officer"
    CHIEF_OFFICER = "chief_officer"
    CONTRACTS_OFFICER = "contracts_officer"
    ADMIN = "admin"


def can_see_caseload(staff_id: int, role: Role, offender_manager_id: int) -> bool:
    """Absence reports and sick notes: his own Offender Manager, and admins."""
    if role is Role.ADMIN:
        return True
    return role is Role.OFFENDER_MANAGER and staff_id == offender_manager_id


def can_see_absence(
    staff_id: int, role: Role, offender_manager_id: int, assignee_id: int | None
) -> bool:
    """An absence report: as his caseload, and also a colleague OM asked to take it."""
    if can_see_caseload(staff_id, role, offender_manager_id):
        return True
    return role is Role.OFFENDER_MANAGER and assignee_id == staff_id


def can_handle_format_requests(role: Role) -> bool:
    return role in (Role.CONTRACTS_OFFICER, Role.ADMIN)


def can_take_attendance(staff_id: int, role: Role, facilitator_ids: set[int]) -> bool:
    """A cohort's register: the facilitators who run it, and admins."""
    return role is Role.ADMIN or (role is Role.FACILITATOR and staff_id in facilitator_ids)


def can_see_participant(
    staff_id: int, role: Role, offender_manager_id: int, facilitator_ids: set[int]
) -> bool:
    """His record (progress, phone link, codes): his OM, his cohort's facilitators, admins."""
    return can_see_caseload(staff_id, role, offender_manager_id) or can_take_attendance(
        staff_id, role, facilitator_ids
    )


# Which parts of the dashboard each role has (what each part shows is checked per item).
WORKS_WITH_PARTICIPANTS = frozenset({Role.OFFENDER_MANAGER, Role.FACILITATOR, Role.ADMIN})
RUNS_COHORTS = frozenset({Role.FACILITATOR, Role.ADMIN})
ANSWERS_PARTICIPANTS = frozenset(Role) - {Role.FACILITATOR}
