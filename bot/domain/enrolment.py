"""Enrolment codes: how they look, how they are checked and how guessing is limited."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 10 symbols x 5 bits = 50 bits of entropy
CODE_BITS = CODE_LENGTH * 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """A fresh random code from the operating system's secure generator."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """The canonical code typed by a person, or None if it cannot be a code.

    Case, spaces and hyphens are ignored, and look-alike letters read as digits.
    """
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_LOOKALIKES)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def display_code(code: str) -> str:
    """Two groups of five, easier to read out over the phone."""
    return f"{code[:5]}-{code[5:]}"


def hash_code(code: str, key: bytes) -> str:
    """Keyed hash stored instead of the code, so a copy of the database reveals no codes."""
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


class CodeStatus(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class IssuedCode:
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def code_status(issued: IssuedCode | None, now: datetime) -> CodeStatus:
    """Whether an issued code (None when no code matched) may link an account now."""
    if issued is None:
        return CodeStatus.UNKNOWN
    if issued.used_at is not None:
        return CodeStatus.USED
    # A code replaced by a newer one behaves like an expired one: ask for the new code.
    if issued.revoked_at is not None or now >= issued.expires_at:
        return CodeStatus.EXPIRED
    return CodeStatus.VALID


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    """After `max_failures` wrong codes within `window`, refuse tries until the window passes."""

    max_failures: int = 5
    window: timedelta = timedelta(hours=1)

    def locked_until(self, failures: Iterable[datetime], now: datetime) -> datetime | None:
        """When tries may start again, or None if a try is allowed now."""
        recent = sorted(t for t in failures if now - self.window < t <= now)
        if len(recent) < self.max_failures:
            return None
        # Tries resume when enough failures have aged out of the window.
        return recent[len(recent) - self.max_failures] + self.window
