"""The composition root: settings → engine → services → PTB application → web server.

Nothing else builds engines, bots or settings; everything is passed down from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.announcer import StaffAnnouncer
from bot.attachments import AttachmentFetcher
from bot.config import ConfigError, Profile, Settings, host_port, load_profile
from bot.db.claims import upsert
from bot.db.engine import checkpoints_in_background, make_engine, make_session_factory
from bot.db.models import AppState
from bot.db.sqlite_on_loop import statements_in_a_thread
from bot.http import AiohttpRequest
from bot.i18n import SOURCE_LANGUAGE, Catalogs, Translator
from bot.intake import ChatOrderedProcessor, Intake, IntakeApplication, StoringUpdatesRequest
from bot.leases import Lease
from bot.loops import wait_for_any
from bot.ops import ProcessFigures, add_health_routes, ops_app
from bot.outbox import OutboxSender, Pacer
from bot.scheduler import Scheduler
from bot.services import admin, retention
from bot.services.chat import ChatService
from bot.services.context import ServiceContext, system_clock
from handlers.telegram import CompanionContext, register

log = logging.getLogger(__name__)

# The only update kinds the handlers use; anything else is not even fetched.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass
class Core:
    """Everything a CLI command or the bot needs, built once."""

    settings: Settings
    profile: Profile
    engine: AsyncEngine
    services: ServiceContext
    chat: ChatService

    async def close(self) -> None:
        await self.engine.dispose()


def build_core(settings: Settings, profile: Profile | None = None) -> Core:
    profile = profile or load_profile(settings.profile_path)
    # Each update being handled holds a connection; so can the sender, the intake, the
    # scheduler, the file fetcher and the dashboard's requests.
    engine = make_engine(settings.database_url, pool_size=settings.concurrent_updates + 8)
    services = ServiceContext(
        session_factory=make_session_factory(engine, profile.zone),
        profile=profile,
        catalogs=Catalogs(),
        secret_key=settings.secret_key,
        clock=system_clock,
        dashboard_url=settings.web_url,
        bot_username=settings.bot_username,
        enrolment_link_base=settings.enrolment_link_base,
    )
    return Core(settings, profile, engine, services, ChatService(services))


@contextlib.asynccontextmanager
async def core_from(settings: Settings, profile: Profile | None = None) -> AsyncIterator[Core]:
    core = build_core(settings, profile)
    try:
        yield core
    finally:
        await core.close()


def build_application(
    core: Core, *, intake: Intake | None = None, with_updater: bool = True
) -> IntakeApplication:
    """The python-telegram-bot application, pointed at `COMPANION_BOT_API_URL`.

    Telegram's sending limits are kept by the outbox sender (bot/outbox.py), the only part
    that sends messages.
    """
    # Opt in to PTB 23's timedelta durations (RetryAfter.retry_after) and silence the
    # deprecation warning every 429 would log; the outbox accepts both forms.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    api = core.settings.bot_api_url
    intake = intake or Intake(core.services)
    builder = (
        ApplicationBuilder()
        .application_class(IntakeApplication)
        .token(core.settings.require_bot_token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(AiohttpRequest())
        .context_types(ContextTypes(context=CompanionContext))
        .concurrent_updates(ChatOrderedProcessor(core.settings.concurrent_updates))
    )
    if with_updater:
        # Each batch of updates is stored before the next poll acknowledges it.
        builder = builder.get_updates_request(StoringUpdatesRequest(intake, connections=1))
    else:
        builder = builder.updater(None)
    application = builder.build()
    assert isinstance(application, IntakeApplication)  # noqa: S101 - set just above
    application.intake = intake
    application.bot_data["chat"] = core.chat
    register(application)
    return application


async def _announce_commands(
    core: Core, application: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    """Learn our username (for enrolment links) and publish the command menu."""
    me = await application.bot.get_me()
    async with core.services.uow() as session:
        # Several processes may start at once (scale-out), so not a select-then-insert.
        await upsert(session, AppState, ["key"], key=admin.BOT_USERNAME_KEY, value=me.username)
        await session.commit()
    # The default menu in English, and one per language Telegram can name (a two-letter
    # code: Sorani has none, so its readers see the default).
    for t in core.services.catalogs.translators():
        code = None if t.language == SOURCE_LANGUAGE else t.language
        if code is None or len(code) == 2:
            await application.bot.set_my_commands(_commands(t), language_code=code)


def _commands(t: Translator) -> list[BotCommand]:
    return [
        BotCommand("absence", t._("Tell us you cannot come to a session")),
        BotCommand("progress", t._("See your sessions and catch-ups")),
        BotCommand("contacts", t._("Who to call")),
        BotCommand("reminders", t._("Choose your session reminders")),
        BotCommand("rights", t._("Your rights")),
        BotCommand("complaint", t._("Make a complaint")),
        BotCommand("complaints", t._("See your complaints")),
        BotCommand("conditions", t._("What you agreed to")),
        BotCommand("format", t._("Ask for another language or format")),
        BotCommand("language", t._("Change the language")),
        BotCommand("help", t._("What this chat can do")),
    ]


async def stored_bot_username(core: Core) -> str | None:
    return await admin.bot_username(core.services)


@contextlib.asynccontextmanager
async def running_web(core: Core) -> AsyncIterator[str]:
    """Serve the staff dashboard on `COMPANION_WEB_LISTEN` until the block exits."""
    from handlers.web.app import make_web_app

    settings = core.settings
    app = make_web_app(
        core.services,
        public_https=settings.web_base_url.startswith("https://"),
        trusted_proxies=settings.web_trusted_proxies,
    )
    stop = asyncio.Event()
    served = _serving(
        app,
        settings.web_listen,
        "The dashboard cannot listen on {listen} ({reason}). Set COMPANION_WEB_LISTEN to a "
        "free address:port, or run with --no-web.",
    )
    async with served:
        # Housekeeping also runs when the dashboard is served alone (`companion web`).
        housekeeping = asyncio.create_task(_housekeeping(core, stop), name="housekeeping")
        try:
            yield settings.web_base_url
        finally:
            stop.set()
            await housekeeping


async def _housekeeping(core: Core, stop: asyncio.Event, every: float = 600.0) -> None:
    with statements_in_a_thread():  # long deletes must not hold up the bot's replies
        while not stop.is_set():
            try:
                await retention.prune(core.services)
            except Exception:  # a database hiccup must not stop the dashboard
                log.exception("housekeeping failed; will retry")
            await wait_for_any(every, stop)


async def refuse_demo_data(core: Core) -> None:
    """Only demo mode runs the bot on a demo database: anywhere else its queued messages, for
    invented people, would go to whoever has their made-up chat ids."""
    if not core.settings.demo and await admin.holds_demo_data(core.services):
        raise ConfigError(
            "This database holds the demo's invented people, so the bot will not run on it. "
            "Point COMPANION_DATABASE_URL at your own database, or run 'companion demo'."
        )


@contextlib.asynccontextmanager
async def running_bot(
    core: Core,
    *,
    webhook_url: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    poll_interval: float = 0.0,
    poll_timeout: int = 10,
    scheduler_interval: float = 60.0,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the bot (polling, or a webhook server when `webhook_url` is set) with its
    background loops (outbox sender, file fetcher, reminder scheduler, retries of stored
    updates) until the block exits."""
    await refuse_demo_data(core)
    services, settings = core.services, core.settings
    intake = Intake(services)
    application = build_application(core, intake=intake, with_updater=webhook_url is None)
    sender = OutboxSender(
        services.session_factory,
        application.bot,
        services.clock,
        pacer=Pacer(settings.send_rate if settings.send_pacing else None),
        # Polling means no other bot process runs (Telegram allows one poller).
        lease=Lease(
            services.session_factory,
            services.clock,
            "outbox-sender",
            take_over=webhook_url is None,
        ),
    )
    fetcher = AttachmentFetcher(services.session_factory, application.bot, services.clock)
    announcer = StaffAnnouncer(services)
    scheduler = Scheduler(
        services,
        interval_seconds=scheduler_interval,
        lease=Lease(
            services.session_factory,
            services.clock,
            "scheduler",
            ttl=timedelta(seconds=max(30.0, 2.5 * scheduler_interval)),
            take_over=webhook_url is None,
        ),
    )
    services.on_outbox_written = sender.wake
    services.on_attachment_written = fetcher.wake
    services.on_staff_to_tell = announcer.wake
    figures = ProcessFigures(
        updates_handled=lambda: intake.handled,
        updates_failed=lambda: intake.failed,
        messages_sent=lambda: sender.sent,
        sends_failed=lambda: sender.failed,
        sends_retried=lambda: sender.retried,
        running=lambda: application.running,
    )
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as servers, application:
        await _announce_commands(core, application)
        if settings.ops_listen:
            await servers.enter_async_context(
                _serving(
                    ops_app(services, figures),
                    settings.ops_listen,
                    "Monitoring cannot listen on {listen} ({reason}). Set COMPANION_OPS_LISTEN "
                    "to a free address:port.",
                )
            )
        if webhook_url is None:
            assert application.updater is not None  # noqa: S101 - built with an updater above
            await application.updater.start_polling(
                poll_interval=poll_interval,
                timeout=poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            secret = settings.webhook_secret or secrets.token_urlsafe(32)
            app = webhook_app(application, intake, secret, webhook_path(webhook_url))
            add_health_routes(app, services, figures)
            await servers.enter_async_context(
                _serving(
                    app,
                    f"{listen}:{port}",
                    "The webhook cannot listen on {listen} ({reason}). Choose another "
                    "--listen or --port.",
                )
            )
            await application.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        await application.start()
        loops = [
            asyncio.create_task(sender.run(stop), name="outbox-sender"),
            asyncio.create_task(fetcher.run(stop), name="attachment-fetcher"),
            asyncio.create_task(announcer.run(stop), name="staff-announcer"),
            asyncio.create_task(scheduler.run(stop), name="scheduler"),
            # Polling: only one process can poll, so whatever is stored unhandled at the
            # start was left by a crash and is retried at once.
            asyncio.create_task(
                intake.run_retries(application, stop, everything_first=webhook_url is None),
                name="intake-retries",
            ),
        ]
        try:
            yield application
        finally:
            # Stop taking updates first (a webhook 200 promises Telegram we have it), then
            # let the handlers finish, then stop the background loops.
            await servers.aclose()
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()
            stop.set()
            await asyncio.gather(*loops)


@contextlib.asynccontextmanager
async def _serving(app: web.Application, listen: str, refusal: str) -> AsyncIterator[None]:
    """Serve `app` on `listen` until the block exits; `refusal` (with {listen} and
    {reason}) says what to do when the address is taken."""
    host, port = host_port(listen, "the listen address")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(refusal.format(listen=listen, reason=error.strerror)) from None
    try:
        yield
    finally:
        await runner.cleanup()


def webhook_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def webhook_app(
    application: Application[Any, Any, Any, Any, Any, Any], intake: Intake, secret: str, path: str
) -> web.Application:
    """An aiohttp app that accepts updates only with the right secret token, and answers
    200 only once the update is stored."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad update")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="bad update")
        try:
            await intake.store([data])
        except Exception:
            # Not stored, so not acknowledged: Telegram sends it again later.
            log.exception("could not store update %s", data["update_id"])
            return web.Response(status=503, text="try again")
        await application.update_queue.put(Update.de_json(data, application.bot))
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    return app


async def serve_forever(
    core: Core, *, bot: bool = True, web_dashboard: bool = True, **options: Any
) -> None:
    """Run the bot and/or the dashboard until SIGINT or SIGTERM."""
    if bot:
        await refuse_demo_data(core)  # before the dashboard starts, too
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(checkpoints_in_background(core.engine))
        if web_dashboard:
            url = await stack.enter_async_context(running_web(core))
            log.info("staff dashboard at %s", url)
        if bot:
            application = await stack.enter_async_context(running_bot(core, **options))
            log.info("bot @%s is running; press Ctrl+C to stop", application.bot.username)
        # What start-up built (modules, catalogs, the application) lives as long as the
        # process: out of the garbage collector's sight, a full collection no longer walks
        # it, and the pauses such walks caused under load shrink (bench/README.md).
        gc.freeze()
        await stopped.wait()
