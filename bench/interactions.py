"""Interactions: throughput and latency of the bot under a realistic mix, against a minimal
python-telegram-bot echo bot on the same server, and SQL statements per interaction step.

    .venv/bin/python -m bench.interactions                 # 2,000 participants, SQLite + PostgreSQL
    .venv/bin/python -m bench.interactions --smoke         # a quick pass (CI)

Each enrolled participant (seeded in bulk, linked to a Telegram account) runs one script:
/progress, /contacts, a whole absence report by buttons (session, reason, his words, send),
a complaint (category, person, his words, done, send) and a language change, waiting for
each reply as a person would. All of them at once give the bot's capacity (updates per
second, latency from the update being offered to the reply being sent); then steps are
offered at a fixed 100 a second. The bot runs as `companion run` in its own process with
the sender's Telegram pacing off (COMPANION_SEND_PACING=off), against the product's local
Bot API server (no rate limits, spec checks off so the server costs little). The echo bot
gets the same number of plain text messages from the same participants.

SQL statements are counted with SQLAlchemy's before_cursor_execute event, one step at a
time, in-process with spec checks on; the outbox sender's statements are counted apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import functools
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.common import (
    FIRST_USER_ID,
    TOKEN,
    BotProcess,
    Results,
    TimedSandbox,
    bot_env,
    companion_command,
    percentile,
    postgres_database,
    postgres_server,
    seed_enrolled,
    settings,
    settle_garbage,
)
from bot.app import build_core, running_bot
from bot.db.migrate import upgrade
from bot.sandbox.actors import SandboxUser
from bot.sandbox.spec import BotApiSpec, find_spec_path

# --- the script ------------------------------------------------------------------------

Selector = Callable[["Player", dict[str, Any]], str | None]


@dataclass(frozen=True)
class Step:
    name: str
    text: str | None = None
    press: Selector | None = None


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [str(b.get("callback_data")) for row in rows for b in row if b.get("callback_data")]


def _matching(pattern: str) -> Selector:
    compiled = re.compile(pattern)

    def select(_player: Player, message: dict[str, Any]) -> str | None:
        return next((data for data in _buttons(message) if compiled.fullmatch(data)), None)

    return select


def _new_session(player: Player, message: dict[str, Any]) -> str | None:
    """A session he has not reported yet (a second pass picks another one)."""
    for data in _buttons(message):
        found = re.fullmatch(r"abs:\w+:s:(\d+)", data)
        if found and found.group(1) not in player.reported:
            player.reported.add(found.group(1))
            return data
    return None


def _other_language(player: Player, message: dict[str, Any]) -> str | None:
    choices = [d for d in _buttons(message) if d.startswith("lng:") and d != f"lng:{player.lang}"]
    if not choices:
        return None
    chosen = player.random.choice(choices)
    player.lang = chosen.removeprefix("lng:")
    return chosen


SCRIPT = [
    Step("progress", text="/progress"),
    Step("contacts", text="/contacts"),
    Step("absence: start", text="/absence"),
    Step("absence: session", press=_new_session),
    Step("absence: reason", press=_matching(r"abs:\w+:r:work")),
    Step("absence: his words", text="My boss changed my shift at short notice."),
    Step("absence: send", press=_matching(r"abs:\w+:send:")),
    Step("complaint: start", text="/complaint"),
    Step("complaint: category", press=_matching(r"cmp:\w+:c:unfair")),
    Step("complaint: person", press=_matching(r"cmp:\w+:p:not_said")),
    Step("complaint: his words", text="I was spoken to rudely in front of the group."),
    Step("complaint: done", press=_matching(r"cmp:\w+:done:")),
    Step("complaint: send", press=_matching(r"cmp:\w+:send:")),
    Step("language: start", text="/language"),
    Step("language: choose", press=_other_language),
]
LIGHT_RATE = 20.0
ECHO_SCRIPT = [Step(f"echo {n}", text=f"Hello, this is message {n}.") for n in range(len(SCRIPT))]


# --- simulated participants ------------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def record(self, step: str, ms: float) -> None:
        self.latencies_ms.append(ms)
        self.by_step.setdefault(step, []).append(ms)


class Player:
    """One participant on his phone: sends a step, waits for the bot's reply."""

    def __init__(self, user: SandboxUser, seed: int) -> None:
        self.user = user
        self.cursor = 0
        self.reported: set[str] = set()
        self.lang = "en"
        self.random = random.Random(seed)
        self.last: dict[str, Any] | None = None
        self._waiter: asyncio.Future[float] | None = None
        self.offered_at: float | None = None  # while a step waits for its reply

    def reset(self) -> None:
        self.cursor, self.reported, self.lang, self.last = 0, set(), "en", None

    def deliver(self, message: dict[str, Any], at: float) -> None:
        if message.get("reply_markup"):
            self.last = message
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(at)

    async def step(self, script: list[Step], tally: Tally, timeout: float) -> bool:  # noqa: ASYNC109
        """Take the next step of `script`; False if it could not be taken or answered."""
        step = script[self.cursor % len(script)]
        self.cursor += 1
        if step.press is not None:
            data = step.press(self, self.last) if self.last else None
            if data is None or self.last is None:
                tally.errors[f"{step.name}: no such button"] += 1
                return False
            message_id = int(self.last["message_id"])
        else:
            data = None
        self._waiter = asyncio.get_running_loop().create_future()
        offered = self.offered_at = time.perf_counter()
        if data is not None:
            self.user.press(message_id, data)
        else:
            self.user.send_text(step.text or "")
        try:
            answered = await asyncio.wait_for(self._waiter, timeout)
        except TimeoutError:
            tally.errors[f"{step.name}: no reply in {timeout:.0f} s"] += 1
            return False
        finally:
            self._waiter = self.offered_at = None
        tally.record(step.name, (answered - offered) * 1000)
        return True

    async def run(self, script: list[Step], tally: Tally, timeout: float) -> None:  # noqa: ASYNC109
        self.cursor = 0
        for _ in script:
            if not await self.step(script, tally, timeout):
                return


