"""Staff sign-in for the dashboard: one-time password links, argon2id passwords, a TOTP
second factor, server-side sessions and throttling. Every attempt is audited.

Sessions: the browser holds a random 256-bit id; the database holds its SHA-256, the CSRF
token, and when the password and the code were accepted. A session is renewed (a new id)
when the password is accepted, ends after 30 idle minutes or 12 hours, and ends when the
account is disabled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import SignInAttempt, Staff, StaffToken, WebSession
from bot.domain.errors import Conflict, InvalidInput, NotFound, SignInRefused
from bot.domain.roles import Role
from bot.services.context import ServiceContext, audit

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
LINK_LIFETIME = timedelta(hours=24)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5  # from one address
MAX_FAILURES_PER_ACCOUNT_ANYWHERE = 25
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 12
MAX_PASSWORD = 128
TOTP_ISSUER = "Programme Companion"

# argon2id with the library's current recommended parameters (RFC 9106 low-memory).
_hasher = PasswordHasher()
_HASHING = asyncio.Semaphore(2)
# Compared against when the account does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is using a session, and how far they are through signing in."""

    session_token: str
    csrf_token: str
    staff_id: int | None
    email: str | None
    name: str | None
    role: Role | None
    second_factor: bool
    needs_totp_setup: bool

    @property
    def complete(self) -> bool:
        return self.staff_id is not None and self.second_factor


# --- one-time links ------------------------------------------------------------------------


async def issue_password_link(
    ctx: ServiceContext, actor: str, email: str, *, reset_second_factor: bool = False
) -> tuple[str, datetime]:
    """A token for `/set-password/TOKEN`; earlier unused ones stop working."""
    async with ctx.uow() as session:
        staff = await _staff_by_email(session, email)
        now = ctx.now()
        await session.execute(
            update(StaffToken)
            .where(StaffToken.staff_id == staff.id, StaffToken.used_at.is_(None))
            .values(used_at=now)
        )
        token = secrets.token_urlsafe(32)
        expires_at = now + LINK_LIFETIME
        session.add(
            StaffToken(
                staff_id=staff.id,
                token_hash=_digest(token),
                created_at=now,
                expires_at=expires_at,
            )
        )
        # The old password stops working at once: until the link is used nobody can sign in
        # (otherwise a reset second factor would leave the password alone enough).
        staff.password_hash = None
        if reset_second_factor:
            staff.totp_secret = staff.totp_confirmed_at = staff.totp_last_step = None
        await _end_sessions(session, staff.id, now)
        audit(
            session,
            actor,
            "staff.password_link",
            f"staff:{staff.id}",
            reset_second_factor=reset_second_factor,
        )
        await session.commit()
    return token, expires_at


async def password_link_owner(ctx: ServiceContext, token: str) -> str:
    """The name of whoever the link is for; NotFound if it is unknown, used or expired."""
    async with ctx.uow() as session:
        _link, staff = await _valid_link(session, token, ctx.now())
        return staff.name


