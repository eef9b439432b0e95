"""Running the demo: the local Bot API sandbox, the bot pointed at it, the staff dashboard and
the phone page, all on 127.0.0.1, over a demo database of their own.

Demo mode cannot reach Telegram or the internet: the bot's API address is the sandbox's
loopback URL (whatever the environment says), with a token only the sandbox accepts, every
listener binds 127.0.0.1, and the dashboard's enrolment links (and QR codes) open the phone
page. It refuses a database that holds people without the demo mark; outside demo mode the
bot refuses a database with the mark (``bot.app.refuse_demo_data``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import socket
import textwrap
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.app import Core, build_core, running_bot, running_web
from bot.config import ConfigError, Settings, load_settings
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.demo import data, history
from bot.sandbox import BotApiSandbox, BotApiSpec
from bot.sandbox.phone import Phone, SignIn, make_phone_app, phone_link
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# Only the local sandbox accepts this token; it is not a secret and no real bot has it.
DEMO_TOKEN = "7000000001:demo-token-for-the-local-sandbox-only"  # noqa: S105
BOT_USERNAME = "companion_demo_bot"
DEFAULT_DATABASE = Path("var/demo.db")
DEFAULT_DATA_DIR = Path("var/demo")
# What the environment may still choose in demo mode: the programme's rules and pacing.
PASSED_THROUGH = ("COMPANION_PROFILE", "COMPANION_SEND_PACING", "COMPANION_SEND_RATE")
WIDTH = 92  # the banner's longest line: a terminal's width, or near it
# The "What to try" list, on the phone page and in the banner; README.md has the same list
# (tests/demo/test_stack.py keeps them together).
TIPS = (
    "Open Alex Example's phone and press “Start”: his enrolment link connects his phone to "
    "the bot.",
    "Tap “I can't come”, choose the next session and a reason, and send it.",
    "On the dashboard, sign in as Dana Fictional (dana@example.org), the Offender Manager, "
    "with the password and code shown, and decide it. The decision arrives on Alex's phone.",
    "From Tom Example's phone, send a photo of his sick note: it reaches his overdue absence "
    "report in Dana's queue.",
    "Open Rhys Example's or Karim Example's phone to see the bot in Welsh or Arabic.",
    "Sign in as Cai Fictional (cai@example.org), the Chief Officer, to answer Ben Example's "
    "stage 2 complaint.",
)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    database: Path = DEFAULT_DATABASE
    data_dir: Path = DEFAULT_DATA_DIR
    phone_port: int = 8180
    dashboard_port: int = 8181
    sandbox_port: int = 0  # any free port
    reset: bool = False
    poll_timeout: int = 10
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunningDemo:
    phone_url: str
    dashboard_url: str
    sandbox: BotApiSandbox
    core: Core
    directory: DemoDirectory
    spec_checked: bool  # calls are checked against the Bot API spec


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def demo_settings(options: DemoOptions, sandbox_url: str) -> Settings:
    """Settings for demo mode: the environment cannot point it anywhere but here."""
    env = {name: options.env[name] for name in PASSED_THROUGH if options.env.get(name)}
    env.update(
        COMPANION_DATA_DIR=str(options.data_dir),
        COMPANION_DATABASE_URL=sqlite_url(options.database),
        COMPANION_BOT_TOKEN=DEMO_TOKEN,
        COMPANION_BOT_API_URL=sandbox_url,
        COMPANION_WEB_LISTEN=f"{LOOPBACK}:{options.dashboard_port}",
    )
    settings = dataclasses.replace(
        load_settings(env),
        demo=True,
        # An enrolment link (and its QR code) opens the phone page, never real Telegram.
        enrolment_link_base=f"http://{LOOPBACK}:{options.phone_port}/phone?start=",
    )
    check_offline(settings)
    return settings


def check_offline(settings: Settings) -> None:
    """Refuse settings that could reach Telegram, the internet or another computer."""
    api = urlsplit(settings.bot_api_url)
    if not _is_loopback(api.hostname):
        raise ConfigError(
            f"Demo mode only talks to its own Bot API server on this computer, not "
            f"{settings.bot_api_url}."
        )
    host, _port = settings.web_host_port()
    web_url_host = urlsplit(settings.web_url).hostname if settings.web_url else LOOPBACK
    if not _is_loopback(host) or not _is_loopback(web_url_host):
        raise ConfigError("Demo mode serves the dashboard on 127.0.0.1 only.")
    if settings.webhook_secret is not None:
        raise ConfigError("Demo mode does not use a webhook.")
    link = urlsplit(settings.enrolment_link_base or "https://t.me/")
    if not _is_loopback(link.hostname):
        raise ConfigError("Demo mode's enrolment links open its phone page on 127.0.0.1 only.")


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DemoDirectory:
    """The phone page's view of the demo data: the phones, and the staff sign-ins."""

    def __init__(self, ctx: ServiceContext, codes: dict[int, str]) -> None:
        self._ctx = ctx
        self.codes = codes  # enrolment codes waiting, by phone

    async def phones(self) -> list[Phone]:
        return await data.phones(self._ctx, self.codes)

    async def sign_ins(self) -> list[SignIn]:
        return await data.sign_ins(self._ctx)


