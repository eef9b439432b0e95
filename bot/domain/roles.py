"""Staff roles."""

import enum


class Role(enum.StrEnum):
    OFFENDER_MANAGER = "offender_manager"
    FACILITATOR = "facilitator"
    SENIOR_PROBATION_OFFICER = "senior_probation_officer"
    CHIEF_OFFICER = "chief_officer"
    CONTRACTS_OFFICER = "contracts_officer"
    ADMIN = "admin"