def make_players(sandbox: TimedSandbox, user_ids: list[int]) -> list[Player]:
    players = [
        Player(sandbox.user(uid, f"Person {n}", "en"), seed=uid) for n, uid in enumerate(user_ids)
    ]
    by_chat = {p.user.chat_id: p for p in players}

    def on_message(chat_id: int, message: dict[str, Any], at: float) -> None:
        player = by_chat.get(chat_id)
        if player is not None:
            player.deliver(message, at)

    sandbox.on_message = on_message
    return players


@dataclass
class Run:
    updates: int
    seconds: float
    tally: Tally
    offered_per_second: float | None = None

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.tally.latencies_ms, q)


async def flat_out(
    players: list[Player],
    script: list[Step],
    timeout: float = 180.0,  # noqa: ASYNC109
) -> Run:
    """Every participant runs the whole script at once, each waiting for his replies."""
    tally = Tally()
    settle_garbage()
    began = time.perf_counter()
    await asyncio.gather(*(p.run(script, tally, timeout) for p in players))
    return Run(len(tally.latencies_ms), time.perf_counter() - began, tally)


def _back_to(idle: deque[Player], player: Player, _task: object) -> None:
    idle.append(player)


async def fixed_rate(
    players: list[Player],
    script: list[Step],
    rate: float,
    seconds: float,
    timeout: float = 60.0,  # noqa: ASYNC109
) -> Run:
    """Offer `rate` steps a second, each from a participant not waiting for a reply."""
    tally = Tally()
    idle = deque(players)
    for player in players:
        player.cursor = 0
    tasks: set[asyncio.Task[bool]] = set()
    total = int(rate * seconds)
    settle_garbage()
    began = time.perf_counter()
    offered = 0
    for k in range(total):
        delay = began + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            tally.errors["offered late: every participant was waiting"] += 1
            continue
        player = idle.popleft()
        task = asyncio.create_task(player.step(script, tally, timeout))
        task.add_done_callback(functools.partial(_back_to, idle, player))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        offered += 1
    offered_for = time.perf_counter() - began
    await asyncio.gather(*tasks)
    run = Run(len(tally.latencies_ms), time.perf_counter() - began, tally)
    run.offered_per_second = offered / offered_for if offered_for else None
    return run


