"""Every update from a participant starts by loading him with his Offender Manager: the
query must never read her sign-in secrets into a participant's turn."""

from __future__ import annotations

from bot.services.chat import _LINKED_PARTICIPANT


def test_his_turn_never_reads_his_offender_managers_secrets() -> None:
    sql = str(_LINKED_PARTICIPANT.compile())
    assert "staff_1.name" in sql and "staff_1.phone" in sql  # what he is told
    for secret in ("password_hash", "totp_secret", "totp_last_step", "email"):
        assert secret not in sql, secret
