"""Dashboard speed with a big queue: p50/p95 of the queue page, a filtered page, the next
page and an item page, from an HTTP client on loopback.

    .venv/bin/python -m bench.dashboard                        # 100,000 and 1,000,000 (SQLite)
    .venv/bin/python -m bench.dashboard --items 100000         # one size
    .venv/bin/python -m bench.dashboard --smoke                # 1,000 items, a quick run (CI)
    .venv/bin/python -m bench.dashboard --database-url postgresql+asyncpg://...
    .venv/bin/python -m bench.dashboard --items 1000000 \
        --database-url sqlite+aiosqlite:////tmp/bench-1m.db    # seeded once, reused after

Items are 80% absence reports, 15% complaints and 5% format requests; 90% are closed, as
in an area's history. They are written in bulk (with their queue rows, as the flush hook
would write them), then the pages are fetched as an admin and as one Offender Manager.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pyotp
from aiohttp.test_utils import TestServer
from sqlalchemy import func, insert, select, update

from bench.common import Results, bulk, settle_garbage
from bot.app import build_core
from bot.config import Settings, load_profile
from bot.db.migrate import upgrade
from bot.db.models import (
    AbsenceReport,
    Cohort,
    Complaint,
    FormatRequest,
    Participant,
    QueueItem,
    ScheduledSession,
    Staff,
)
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.complaints import About, Category, Status
from bot.domain.queue import Kind, Task
from bot.domain.roles import Role
from bot.services import staff_auth
from bot.services.context import ServiceContext
from handlers.web.app import make_web_app

PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "example.toml"
PASSWORD = "benchmark password, not a real one"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PARTICIPANTS_PER_COHORT = 10
SESSIONS = 35
OFFENDER_MANAGERS = 50


def _settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        bot_token="123456:BENCH-token",
        database_url=url,
        bot_api_url="http://127.0.0.1:9",
        profile_path=PROFILE,
        secret_key=b"b" * 32,
        webhook_secret=None,
        bot_username=None,
        data_dir=data_dir,
    )


async def seed(services: ServiceContext, items: int, now: datetime) -> None:
    """Staff, cohorts with their sessions, participants, and `items` queue items."""
    factory = services.session_factory
    absences = items * 80 // 100
    complaints = items * 15 // 100
    formats = items - absences - complaints
    cohorts = max(1, -(-absences // (PARTICIPANTS_PER_COHORT * SESSIONS)))
    async with factory() as session:
        staff = [
            {"email": f"om{n}@example.org", "name": f"OM {n}", "role": Role.OFFENDER_MANAGER}
            for n in range(OFFENDER_MANAGERS)
        ]
        staff += [
            {"email": "spo@example.org", "name": "SPO", "role": Role.SENIOR_PROBATION_OFFICER},
            {"email": "admin@example.org", "name": "Admin", "role": Role.ADMIN},
        ]
        await session.execute(
            insert(Staff), [{**s, "active": True, "created_at": now} for s in staff]
        )
        om_ids = list(
            await session.scalars(
                select(Staff.id).where(Staff.role == Role.OFFENDER_MANAGER).order_by(Staff.id)
            )
        )
        start = now - timedelta(days=300)
        await session.execute(
            insert(Cohort),
            [{"name": f"Cohort {c}", "venue": None, "created_at": now} for c in range(cohorts)],
        )
        cohort_ids = list(await session.scalars(select(Cohort.id).order_by(Cohort.id)))
        await session.execute(
            insert(ScheduledSession),
            [
                {
                    "cohort_id": c,
                    "number": n + 1,
                    "starts_at": start + timedelta(days=7 * n, hours=c % 48),
                    "duration_minutes": 120,
                    "venue": None,
                }
                for c in cohort_ids
                for n in range(SESSIONS)
            ],
        )
        await session.execute(
            insert(Participant),
            [
                {
                    "reference": f"P-{c:05d}{p}",
                    "name": f"Person {c}-{p}",
                    "cohort_id": c,
                    "offender_manager_id": om_ids[(c * PARTICIPANTS_PER_COHORT + p) % len(om_ids)],
                    "language": "en",
                }
                for c in cohort_ids
                for p in range(PARTICIPANTS_PER_COHORT)
            ],
        )
        people = list(
            await session.execute(
                select(Participant.id, Participant.cohort_id).order_by(Participant.id)
            )
        )
        sessions = {
            (c, n): (i, at)
            for i, c, n, at in await session.execute(
                select(
                    ScheduledSession.id,
                    ScheduledSession.cohort_id,
                    ScheduledSession.number,
                    ScheduledSession.starts_at,
                )
            )
        }
        await session.commit()

    def reports() -> Iterator[dict[str, object]]:
        for n in range(absences):
            person, cohort = people[n // SESSIONS]
            session_id, _ = sessions[(cohort, n % SESSIONS + 1)]
            yield {
                "id": n + 1,
                "participant_id": person,
                "session_id": session_id,
                "reason": Reason.WORK,
                "details": "Shift",
                "status": AbsenceStatus.REPORTED if n % 10 == 0 else AbsenceStatus.ACCEPTABLE,
                "reported_at": now,
            }

    def found() -> Iterator[dict[str, object]]:
        for n in range(complaints):
            person, _ = people[n % len(people)]
            due = (now + timedelta(days=n % 40 - 20)).date()
            yield {
                "id": n + 1,
                "reference": f"C-{n:07d}",
                "participant_id": person,
                "category": Category.UNFAIR,
                "about": About.NOT_SAID,
                "stage": 1,
                "status": Status.RECEIVED if n % 10 == 0 else Status.CLOSED,
                "queue": Role.SENIOR_PROBATION_OFFICER,
                "received_at": now,
                "acknowledge_due": due,
                "reply_due": due + timedelta(days=14),
            }

    def asked() -> Iterator[dict[str, object]]:
        for n in range(formats):
            person, _ = people[n % len(people)]
            yield {
                "id": n + 1,
                "reference": f"F-{n:07d}",
                "participant_id": person,
                "format": "large_print",
                "requested_at": now,
                "done_at": None if n % 10 == 0 else now,
            }

    def rows() -> Iterator[dict[str, object]]:
        # As the flush hook would write them: one queue row per item, open ones with a task.
        for n in range(absences):
            person, cohort = people[n // SESSIONS]
            _, starts_at = sessions[(cohort, n % SESSIONS + 1)]
            open_ = n % 10 == 0
            yield _row(
                Kind.ABSENCE,
                person,
                Task.DECIDE_ABSENCE if open_ else None,
                starts_at.date(),
                False,
                Role.OFFENDER_MANAGER,
                absence_id=n + 1,
            )
        for n in range(complaints):
            person, _ = people[n % len(people)]
            open_ = n % 10 == 0
            due = (now + timedelta(days=n % 40 - 20)).date()
            yield _row(
                Kind.COMPLAINT,
                person,
                Task.ACKNOWLEDGE if open_ else None,
                due,
                True,
                Role.SENIOR_PROBATION_OFFICER,
                complaint_id=n + 1,
                reference=f"C-{n:07d}",
                stage=1,
            )
        for n in range(formats):
            person, _ = people[n % len(people)]
            open_ = n % 10 == 0
            yield _row(
                Kind.FORMAT,
                person,
                Task.SEND_FORMAT if open_ else None,
                now.date(),
                False,
                Role.CONTRACTS_OFFICER,
                format_request_id=n + 1,
                reference=f"F-{n:07d}",
            )

    async with factory() as session:
        await bulk(session, AbsenceReport, reports())
        await bulk(session, Complaint, found())
        await bulk(session, FormatRequest, asked())
        await bulk(session, QueueItem, rows())
        await session.commit()


def _row(
    kind: Kind,
    participant_id: int,
    task: Task | None,
    due: date,
    deadline: bool,
    queue: Role,
    **keys: object,
) -> dict[str, object]:
    row: dict[str, object] = {
        "kind": kind,
        "participant_id": participant_id,
        "task": task,
        "due": due,
        "deadline": deadline,
        "queue": queue,
        "absence_id": None,
        "complaint_id": None,
        "format_request_id": None,
        "reference": None,
        "stage": None,
        "assignee_id": None,
        "about_staff_id": None,
    }
    row.update(keys)
    return row


async def _seeded(services: ServiceContext) -> int:
    """How many queue items the database already holds; if any, the staff who sign in are
    made to set up their authenticator again, as `sign_in` expects."""
    async with services.session_factory() as session:
        found = int(await session.scalar(select(func.count()).select_from(QueueItem)) or 0)
        await session.execute(
            update(Staff).values(totp_secret=None, totp_confirmed_at=None, totp_last_step=None)
        )
        await session.commit()
    return found


async def sign_in(client: aiohttp.ClientSession, email: str) -> None:
    page = await client.get("/sign-in")
    token = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    answer = await client.post(
        "/sign-in",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
    )
    html = await (await client.get(answer.headers["Location"])).text()
    token = CSRF.search(html).group(1)  # type: ignore[union-attr]
    secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', html).group(1)  # type: ignore[union-attr]
    code = pyotp.TOTP(secret.replace(" ", "")).now()
    done = await client.post(
        "/sign-in/set-up", data={"csrf_token": token, "code": code}, allow_redirects=False
    )
    assert done.status == 303, await done.text()


async def timed(client: aiohttp.ClientSession, path: str, runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds, after one warm-up."""
    await (await client.get(path)).read()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(path)
        await response.read()
        times.append((time.perf_counter() - began) * 1000)
        assert response.status == 200, (path, response.status)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def measure(results: Results, items: int, runs: int, database_url: str | None = None) -> None:
    """Seed `items` queue items and time each page as an admin and as an Offender Manager."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        core = build_core(_settings(url, Path(folder)), load_profile(PROFILE))
        await upgrade(core.engine)
        began = time.perf_counter()
        backend = url.split(":")[0].split("+")[0]
        if await _seeded(core.services) == items:
            # A database seeded by an earlier run (seeding a million items takes minutes).
            print(f"  reusing {items:,} queue items already seeded ({backend})", flush=True)
        else:
            await seed(core.services, items, datetime.now(UTC))
            print(
                f"  seeded {items:,} queue items in {time.perf_counter() - began:.1f} s"
                f" ({backend})",
                flush=True,
            )
        took = time.perf_counter() - began
        for email in ("admin@example.org", "om0@example.org"):
            token, _ = await staff_auth.issue_password_link(core.services, "bench", email)
            await staff_auth.set_password(core.services, token, PASSWORD, "127.0.0.1")
        server = TestServer(make_web_app(core.services), host="127.0.0.1")
        await server.start_server()
        found: dict[str, dict[str, float]] = {}
        settle_garbage()
        try:
            for email in ("admin@example.org", "om0@example.org"):
                async with aiohttp.ClientSession(
                    base_url=str(server.make_url("")), cookie_jar=aiohttp.CookieJar(unsafe=True)
                ) as client:
                    await sign_in(client, email)
                    first = await (await client.get("/")).text()
                    next_link = re.search(r'<a href="([^"]+)" rel="next">', first)
                    item = re.search(
                        r'<a href="(/(?:absences|complaints|format-requests)/[^"]+)">', first
                    )
                    paths = {"queue": "/", "filtered": "/?type=complaint&overdue=1"}
                    if next_link:
                        paths["next page"] = next_link.group(1).replace("&amp;", "&")
                    if item:
                        paths["item"] = item.group(1)
                    who = "admin" if email.startswith("admin") else "OM"
                    for name, path in paths.items():
                        p50, p95 = await timed(client, path, runs)
                        found[f"{who} {name}"] = {"p50_ms": p50, "p95_ms": p95}
                        results.add(
                            f"dashboard.{backend}.{items}.{who}.{name.replace(' ', '_')}.p95_ms",
                            f"Dashboard {items:,} items, {who}, {name} p95 ({backend})",
                            p95,
                            "ms",
                            at_most=100,
                            note=f"p50 {p50:.1f} ms",
                        )
        finally:
            await server.close()
            await core.close()
        results.details.setdefault("dashboard", {})[f"{backend} {items}"] = {
            "seed_seconds": took,
            "pages": found,
        }


async def main(
    results: Results,
    sizes: list[int] | None = None,
    runs: int | None = None,
    database_url: str | None = None,
) -> None:
    if results.smoke:
        sizes, runs = sizes or [1000], runs or 5
    for items in sizes or [100_000, 1_000_000]:
        await measure(results, items, runs or 50, database_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, action="append", help="repeatable")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--smoke", action="store_true", help="1,000 items, 5 runs")
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    outcome = Results(smoke=arguments.smoke)
    asyncio.run(main(outcome, arguments.items, arguments.runs, arguments.database_url))