# --- SQL statements per step -----------------------------------------------------------

ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_role", default="interaction")
_VERBS = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


def describe(statement: str) -> str:
    """'SELECT participants', 'INSERT outbox', 'UPSERT inbound_updates', ..."""
    flat = " ".join(statement.split())
    verb = _VERBS.match(flat) or re.match(r"(\w+)", flat)
    name = verb.group(1).upper() if verb else flat[:20]
    patterns = {
        "INSERT": r"INSERT INTO (\S+)",
        "UPDATE": r"UPDATE (\S+)",
        "DELETE": r"DELETE FROM (\S+)",
    }
    table = re.search(patterns.get(name, r"\bFROM (\S+)"), flat, re.IGNORECASE)
    target = table.group(1).strip('"`').split("(")[0] if table else "?"
    if name == "INSERT" and "ON CONFLICT" in flat.upper():
        name = "UPSERT" if "DO UPDATE" in flat.upper() else "INSERT OR IGNORE"
    return f"{name} {target}"


@contextlib.contextmanager
def tagged_background_loops() -> Iterator[None]:
    """Mark statements from the bot's background loops (sender, file fetcher, scheduler,
    staff announcer, the intake's retries) so that only what an update causes is counted
    as the interaction's."""
    import bot.announcer
    import bot.attachments
    import bot.intake
    import bot.outbox
    import bot.scheduler

    loops: list[tuple[Any, str, str]] = [
        (bot.outbox.OutboxSender, "run", "outbox sender"),
        (bot.attachments.AttachmentFetcher, "run", "file fetcher"),
        (bot.scheduler.Scheduler, "run", "scheduler"),
        (bot.announcer.StaffAnnouncer, "run", "staff announcer"),
        (bot.intake.Intake, "run_retries", "intake retries"),
    ]
    originals = [getattr(cls, name) for cls, name, _ in loops]
    for (cls, name, role), original in zip(loops, originals, strict=True):

        async def run(
            self: Any, *args: Any, _original: Any = original, _role: str = role, **kwargs: Any
        ) -> None:
            ROLE.set(_role)
            await _original(self, *args, **kwargs)

        setattr(cls, name, run)
    try:
        yield
    finally:
        for (cls, name, _), original in zip(loops, originals, strict=True):
            setattr(cls, name, original)


@dataclass
class StepStatements:
    step: str
    interaction: Counter[str]
    sender: Counter[str]
    announcer: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.interaction.values())


async def count_statements(
    url: str, data_dir: Path, user_id: int, spec: BotApiSpec | None
) -> list[StepStatements]:
    """Run the script once, one step at a time, counting the statements each step causes."""
    sandbox = TimedSandbox(TOKEN, spec=spec, bot_username="companion_bench_bot")
    await sandbox.start()
    core = build_core(settings(url, data_dir, sandbox.url, pacing=False))
    seen: list[tuple[str, str]] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((ROLE.get(), describe(statement)))

    event.listen(core.engine.sync_engine, "before_cursor_execute", before)
    [player] = make_players(sandbox, [user_id])
    result: list[StepStatements] = []
    try:
        with tagged_background_loops():
            async with running_bot(core, poll_timeout=1, scheduler_interval=3600):
                await sandbox.wait_until_idle(quiet=0.3, timeout=30)
                tally = Tally()
                for step in SCRIPT:
                    mark = len(seen)
                    if not await player.step(SCRIPT, tally, timeout=15):
                        raise RuntimeError(f"step {step.name!r} failed: {dict(tally.errors)}")
                    await sandbox.wait_until_idle(quiet=0.1, timeout=15)
                    await asyncio.sleep(0.5)  # the staff announcer gathers for a moment
                    mine = seen[mark:]
                    result.append(
                        StepStatements(
                            step.name,
                            Counter(s for role, s in mine if role == "interaction"),
                            Counter(s for role, s in mine if role == "outbox sender"),
                            Counter(s for role, s in mine if role == "staff announcer"),
                        )
                    )
    finally:
        await core.close()
        await sandbox.stop()
    if sandbox.violations:
        raise RuntimeError(f"requests the Bot API spec does not allow: {sandbox.violations[:5]}")
    return result


