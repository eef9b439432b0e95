"""The Alembic migrations build exactly the schema the models describe, on both databases,
and can be undone and redone."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.db.models import Base


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)


def _differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_migrations_go_down_to_nothing_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await _downgrade(engine, "base")
        assert await current_revision(engine) is None
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_queue_is_built_for_items_that_were_already_there(database_url: str) -> None:
    """0009 gives existing absence reports, complaints and format requests their queue rows."""
    engine = make_engine(database_url)
    statements = [
        "INSERT INTO staff (id, email, name, role, active, created_at) VALUES "
        "(1, 'om@example.org', 'Dana', 'offender_manager', true, '2026-11-01 09:00:00')",
        "INSERT INTO cohorts (id, name, created_at) VALUES (1, 'A', '2026-11-01 09:00:00')",
        "INSERT INTO scheduled_sessions (id, cohort_id, number, starts_at, duration_minutes) "
        "VALUES (1, 1, 1, '2026-11-05 18:00:00', 120)",
        "INSERT INTO participants (id, reference, name, cohort_id, offender_manager_id, "
        "created_at) "
        "VALUES (1, 'P-AAAAAA', 'Sam', 1, 1, '2026-11-01 09:00:00')",
        "INSERT INTO absence_reports (id, participant_id, session_id, reason, status, "
        "reported_at, self_certificate_due) VALUES "
        "(1, 1, 1, 'ill', 'acceptable', '2026-11-05 09:00:00', '2026-11-12')",
        "INSERT INTO complaints (id, reference, participant_id, category, about, stage, status, "
        "queue, received_at, acknowledge_due, reply_due) VALUES (1, 'C-AAAAA', 1, 'unfair', "
        "'not_said', 1, 'received', 'senior_probation_officer', '2026-11-05 09:00:00', "
        "'2026-11-09', '2026-11-30')",
        "INSERT INTO format_requests (id, reference, participant_id, format, requested_at, "
        "done_at) VALUES (1, 'F-AAAAA', 1, 'braille', '2026-11-05 09:00:00', "
        "'2026-11-06 09:00:00')",
    ]
    try:
        await _downgrade(engine, "0008")
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT kind, task, due, deadline, queue, reference FROM queue_items"
                        " ORDER BY kind"
                    )
                )
            ).all()
        found = [(k, t, str(d)[:10], bool(dl), q, r) for k, t, d, dl, q, r in rows]
        assert found == [
            # Decided, still waiting for the sick note: due its last day.
            ("absence", "check_sick_note", "2026-11-12", True, "offender_manager", None),
            ("complaint", "acknowledge", "2026-11-09", True, "senior_probation_officer", "C-AAAAA"),
            ("format", None, "2026-11-05", False, "contracts_officer", "F-AAAAA"),
        ]
    finally:
        await engine.dispose()
