"""Settings from the environment and the programme profile from TOML.

Secrets and wiring come from `COMPANION_*` environment variables; the programme's rules and
contacts come from the TOML profile named by `COMPANION_PROFILE`. Both are checked before
anything starts, and every problem is reported with where it is and what is expected.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from bot.domain.attendance import ProgrammeRules
from bot.domain.complaints import ComplaintRules
from bot.domain.errors import InvalidInput
from bot.domain.reminders import ReminderPolicy
from bot.domain.schedule import parse_clock_time
from bot.domain.workdays import WorkingCalendar

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PROFILE = REPO_ROOT / "profiles" / "example.toml"
DEFAULT_DATA_DIR = Path("var")
DEFAULT_BOT_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """Configuration that cannot be used; the message says what to change."""


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Positive = Annotated[int, Field(gt=0, le=1000)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ProgrammeSection(_Section):
    display_name: Text
    sessions_required: Positive
    session_minutes: Positive
    max_catch_ups: Annotated[int, Field(ge=0, le=100)]
    self_cert_working_days: Positive
    timezone: Text
    enrolment_code_days: Annotated[int, Field(gt=0, le=90)] = 7

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("expected an IANA time zone such as 'Europe/London'") from error
        return value


class CalendarSection(_Section):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "GB"
    subdivision: Text | None = "ENG"


class ComplaintsSection(_Section):
    acknowledge_working_days: Positive
    stage1_reply_working_days: Positive
    stage2_request_working_days: Positive
    stage2_reply_working_days: Positive
    ombudsman_months: Positive
    # How to reach the Prisons and Probation Ombudsman (told after the last internal reply).
    ombudsman_address: Text
    ombudsman_telephone: Text
    ombudsman_web: Text


ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class RemindersSection(_Section):
    # Local times, 24-hour "HH:MM".
    evening_time: ClockTime = "18:00"
    hours_before: Annotated[int, Field(ge=1, le=12)] = 2
    sick_note_working_days_before: Annotated[int, Field(ge=1, le=10)] = 2
    sick_note_time: ClockTime = "10:00"


class RolesSection(_Section):
    offender_manager: Text
    facilitator: Text
    senior_probation_officer: Text
    chief_officer: Text
    contracts_officer: Text
    admin: Text


class AreaSection(_Section):
    name: Text
    address: Text
    telephone: Text
    fax: Text | None = None
    web: Text | None = None


class Profile(_Section):
    """The programme profile: rules and contacts that differ between areas."""

    programme: ProgrammeSection
    calendar: CalendarSection
    complaints: ComplaintsSection
    roles: RolesSection
    area: AreaSection
    reminders: RemindersSection = RemindersSection()

    @property
    def rules(self) -> ProgrammeRules:
        return ProgrammeRules(
            sessions_required=self.programme.sessions_required,
            max_catch_ups=self.programme.max_catch_ups,
        )

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(
            evening_time=parse_clock_time(self.reminders.evening_time),
            before=timedelta(hours=self.reminders.hours_before),
            sick_note_working_days_before=self.reminders.sick_note_working_days_before,
            sick_note_time=parse_clock_time(self.reminders.sick_note_time),
        )

    @property
    def complaint_rules(self) -> ComplaintRules:
        section = self.complaints
        return ComplaintRules(
            acknowledge_working_days=section.acknowledge_working_days,
            stage1_reply_working_days=section.stage1_reply_working_days,
            stage2_request_working_days=section.stage2_request_working_days,
            stage2_reply_working_days=section.stage2_reply_working_days,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.programme.timezone)

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.calendar.country, self.calendar.subdivision)


def load_profile(path: Path) -> Profile:
    """Read and check a profile; raise `ConfigError` naming the file, key and expectation."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: the programme profile file does not exist.") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error}).") from error
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe_errors(path, error)) from error
    try:
        profile.working_calendar()
    except InvalidInput as error:
        raise ConfigError(f"{path}: calendar: {error}") from error
    return profile


