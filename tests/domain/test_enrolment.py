from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import enrolment
from bot.domain.enrolment import AttemptPolicy, CodeStatus, IssuedCode

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_codes_carry_at_least_40_bits() -> None:
    assert enrolment.CODE_BITS >= 40
    assert len(enrolment.ALPHABET) ** enrolment.CODE_LENGTH >= 2**40


def test_new_codes_are_valid_and_differ() -> None:
    codes = {enrolment.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(enrolment.normalise_code(c) == c for c in codes)


@given(st.text(alphabet=enrolment.ALPHABET, min_size=10, max_size=10))
def test_a_code_survives_display_lower_case_and_spaces(code: str) -> None:
    shown = enrolment.display_code(code)
    assert enrolment.normalise_code(shown) == code
    assert enrolment.normalise_code(" " + shown.lower().replace("-", " ") + " ") == code


def test_look_alike_letters_read_as_digits() -> None:
    assert enrolment.normalise_code("O1IL2-34567") == "01112-34567".replace("-", "")


def test_wrong_length_or_symbols_are_not_codes() -> None:
    assert enrolment.normalise_code("ABC") is None
    assert enrolment.normalise_code("ABCDE-1234U") is None
    assert enrolment.normalise_code("") is None


def test_hash_depends_on_the_key() -> None:
    code = enrolment.new_code()
    assert enrolment.hash_code(code, b"k1" * 16) != enrolment.hash_code(code, b"k2" * 16)
    assert code not in enrolment.hash_code(code, b"k1" * 16)


def test_code_status() -> None:
    fresh = IssuedCode(expires_at=NOW + timedelta(days=7), used_at=None, revoked_at=None)
    assert enrolment.code_status(fresh, NOW) is CodeStatus.VALID
    assert enrolment.code_status(None, NOW) is CodeStatus.UNKNOWN
    used = IssuedCode(NOW + timedelta(days=7), used_at=NOW, revoked_at=None)
    assert enrolment.code_status(used, NOW) is CodeStatus.USED
    assert enrolment.code_status(fresh, NOW + timedelta(days=7)) is CodeStatus.EXPIRED
    revoked = IssuedCode(NOW + timedelta(days=7), used_at=None, revoked_at=NOW)
    assert enrolment.code_status(revoked, NOW) is CodeStatus.EXPIRED


def test_five_failures_in_an_hour_lock_until_the_first_ages_out() -> None:
    policy = AttemptPolicy()
    failures = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20)]
    assert policy.locked_until(failures, NOW) is None
    failures.append(NOW)
    assert policy.locked_until(failures, NOW) == NOW + timedelta(minutes=10)
    assert policy.locked_until(failures, NOW + timedelta(minutes=10)) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    policy = AttemptPolicy()
    failures = [NOW - timedelta(hours=2, minutes=m) for m in range(10)]
    assert policy.locked_until(failures, NOW) is None


@given(st.lists(st.integers(min_value=0, max_value=7200), max_size=20))
def test_locked_exactly_when_max_failures_in_window(offsets: list[int]) -> None:
    policy = AttemptPolicy()
    failures = [NOW - timedelta(seconds=s) for s in offsets]
    in_window = sum(1 for s in offsets if s < 3600)
    until = policy.locked_until(failures, NOW)
    assert (until is not None) == (in_window >= policy.max_failures)
    if until is not None:
        assert NOW < until <= NOW + policy.window
