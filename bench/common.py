"""What the benchmarks share: figures and their targets, settings, bulk seeding of enrolled
participants, a throwaway PostgreSQL server, a sandbox that notes when each reply arrives,
and the bot running as its own process (`companion run`), as it does in production.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.config import Settings
from bot.db.models import (
    Attendance,
    Base,
    Cohort,
    Participant,
    ScheduledSession,
    Staff,
    TelegramLink,
)
from bot.domain.attendance import Outcome
from bot.domain.roles import Role
from bot.sandbox.models import SentMessage
from bot.sandbox.server import BotApiSandbox, ChatState

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "profiles" / "example.toml"
TOKEN = "123456:BENCH-token-for-the-sandbox"
SECRET = "bench-secret-key-bench-secret-key-0123456789"
OFFENDER_MANAGERS = 50
COHORT_SIZE = 10
SESSIONS = 35
FIRST_USER_ID = 10_000_000


# --- figures ---------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, printed as one line and written to latest.json."""

    key: str
    label: str
    value: float | None
    unit: str
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    def line(self) -> str:
        if self.value is None:
            shown = "n/a"
        elif self.unit == "×":  # a ratio near its target: 0.49 must not show as 0.5
            shown = f"{self.value:.2f}"
        elif self.unit in ("ms", "s", "MB", "%"):
            shown = f"{self.value:,.1f}" if abs(self.value) < 1000 else f"{self.value:,.0f}"
        else:
            shown = f"{self.value:,.1f}" if self.value % 1 else f"{self.value:,.0f}"
        unit = "" if self.unit in ("", "count") else f" {self.unit}"
        verdict = ""
        if self.target is not None:
            verdict = f"  [target {self.target}: {'met' if self.met else 'MISSED'}]"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.label:<62} {shown:>10}{unit}{verdict}{note}"