async def prepare_database(options: DemoOptions) -> bool:
    """Check the demo database before anything touches it; start it again when asked to
    (or when an earlier start was stopped while writing the demo data). True when the demo
    data has to be written."""
    path = options.database
    if not path.exists():
        return True
    engine = make_engine(sqlite_url(path))
    try:
        state = await data.database_state(engine)
    finally:
        await engine.dispose()
    data.check_demo_database(state, str(path))
    if state.mark == data.READY and not options.reset:
        return False
    if state.mark is not None:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    return True


def _check_free(port: int, option: str) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            raise ConfigError(
                f"Port {port} on {LOOPBACK} is not free ({error.strerror}). Choose another "
                f"with {option}."
            ) from None


@contextlib.asynccontextmanager
async def running_demo(options: DemoOptions) -> AsyncIterator[RunningDemo]:
    """Everything the demo runs, until the block exits."""
    # Before anything is written: a port in use is found now, not after the demo data.
    _check_free(options.phone_port, "--phone-port")
    _check_free(options.dashboard_port, "--dashboard-port")
    fresh = await prepare_database(options)
    spec = BotApiSpec.load_default()
    if spec is None:
        log.warning(
            "The Bot API spec was not found (set COMPANION_BOT_API_SPEC or keep "
            "../shared/telegram/api.json): calls are served but not checked against it."
        )
    sandbox = BotApiSandbox(DEMO_TOKEN, spec=spec, bot_username=BOT_USERNAME)
    await sandbox.start(LOOPBACK, options.sandbox_port)
    try:
        settings = demo_settings(options, sandbox.url)
        core = build_core(settings)
        try:
            async with _running(core, sandbox, options, fresh) as running:
                yield running
        finally:
            await core.close()
    finally:
        await sandbox.stop()


@contextlib.asynccontextmanager
async def _running(
    core: Core, sandbox: BotApiSandbox, options: DemoOptions, fresh: bool
) -> AsyncIterator[RunningDemo]:
    ctx = core.services
    await upgrade(core.engine)
    seeded = await data.seed(ctx) if fresh else None
    # Every demo phone exists before the bot starts, so reminders and notices reach them.
    for phone in await data.phones(ctx, {}):
        sandbox.user(phone.user_id, phone.first_name, phone.language_code)
    async with running_bot(core, poll_timeout=options.poll_timeout):
        if seeded is not None:
            await history.play(ctx, sandbox, seeded)
            await data.mark_ready(ctx)
        directory = DemoDirectory(ctx, await data.enrolment_codes(ctx))
        async with running_web(core) as dashboard_url:
            app = make_phone_app(
                sandbox, directory, dashboard_url=dashboard_url, zone=core.profile.zone, tips=TIPS
            )
            runner = web.AppRunner(
                app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
            )
            await runner.setup()
            try:
                await web.TCPSite(runner, LOOPBACK, options.phone_port).start()
            except OSError as error:
                await runner.cleanup()
                raise ConfigError(
                    f"The phone page cannot listen on {LOOPBACK}:{options.phone_port} "
                    f"({error.strerror}). Choose another port with --phone-port."
                ) from None
            try:
                yield RunningDemo(
                    f"http://{LOOPBACK}:{options.phone_port}",
                    dashboard_url,
                    sandbox,
                    core,
                    directory,
                    sandbox.spec is not None,
                )
            finally:
                await runner.cleanup()


async def banner(demo: RunningDemo) -> str:
    """What `companion demo` prints once everything is up."""
    sign_ins = await demo.directory.sign_ins()
    phones = await demo.directory.phones()
    password = next((s.password for s in sign_ins if s.password), None)
    lines = [
        "Programme Companion demo: everything runs on this computer, and nothing is sent to",
        "Telegram or anywhere else. Every person in it is invented.",
        "",
        f"  Phone page (be a participant): {demo.phone_url}/",
        f"  Staff dashboard:               {demo.dashboard_url}/",
        "",
        f"Staff sign-ins (password for each: {password}):",
    ]
    width = max(len(s.role) for s in sign_ins)
    lines += [f"  {s.role.ljust(width)}  {s.email}  ({s.name})" for s in sign_ins]
    lines += [
        "The 6-digit code for each is on the phone page's staff sign-ins page,",
        f"{demo.phone_url}/staff (or run `.venv/bin/companion demo codes`).",
    ]
    waiting = [p for p in phones if p.start_code]
    if waiting:
        lines.append("")
        lines += [
            f"{p.name} has not linked his phone yet: {demo.phone_url}{phone_link(p)}"
            for p in waiting
        ]
    lines += ["", "What to try:"]
    for number, tip in enumerate(TIPS, 1):
        lines += textwrap.wrap(
            tip,
            WIDTH,
            initial_indent=f"  {number}. ",
            subsequent_indent="     ",
            break_on_hyphens=False,
        )
    if not demo.spec_checked:
        lines += ["", "The Bot API spec was not found, so the bot's calls are not checked."]
    lines += [
        "",
        "Press Ctrl+C to stop. To start again with fresh demo data, run",
        "`make demo DEMO_ARGS=--reset` (or `.venv/bin/companion demo --reset`).",
    ]
    return "\n".join(lines)