async def set_password(ctx: ServiceContext, token: str, password: str, address: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            "The password must be {least} to {most} characters long.",
            least=MIN_PASSWORD,
            most=MAX_PASSWORD,
        )
    async with ctx.uow() as session:
        now = ctx.now()
        link, staff = await _valid_link(session, token, now)
        claimed = await session.execute(
            update(StaffToken)
            .where(StaffToken.id == link.id, StaffToken.used_at.is_(None))
            .values(used_at=now)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            raise NotFound("This link does not work any more. Ask an administrator for a new one.")
        staff.password_hash = await asyncio.to_thread(_hasher.hash, password)
        await _end_sessions(session, staff.id, now)
        audit(
            session, f"staff:{staff.id}", "staff.set_password", f"staff:{staff.id}", address=address
        )
        await session.commit()


async def _valid_link(session: AsyncSession, token: str, now: datetime) -> tuple[StaffToken, Staff]:
    link = await session.scalar(select(StaffToken).where(StaffToken.token_hash == _digest(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotFound("This link does not work any more. Ask an administrator for a new one.")
    staff = await session.get_one(Staff, link.staff_id)
    if not staff.active:
        raise NotFound("This link does not work any more. Ask an administrator for a new one.")
    return link, staff


# --- sessions ------------------------------------------------------------------------------


async def open_session(ctx: ServiceContext) -> SignedIn:
    """An anonymous session, so the sign-in form has a CSRF token of its own."""
    async with ctx.uow() as session:
        token = secrets.token_urlsafe(32)
        now = ctx.now()
        row = WebSession(
            id_hash=_digest(token),
            staff_id=None,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
        session.add(row)
        await session.commit()
    return SignedIn(token, row.csrf_token, None, None, None, None, False, False)


async def resume(ctx: ServiceContext, token: str | None) -> SignedIn | None:
    """The session behind a cookie, touched; None if unknown, ended or timed out."""
    if not token:
        return None
    async with ctx.uow() as session:
        row = await session.get(WebSession, _digest(token))
        now = ctx.now()
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT:
            row.ended_at = now
            await session.commit()
            return None
        staff = await session.get(Staff, row.staff_id) if row.staff_id is not None else None
        if row.staff_id is not None and (staff is None or not staff.active):
            row.ended_at = now
            await session.commit()
            return None
        row.last_seen_at = now
        await session.commit()
    return _signed_in(token, row, staff)


async def sign_in(
    ctx: ServiceContext, anonymous: SignedIn, email: str, password: str, address: str
) -> SignedIn:
    """Check the password; on success, a new session (new id) waiting for the TOTP code."""
    email = email.strip().lower()[:254]
    attempt_id, throttled = await _begin_attempt(ctx, email, address)
    async with ctx.uow() as session:
        now = ctx.now()
        if throttled:
            audit(session, f"web:{address}", "staff.sign_in", None, email=email, result="throttled")
            await session.commit()
            raise SignInRefused("Too many tries. Please wait 15 minutes and try again.")
        staff = await session.scalar(select(Staff).where(Staff.email == email))
        matches = await _password_matches(staff, password)
        if not matches or staff is None or not staff.active:
            audit(session, f"web:{address}", "staff.sign_in", None, email=email, result="wrong")
            await session.commit()
            raise SignInRefused("That email and password do not match.")
        if staff.password_hash and _hasher.check_needs_rehash(staff.password_hash):
            staff.password_hash = await asyncio.to_thread(_hasher.hash, password)
        await _succeeded(session, attempt_id)
        old = await session.get(WebSession, _digest(anonymous.session_token))
        if old is not None:
            old.ended_at = now
        token = secrets.token_urlsafe(32)
        row = WebSession(
            id_hash=_digest(token),
            staff_id=staff.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
        session.add(row)
        audit(session, f"staff:{staff.id}", "staff.sign_in", f"staff:{staff.id}", result="password")
        await session.commit()
    return _signed_in(token, row, staff)


def totp_setup(signed_in: SignedIn, secret: str) -> str:
    """The otpauth:// URI his authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=signed_in.email or "", issuer_name=TOTP_ISSUER)


async def pending_totp_secret(ctx: ServiceContext, signed_in: SignedIn) -> str:
    """The secret being set up, kept with this session only until it is confirmed."""
    async with ctx.uow() as session:
        staff = await session.get_one(Staff, signed_in.staff_id)
        if staff.totp_confirmed_at is not None:
            raise Conflict("The second factor is already set up.")
        row = await session.get_one(WebSession, _digest(signed_in.session_token))
        if row.pending_totp_secret is None:
            row.pending_totp_secret = pyotp.random_base32()
            await session.commit()
        return row.pending_totp_secret


async def check_code(ctx: ServiceContext, signed_in: SignedIn, code: str, address: str) -> SignedIn:
    """The TOTP code from his app: completes sign-in (and confirms a new set-up)."""
    attempt_id, throttled = await _begin_attempt(ctx, signed_in.email or "", address)
    async with ctx.uow() as session:
        now = ctx.now()
        row = await session.get_one(WebSession, _digest(signed_in.session_token))
        staff = await session.get_one(Staff, signed_in.staff_id)
        if throttled:
            raise SignInRefused("Too many tries. Please wait 15 minutes and try again.")
        secret = staff.totp_secret if staff.totp_confirmed_at else row.pending_totp_secret
        step = _accepted_step(secret, staff.totp_last_step, code.strip().replace(" ", ""), now)
        # Claimed in the database, so two requests with one code cannot both pass.
        if step is None or not await _claim_step(session, staff.id, step):
            audit(
                session,
                f"staff:{staff.id}",
                "staff.sign_in",
                f"staff:{staff.id}",
                result="wrong code",
            )
            await session.commit()
            raise SignInRefused("That code is not right. Please try the newest code.")
        await _succeeded(session, attempt_id)
        if staff.totp_confirmed_at is None:
            staff.totp_secret, staff.totp_confirmed_at = secret, now
            row.pending_totp_secret = None
            audit(session, f"staff:{staff.id}", "staff.totp_set_up", f"staff:{staff.id}")
        row.second_factor_at = now
        audit(session, f"staff:{staff.id}", "staff.sign_in", f"staff:{staff.id}", result="complete")
        await session.commit()
    return _signed_in(signed_in.session_token, row, staff)


async def _begin_attempt(ctx: ServiceContext, email: str, address: str) -> tuple[int, bool]:
    """Record the try (as failed until it succeeds) and commit it before anything is
    checked, so tries made in parallel all count; returns its id and whether it is over the
    limit."""
    async with ctx.uow() as session:
        attempt = SignInAttempt(email=email, address=address, at=ctx.now(), succeeded=False)
        session.add(attempt)
        await session.commit()
    async with ctx.uow() as session:
        return attempt.id, await _throttled(session, email, address, ctx.now(), attempt.id)


async def _succeeded(session: AsyncSession, attempt_id: int) -> None:
    await session.execute(
        update(SignInAttempt).where(SignInAttempt.id == attempt_id).values(succeeded=True)
    )


async def _claim_step(session: AsyncSession, staff_id: int, step: int) -> bool:
    claimed = await session.execute(
        update(Staff)
        .where(
            Staff.id == staff_id,
            or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def sign_out(ctx: ServiceContext, signed_in: SignedIn) -> None:
    async with ctx.uow() as session:
        row = await session.get(WebSession, _digest(signed_in.session_token))
        if row is not None and row.ended_at is None:
            row.ended_at = ctx.now()
            if row.staff_id is not None:
                audit(session, f"staff:{row.staff_id}", "staff.sign_out", f"staff:{row.staff_id}")
        await session.commit()


def csrf_matches(signed_in: SignedIn, given: str | None) -> bool:
    return (
        given is not None and given.isascii() and hmac.compare_digest(signed_in.csrf_token, given)
    )


# --- helpers -------------------------------------------------------------------------------


def _signed_in(token: str, row: WebSession, staff: Staff | None) -> SignedIn:
    return SignedIn(
        session_token=token,
        csrf_token=row.csrf_token,
        staff_id=staff.id if staff else None,
        email=staff.email if staff else None,
        name=staff.name if staff else None,
        role=staff.role if staff else None,
        second_factor=row.second_factor_at is not None,
        needs_totp_setup=staff is not None and staff.totp_confirmed_at is None,
    )


async def _password_matches(staff: Staff | None, password: str) -> bool:
    """argon2 takes a tenth of a second on purpose: off the event loop the bot shares, and
    at most a few at once."""
    stored = staff.password_hash if staff and staff.password_hash else _DUMMY_HASH
    async with _HASHING:
        try:
            verified = await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return verified and staff is not None and bool(staff.password_hash)


def _accepted_step(
    secret: str | None, last_step: int | None, code: str, now: datetime
) -> int | None:
    """The time step the code is for (this one or either neighbour), if new and right."""
    if secret is None or not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue  # a code works once
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


async def _throttled(
    session: AsyncSession, email: str, address: str, now: datetime, attempt_id: int
) -> bool:
    """Too many other recent failures for this account from this address, for this account
    from anywhere (a slower limit, against spread-out guessing), or from this address."""
    since = now - THROTTLE_WINDOW
    failures = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.at > since,
            SignInAttempt.id != attempt_id,
        )
    )
    pair = await session.scalar(
        failures.where(SignInAttempt.email == email, SignInAttempt.address == address)
    )
    by_account = await session.scalar(failures.where(SignInAttempt.email == email))
    by_address = await session.scalar(failures.where(SignInAttempt.address == address))
    return (
        (pair or 0) >= MAX_FAILURES_PER_ACCOUNT
        or (by_account or 0) >= MAX_FAILURES_PER_ACCOUNT_ANYWHERE
        or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS
    )


async def _end_sessions(session: AsyncSession, staff_id: int, now: datetime) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.staff_id == staff_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def _staff_by_email(session: AsyncSession, email: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise NotFound("There is no member of staff with email {email}.", email=email)
    return staff