@dataclass
class Results:
    smoke: bool
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        key: str,
        label: str,
        value: float | None,
        unit: str = "",
        *,
        at_most: float | None = None,
        at_least: float | None = None,
        note: str | None = None,
    ) -> Figure:
        target, met = None, None
        if at_most is not None:
            target = f"≤ {at_most:g}{'' if unit in ('', 'count') else ' ' + unit}"
            met = value is not None and value <= at_most
        elif at_least is not None:
            target = f"≥ {at_least:g}{'' if unit in ('', 'count') else ' ' + unit}"
            met = value is not None and value >= at_least
        figure = Figure(key, label, value, unit, target, met, note)
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def skip(self, key: str, label: str, why: str) -> None:
        """A figure that could not be measured here, said plainly."""
        figure = Figure(key, label, None, "", note=f"skipped: {why}")
        self.figures.append(figure)
        print(f"{label:<62} {'skipped':>10}  ({why})", flush=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "smoke": self.smoke,
            "machine": machine(),
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gib = round(int(first.split()[1]) / 1024 / 1024, 1)
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


# --- settings and the bot's environment ------------------------------------------------


def settings(url: str, data_dir: Path, api_url: str, *, pacing: bool = False) -> Settings:
    return Settings(
        bot_token=TOKEN,
        database_url=url,
        bot_api_url=api_url,
        profile_path=PROFILE,
        secret_key=SECRET.encode(),
        webhook_secret=None,
        bot_username=None,
        data_dir=data_dir,
        send_pacing=pacing,
    )


def bot_env(
    url: str, data_dir: Path, api_url: str, *, pacing: bool, web_listen: str | None = None
) -> dict[str, str]:
    """The environment `companion run` gets: the sandbox as Telegram, our database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(
        COMPANION_BOT_TOKEN=TOKEN,
        COMPANION_DATABASE_URL=url,
        COMPANION_BOT_API_URL=api_url,
        COMPANION_PROFILE=str(PROFILE),
        COMPANION_SECRET_KEY=SECRET,
        COMPANION_DATA_DIR=str(data_dir),
        COMPANION_SEND_PACING="on" if pacing else "off",
    )
    if web_listen:
        env["COMPANION_WEB_LISTEN"] = web_listen
    return env


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- seeding ---------------------------------------------------------------------------


async def bulk(session: AsyncSession, model: type[Base], rows: Iterable[dict[str, Any]]) -> int:
    """Core INSERTs in chunks (executemany): fast, and no ORM objects kept."""
    count, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == 10_000:
            await session.execute(insert(model), chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        await session.execute(insert(model), chunk)
        count += len(chunk)
    return count


@dataclass(frozen=True)
class Enrolled:
    """Who was seeded: participant ids and their Telegram user ids (same index)."""

    participant_ids: list[int]
    user_ids: list[int]
    cohorts: int


async def seed_enrolled(
    factory: async_sessionmaker[AsyncSession],
    count: int,
    now: datetime,
    *,
    first_session: Callable[[int], datetime] | None = None,
    attended: int = 8,
    reminders: bool = False,
    first_user_id: int = FIRST_USER_ID,
) -> Enrolled:
    """Staff, cohorts of ten with 35 weekly sessions, and `count` participants each linked
    to a Telegram account, in bulk. By default cohorts began about nine weeks ago on
    staggered days, and each man attended `attended` sessions and missed the last one."""
    hour = now.replace(minute=0, second=0, microsecond=0)

    def default_start(cohort: int) -> datetime:
        return hour - timedelta(weeks=9) + timedelta(days=cohort % 7, hours=cohort % 5)

    start_of = first_session or default_start
    cohorts = -(-count // COHORT_SIZE)
    async with factory() as session:
        await bulk(
            session,
            Staff,
            [
                {
                    "id": n + 1,
                    "email": f"om{n}@example.org",
                    "name": f"Offender Manager {n}",
                    "role": Role.OFFENDER_MANAGER,
                    "phone": f"01234 5{n:05d}",
                    "active": True,
                    "created_at": now,
                }
                for n in range(OFFENDER_MANAGERS)
            ]
            + [
                {
                    "id": OFFENDER_MANAGERS + 1,
                    "email": "spo@example.org",
                    "name": "Senior Probation Officer",
                    "role": Role.SENIOR_PROBATION_OFFICER,
                    "phone": "01234 999999",
                    "active": True,
                    "created_at": now,
                }
            ],
        )
        await bulk(
            session,
            Cohort,
            (
                {"id": c + 1, "name": f"Cohort {c}", "venue": "Room 2", "created_at": now}
                for c in range(cohorts)
            ),
        )
        await bulk(
            session,
            ScheduledSession,
            (
                {
                    "id": c * SESSIONS + n + 1,
                    "cohort_id": c + 1,
                    "number": n + 1,
                    "starts_at": start_of(c) + timedelta(weeks=n),
                    "duration_minutes": 120,
                    "venue": "Room 2",
                }
                for c in range(cohorts)
                for n in range(SESSIONS)
            ),
        )
        await bulk(
            session,
            Participant,
            (
                {
                    "id": p + 1,
                    "reference": f"P-{p:07d}",
                    "name": f"Person {p}",
                    "cohort_id": p // COHORT_SIZE + 1,
                    "offender_manager_id": p % OFFENDER_MANAGERS + 1,
                    "language": "en",
                    "reminder_evening": reminders,
                    "reminder_before": reminders,
                    "created_at": now,
                }
                for p in range(count)
            ),
        )
        await bulk(
            session,
            TelegramLink,
            (
                {
                    "id": p + 1,
                    "participant_id": p + 1,
                    "telegram_user_id": first_user_id + p,
                    "chat_id": first_user_id + p,
                    "linked_at": now,
                }
                for p in range(count)
            ),
        )
        await bulk(
            session,
            Attendance,
            (
                {
                    "participant_id": p + 1,
                    "session_id": (p // COHORT_SIZE) * SESSIONS + n + 1,
                    "outcome": Outcome.ATTENDED,
                    "recorded_at": now,
                }
                for p in range(count)
                for n in range(attended)
                if start_of(p // COHORT_SIZE) + timedelta(weeks=n) < now
            ),
        )
        if session.get_bind().dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; later rows would collide.
            for table in (
                "staff",
                "cohorts",
                "scheduled_sessions",
                "participants",
                "telegram_links",
            ):
                await session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        await session.commit()
    return Enrolled(list(range(1, count + 1)), [first_user_id + p for p in range(count)], cohorts)


# --- PostgreSQL ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_server() -> Iterator[Any]:
    """A throwaway server from Debian's binaries (as the tests start it), or None."""
    from tests.postgres import find_bin_dir, running_postgres

    bin_dir = find_bin_dir()
    if bin_dir is None:
        yield None
        return
    with running_postgres(bin_dir) as server:
        yield server


async def postgres_database(server: Any, name: str) -> str:
    admin = create_async_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url: str = server.url(name)
    return url


# --- the sandbox, noting each reply ----------------------------------------------------


class TimedSandbox(BotApiSandbox):
    """The product's local Bot API server, telling the benchmark when each message is sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_message: Callable[[int, dict[str, Any], float], None] | None = None
        self.sent_times: list[float] = []

    def _send(
        self, chat: ChatState, params: Any, content: dict[str, Any], raw_text: str | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = super()._send(chat, params, content, raw_text)
        at = time.perf_counter()
        self.sent_times.append(at)
        if self.on_message is not None:
            self.on_message(chat.id, message, at)
        return message

    def forget_history(self) -> None:
        """Drop what the sandbox keeps of past calls, so long runs stay lean."""
        self.calls.clear()


def last_markup(sent: list[SentMessage]) -> dict[str, Any] | None:
    for message in reversed(sent):
        if message.reply_markup:
            return message.reply_markup
    return None


# --- the bot as its own process --------------------------------------------------------


def companion_command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "companion"
    if script.exists():
        return [str(script), *args]
    found = shutil.which("companion")
    if found:
        return [found, *args]
    return [sys.executable, "-c", "from bot.cli import main; main()", *args]


def _status_kib(pid: int, field_name: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return None


class BotProcess:
    """`companion run` (or any command) in a subprocess, with its log in a file and its
    memory read from /proc."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.command, self.env, self.log_path = command, env, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.peak_rss_kib = 0

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        # Its own process group: stopping it reaches a profiler and the bot under it alike.
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def sample(self) -> None:
        """Note the peak RSS so far (VmHWM is the kernel's own high-water mark)."""
        if self.process is None or self.process.poll() is not None:
            return
        peak = _status_kib(self.pid, "VmHWM") or _status_kib(self.pid, "VmRSS") or 0
        self.peak_rss_kib = max(self.peak_rss_kib, peak)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"{self.command[0]} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sample()
        # Ctrl+C, as a person would stop it: the bot stops cleanly, py-spy writes its report.
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextlib.asynccontextmanager
async def running_process(process: BotProcess) -> AsyncIterator[BotProcess]:
    process.start()
    try:
        yield process
    finally:
        import asyncio

        await asyncio.to_thread(process.stop)


def settle_garbage() -> None:
    """Call before a measured run. What the harness holds so far (the local server's
    history of every message, the players) is put out of the garbage collector's sight:
    otherwise each full collection walks it, and such a pause (250 ms by the end of a
    run) stalls the server the bot talks to and is counted as the bot's latency."""
    gc.collect()
    gc.freeze()