def _describe_errors(path: Path, error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        found = problem.get("input")
        if problem["type"] == "missing":
            lines.append(f"{path}: {key}: missing; {_expectation(key)}.")
        elif problem["type"] == "extra_forbidden":
            lines.append(f"{path}: {key}: unknown key; remove it or check its spelling.")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {key}: {message[0].lower()}{message[1:]} (found {found!r}).")
    return "\n".join(lines)


def _expectation(key: str) -> str:
    section, _, field = key.partition(".")
    model: Any = Profile.model_fields.get(section)
    if field and model is not None and model.annotation is not None:
        info = model.annotation.model_fields.get(field)
        if info is not None:
            kind = {int: "a whole number", str: "text in quotes"}.get(info.annotation, "a value")
            return f"expected {kind}"
    return "expected a table" if not field else "expected a value"


@dataclass(frozen=True, slots=True)
class Settings:
    """Wiring and secrets from the environment."""

    bot_token: str | None
    database_url: str
    bot_api_url: str
    profile_path: Path
    secret_key: bytes
    webhook_secret: str | None
    bot_username: str | None
    data_dir: Path
    # The staff dashboard: where it listens, and the address staff reach it at (for links).
    web_listen: str = "127.0.0.1:8080"
    web_url: str | None = None
    # Proxies (e.g. nginx on 127.0.0.1) trusted to name the client in X-Forwarded-For.
    web_trusted_proxies: frozenset[str] = frozenset()
    # Telegram's limits, kept by the outbox sender: messages a second overall (Telegram
    # allows 30, more with paid broadcasts) and one a second per chat. Off only to measure
    # the bot's own capacity (benchmarks).
    send_pacing: bool = True
    send_rate: int = 30
    # Updates from different people handled at once (each person's still one at a time, in
    # order): while one waits on the database, another's can run.
    concurrent_updates: int = 8
    # Health, readiness and Prometheus metrics for monitoring (internal; not via nginx).
    ops_listen: str | None = None
    # Set by demo mode only (bot.demo.stack), never from the environment. `demo`: the bot may
    # run on a database marked as demo data. `enrolment_link_base`: enrolment links are this
    # followed by the code (the demo's phone page) instead of https://t.me/<bot>?start=CODE.
    demo: bool = False
    enrolment_link_base: str | None = None

    @property
    def web_base_url(self) -> str:
        return (self.web_url or f"http://{self.web_listen}").rstrip("/")

    def web_host_port(self) -> tuple[str, int]:
        return host_port(self.web_listen, "COMPANION_WEB_LISTEN")

    def require_bot_token(self) -> str:
        if not self.bot_token:
            raise ConfigError(
                "Set COMPANION_BOT_TOKEN to the token BotFather gave your bot, then run this again."
            )
        return self.bot_token


def host_port(listen: str, variable: str) -> tuple[str, int]:
    """`127.0.0.1:8080` → ("127.0.0.1", 8080), or a ConfigError naming the variable."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{variable} must look like 127.0.0.1:8080 (found {listen!r}).")
    return host.strip("[]"), int(port)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("COMPANION_DATA_DIR", str(DEFAULT_DATA_DIR)))
    default_db = f"sqlite+aiosqlite:///{data_dir / 'companion.db'}"
    return Settings(
        bot_token=env.get("COMPANION_BOT_TOKEN") or None,
        database_url=env.get("COMPANION_DATABASE_URL") or default_db,
        bot_api_url=(env.get("COMPANION_BOT_API_URL") or DEFAULT_BOT_API_URL).rstrip("/"),
        profile_path=Path(env.get("COMPANION_PROFILE") or EXAMPLE_PROFILE),
        secret_key=_secret_key(env, data_dir),
        webhook_secret=env.get("COMPANION_WEBHOOK_SECRET") or None,
        bot_username=(env.get("COMPANION_BOT_USERNAME") or "").lstrip("@") or None,
        data_dir=data_dir,
        web_listen=env.get("COMPANION_WEB_LISTEN") or "127.0.0.1:8080",
        web_url=env.get("COMPANION_WEB_URL") or None,
        web_trusted_proxies=frozenset(
            item.strip()
            for item in (env.get("COMPANION_WEB_TRUSTED_PROXIES") or "").split(",")
            if item.strip()
        ),
        send_pacing=_switch(env, "COMPANION_SEND_PACING", default=True),
        send_rate=_whole_number(env, "COMPANION_SEND_RATE", default=30),
        concurrent_updates=_whole_number(env, "COMPANION_CONCURRENT_UPDATES", default=8),
        ops_listen=_listen_address(env, "COMPANION_OPS_LISTEN"),
    )


def _listen_address(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name) or None
    if value is not None:
        host_port(value, name)  # refuse a malformed address now, not when it is needed
    return value


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} must be on or off (found {value!r}).")


def _whole_number(env: Mapping[str, str], name: str, *, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number above 0 (found {value!r}).")
    return int(value)


def _secret_key(env: Mapping[str, str], data_dir: Path) -> bytes:
    """The key for hashing enrolment codes.

    `COMPANION_SECRET_KEY` wins. Without it a random key is kept in the data directory
    (readable by the owner only), so a newcomer's local run works and a copy of the database
    alone still reveals no codes.
    """
    value = env.get("COMPANION_SECRET_KEY")
    if value:
        if len(value) < 32:
            raise ConfigError("COMPANION_SECRET_KEY must be at least 32 characters long.")
        return value.encode()
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip().encode()