async def sql_per_step(folder: Path) -> list[StepStatements]:
    url = f"sqlite+aiosqlite:///{folder}/statements.db"
    core = build_core(settings(url, folder, "http://127.0.0.1:9"))
    try:
        await upgrade(core.engine)
        enrolled = await seed_enrolled(core.services.session_factory, 20, datetime.now(UTC))
    finally:
        await core.close()
    spec_path = find_spec_path()
    if spec_path is None:
        print("  (Bot API spec not found: the SQL count runs without spec checks)")
    spec = BotApiSpec.load(spec_path) if spec_path else None
    return await count_statements(url, folder, enrolled.user_ids[-1], spec)


def bot_command(folder: Path, name: str) -> list[str]:
    """`companion run --no-web`, under py-spy when BENCH_PROFILE names a folder (collapsed
    stacks, for flame graphs; the stacks that cost most are printed at the end)."""
    command = companion_command("run", "--no-web")
    target = os.environ.get("BENCH_PROFILE")
    if not target:
        return command
    Path(target).mkdir(parents=True, exist_ok=True)
    report = Path(target) / f"{name}.txt"
    print(f"  profiling the bot with py-spy into {report}")
    spy = Path(sys.executable).parent / "py-spy"
    return [str(spy), "record", "--format", "raw", "-r", "200", "-o", str(report), "--", *command]


def _summary(counter: Counter[str]) -> str:
    return ", ".join(f"{n}× {what}" if n > 1 else what for what, n in sorted(counter.items()))


# --- the runs --------------------------------------------------------------------------


@dataclass
class Sizes:
    participants: int
    rate: float
    rate_seconds: float
    warmup: int
    timeout: float

    @classmethod
    def for_run(cls, smoke: bool, participants: int | None) -> Sizes:
        if smoke:
            return cls(participants or 30, 100.0, 2.0, 5, 20.0)
        return cls(participants or 2000, 100.0, 30.0, 100, 180.0)


async def _wait_ready(sandbox: TimedSandbox, process: BotProcess, timeout: float = 60) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not (sandbox.polls_waiting or sandbox.calls_to("getUpdates")):
        process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not start polling:\n{process.log_tail()}")
        await asyncio.sleep(0.05)


async def _with_bot(
    sandbox: TimedSandbox,
    command: list[str],
    env: dict[str, str],
    log: Path,
    body: Callable[[BotProcess], Awaitable[None]],
) -> None:
    sandbox.calls.clear()
    process = BotProcess(command, env, log)
    process.start()
    try:
        await _wait_ready(sandbox, process)
        ready = time.perf_counter() - process.started_at
        await body(process)
        process.check_alive()
    finally:
        began = time.perf_counter()
        await asyncio.to_thread(process.stop)
        stopping = time.perf_counter() - began
        # Updates left unanswered (a step that timed out) must not reach the next bot.
        await asyncio.sleep(0.2)
    print(f"  (the bot was polling after {ready:.1f} s and stopped in {stopping:.1f} s)")


