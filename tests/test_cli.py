"""The `companion` command line, driven as an admin would use it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.app import core_from
from bot.cli import main
from bot.config import load_settings
from bot.db.models import AppState
from bot.demo import data as demo_data
from bot.services import admin
from tests.conftest import free_port


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def test_every_subcommand_has_help(cli: CliRunner) -> None:
    commands = list(_all_commands(main))
    assert ("participant", "add") in commands and ("db", "upgrade") in commands
    for path in commands:
        result = run(cli, *path, "--help")
        assert result.exit_code == 0, path
        assert "Usage: " in result.output


def _setup(cli: CliRunner) -> str:
    assert run(cli, "db", "upgrade").exit_code == 0
    assert (
        run(
            cli,
            "staff",
            "add",
            "om@example.org",
            "--name",
            "Dana Fictional",
            "--role",
            "offender_manager",
            "--phone",
            "01234 567890",
        ).exit_code
        == 0
    )
    assert (
        run(
            cli,
            "cohort",
            "add",
            "Thursday A",
            "--first-session",
            "2026-12-03",
            "--time",
            "18:00",
            "--venue",
            "Room 2",
        ).exit_code
        == 0
    )
    result = run(
        cli,
        "participant",
        "add",
        "Sam Example",
        "--cohort",
        "Thursday A",
        "--offender-manager",
        "om@example.org",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["enrolment"]["code"]) == 11
    reference: str = data["participant"]["reference"]
    return reference


def test_admin_flow_with_json_output(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _setup(cli)
    result = run(cli, "attendance", "record", reference, "1", "attended", "--json")
    assert json.loads(result.output)["sessions_completed"] == 1
    run(cli, "attendance", "record", reference, "2", "missed")
    result = run(cli, "catchup", "record", reference, "--for-session", "2", "--json")
    summary = json.loads(result.output)
    assert (summary["sessions_completed"], summary["catch_ups_left"]) == (2, 3)
    monkeypatch.setenv("COMPANION_BOT_USERNAME", "@companion_example_bot")
    code = json.loads(run(cli, "participant", "code", reference, "--json").output)
    assert (
        code["link"] == f"https://t.me/companion_example_bot?start={code['code'].replace('-', '')}"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cohort", "add", "X", "--first-session", "2026-13-01", "--time", "18:00"),
            "'2026-13-01' is not a date in the form YYYY-MM-DD.",
        ),
        (
            ("cohort", "add", "X", "--first-session", "2026-12-01", "--time", "25:00"),
            "'25:00' is not a time in the form HH:MM (24-hour clock).",
        ),
        (
            ("participant", "add", "Y", "--cohort", "Nope", "--offender-manager", "om@example.org"),
            "There is no cohort called 'Nope'.",
        ),
        (
            ("staff", "add", "om@example.org", "--name", "Again", "--role", "admin"),
            "A member of staff with email om@example.org already exists.",
        ),
        (
            ("attendance", "record", "P-NOPE00", "1", "attended"),
            "There is no participant with reference P-NOPE00.",
        ),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    _setup(cli)
    listings = [
        ("staff", "list", "--json"),
        ("cohort", "list", "--json"),
        ("participant", "list", "--json"),
    ]
    before = [run(cli, *listing).output for listing in listings]
    result = cli.invoke(main, list(args))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {message}"]
    assert [run(cli, *listing).output for listing in listings] == before


def test_out_of_range_session_number(cli: CliRunner) -> None:
    reference = _setup(cli)
    result = cli.invoke(main, ["attendance", "record", reference, "36", "attended"])
    assert result.exit_code == 1
    assert "Session number 36 is out of range" in result.output


def test_commands_refuse_an_unmigrated_database(cli: CliRunner) -> None:
    result = cli.invoke(main, ["staff", "add", "a@example.org", "--name", "A", "--role", "admin"])
    assert result.exit_code == 1
    assert "run 'companion db upgrade' first" in result.output


def test_bad_profile_is_reported_with_file_key_and_expectation(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import EXAMPLE_PROFILE

    broken = tmp_path / "profile.toml"
    broken.write_text(
        EXAMPLE_PROFILE.read_text()
        .replace("max_catch_ups = 4", 'max_catch_ups = "four"')
        .replace('telephone = "01244 394500"\n', "")
    )
    monkeypatch.setenv("COMPANION_PROFILE", str(broken))
    result = cli.invoke(main, ["profile", "check"])
    assert result.exit_code == 1
    assert f"{broken}: programme.max_catch_ups: input should be a valid integer" in result.output
    assert f"{broken}: area.telephone: missing; expected text in quotes." in result.output


def test_run_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env["COMPANION_DATA_DIR"] = str(tmp_path)
    script = Path(sys.executable).with_name("companion")
    result = subprocess.run(
        [str(script), "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: Set COMPANION_BOT_TOKEN to the token BotFather gave your bot, then run this again."
    )


def test_web_says_plainly_when_its_port_is_taken(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(cli, "db", "upgrade").exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("COMPANION_WEB_LISTEN", f"127.0.0.1:{port}")
        result = run(cli, "web")
    assert result.exit_code == 1
    assert f"The dashboard cannot listen on 127.0.0.1:{port}" in result.output
    assert "--no-web" in result.output


def test_run_refuses_a_database_of_demo_data(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its queued messages are for invented people: with a real token they would go to
    whoever has those made-up chat ids. Only `companion demo` runs the bot on it."""
    _setup(cli)

    async def mark_as_demo() -> None:
        async with core_from(load_settings()) as core, core.services.uow() as session:
            session.add(AppState(key=demo_data.MARK_KEY, value=demo_data.READY))
            await session.commit()
        async with core_from(load_settings()) as core:
            assert await admin.holds_demo_data(core.services)

    asyncio.run(mark_as_demo())
    monkeypatch.setenv("COMPANION_BOT_TOKEN", "123456:a-real-looking-token")
    # Were it not refused, nothing answers here (not Telegram).
    monkeypatch.setenv("COMPANION_BOT_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("COMPANION_WEB_LISTEN", f"127.0.0.1:{free_port()}")
    result = cli.invoke(main, ["run"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: This database holds the demo's invented people, so the bot will not run on "
        "it. Point COMPANION_DATABASE_URL at your own database, or run 'companion demo'."
    ]