async def measure_backend(
    results: Results,
    backend: str,
    url: str,
    folder: Path,
    sandbox: TimedSandbox,
    sizes: Sizes,
) -> Run | None:
    """Seed, start `companion run` against the sandbox, run flat out and at a fixed rate."""
    core = build_core(settings(url, folder, sandbox.url))
    try:
        await upgrade(core.engine)
        began = time.perf_counter()
        enrolled = await seed_enrolled(
            core.services.session_factory, sizes.participants, datetime.now(UTC)
        )
        seeded = time.perf_counter() - began
    finally:
        await core.close()
    print(f"  {backend}: seeded {sizes.participants:,} enrolled participants in {seeded:.1f} s")
    key = backend.lower()
    if backend == "SQLite":
        # Counted alone, step by step, on a database of its own: its own local server numbers
        # updates from 1 again, which the bot would take for ones it has handled.
        steps = await sql_per_step(folder)
        results.details["sql_per_step"] = {
            s.step: {
                "interaction": dict(s.interaction),
                "outbox_sender": dict(s.sender),
                "staff_announcer": dict(s.announcer),
            }
            for s in steps
        }
        for s in steps:
            results.add(
                f"sql.{s.step}",
                f"SQL statements: {s.step}",
                s.total,
                "count",
                at_most=6,
                note=_summary(s.interaction),
            )
        worst = max(steps, key=lambda s: s.total)
        results.add(
            "sql.worst_step",
            f"SQL statements, most in one step ({worst.step})",
            worst.total,
            "count",
            at_most=6,
        )
        per_reply = max(sum(s.sender.values()) for s in steps)
        results.add(
            "sql.outbox_sender_per_reply",
            "SQL statements by the outbox sender per reply (most)",
            per_reply,
            "count",
            note=_summary(max(steps, key=lambda s: sum(s.sender.values())).sender),
        )
        told = max(steps, key=lambda s: sum(s.announcer.values()))
        results.add(
            "sql.staff_announcer_per_complaint",
            f"SQL statements by the staff announcer ({told.step})",
            sum(told.announcer.values()),
            "count",
            note=_summary(told.announcer),
        )

    players = make_players(sandbox, enrolled.user_ids[: sizes.participants])
    env = bot_env(url, folder, sandbox.url, pacing=False)
    outcome: dict[str, Run] = {}

    async def body(process: BotProcess) -> None:
        warm = Tally()
        await asyncio.gather(*(p.step([SCRIPT[0]], warm, 60) for p in players[: sizes.warmup]))
        for player in players:
            player.reset()
        outcome["flat"] = await flat_out(players, SCRIPT, sizes.timeout)
        process.sample()
        outcome["rate"] = await fixed_rate(
            players, SCRIPT, sizes.rate, sizes.rate_seconds, sizes.timeout
        )
        # Let the backlog drain, then a light load: the latency a man sees on a quiet day.
        await asyncio.sleep(2)
        outcome["light"] = await fixed_rate(
            players, SCRIPT, LIGHT_RATE, sizes.rate_seconds, sizes.timeout
        )
        process.sample()
        results.details.setdefault("bot_peak_rss_mb", {})[key] = process.peak_rss_kib / 1024

    await _with_bot(
        sandbox, bot_command(folder, f"bot-{key}"), env, folder / f"bot-{key}.log", body
    )
    flat, rate = outcome["flat"], outcome["rate"]
    _report(results, key, backend, sizes, flat, rate)
    light = outcome["light"]
    results.add(
        f"interactions.{key}.light_p99_ms",
        f"Latency p99, {backend}, {LIGHT_RATE:.0f} updates/s offered",
        light.p(99),
        "ms",
        note=f"p50 {light.p(50):.1f} ms, {light.updates:,} updates",
    )
    results.details["interactions"][key]["light_rate"] = {
        "offered_per_second": light.offered_per_second,
        "p50_ms": light.p(50),
        "p99_ms": light.p(99),
        "errors": dict(light.tally.errors),
    }
    return flat


def _report(results: Results, key: str, backend: str, sizes: Sizes, flat: Run, rate: Run) -> None:
    n = f"{sizes.participants:,}"
    results.add(
        f"interactions.{key}.updates_per_second",
        f"Interactions, {backend}, {n} participants flat out",
        flat.per_second,
        "updates/s",
        note=f"{flat.updates:,} updates in {flat.seconds:.1f} s",
    )
    for q in (50, 95, 99):
        results.add(
            f"interactions.{key}.p{q}_ms",
            f"  latency p{q}, {backend}, flat out",
            flat.p(q),
            "ms",
        )
    results.add(
        f"interactions.{key}.rate_p99_ms",
        f"Latency p99, {backend}, {sizes.rate:.0f} updates/s offered",
        rate.p(99),
        "ms",
        at_most=50,
        note=(
            f"p50 {rate.p(50):.1f} ms, p95 {rate.p(95):.1f} ms, {rate.updates:,} updates, "
            f"offered {rate.offered_per_second or 0:.0f}/s"
        ),
    )
    errors = flat.tally.errors + rate.tally.errors
    results.details.setdefault("interactions", {})[key] = {
        "flat_out": {
            "updates": flat.updates,
            "seconds": flat.seconds,
            "per_step_p50_ms": {k: percentile(v, 50) for k, v in flat.tally.by_step.items()},
            "per_step_p95_ms": {k: percentile(v, 95) for k, v in flat.tally.by_step.items()},
        },
        "fixed_rate": {
            "offered_per_second": rate.offered_per_second,
            "updates": rate.updates,
            "p50_ms": rate.p(50),
            "p95_ms": rate.p(95),
            "p99_ms": rate.p(99),
            "max_ms": max(rate.tally.latencies_ms, default=None),
        },
        "errors": dict(errors),
    }
    if errors:
        results.add(
            f"interactions.{key}.errors",
            f"  steps not answered (or not offered in time), {backend}",
            sum(errors.values()),
            "count",
            at_most=0,
            note="; ".join(f"{n}× {what}" for what, n in errors.most_common(3)),
        )


async def measure_echo(
    results: Results, sandbox: TimedSandbox, players: list[Player], folder: Path
) -> Run:
    """The framework's ceiling: a minimal PTB bot echoing text, same server, same load."""
    env = bot_env("sqlite+aiosqlite://", folder, sandbox.url, pacing=False)
    command = [sys.executable, "-m", "bench.echo_bot", sandbox.url, TOKEN]
    outcome: dict[str, Run] = {}

    async def body(_process: BotProcess) -> None:
        warm = Tally()
        await asyncio.gather(*(p.step(ECHO_SCRIPT, warm, 60) for p in players[:10]))
        outcome["flat"] = await flat_out(players, ECHO_SCRIPT)

    await _with_bot(sandbox, command, env, folder / "echo.log", body)
    flat = outcome["flat"]
    results.add(
        "echo.updates_per_second",
        f"Echo bot (python-telegram-bot), {len(players):,} participants flat out",
        flat.per_second,
        "updates/s",
        note=f"p50 {flat.p(50):.0f} ms, p99 {flat.p(99):.0f} ms",
    )
    if flat.tally.errors:
        results.details["echo_errors"] = dict(flat.tally.errors)
    return flat


async def main(results: Results, participants: int | None = None, postgres: bool = True) -> None:
    sizes = Sizes.for_run(results.smoke, participants)
    sandbox = TimedSandbox(TOKEN, spec=None, bot_username="companion_bench_bot")
    await sandbox.start()
    try:
        with tempfile.TemporaryDirectory(prefix="companion-bench-") as name:
            folder = Path(name)
            ours = await measure_backend(
                results, "SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", folder, sandbox, sizes
            )
            players = make_players(sandbox, [FIRST_USER_ID + n for n in range(sizes.participants)])
            echo = await measure_echo(results, sandbox, players, folder)
            if ours is not None and echo.per_second:
                results.add(
                    "interactions.sqlite_vs_echo",
                    "Ours ÷ echo bot, SQLite, updates/s",
                    ours.per_second / echo.per_second,
                    "×",
                    at_least=0.5,
                )
            if not postgres:
                results.skip("interactions.postgresql", "Interactions, PostgreSQL", "not asked")
                return
            with postgres_server() as server:
                if server is None:
                    results.skip(
                        "interactions.postgresql",
                        "Interactions, PostgreSQL",
                        "PostgreSQL server binaries not found (apt-get install postgresql)",
                    )
                    return
                url = await postgres_database(server, "bench_interactions")
                await measure_backend(results, "PostgreSQL", url, folder, sandbox, sizes)
    finally:
        await sandbox.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="40 participants, a short run")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--no-postgres", action="store_true")
    arguments = parser.parse_args()
    outcome = Results(smoke=arguments.smoke)
    asyncio.run(main(outcome, arguments.participants, not arguments.no_postgres))
