"""Participant conversations: every inbound update is one transaction that records the
update id, makes its change and queues its reply in the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot import messages
from bot.db.intake import claim_update
from bot.db.models import (
    Conversation,
    EnrolmentAttempt,
    EnrolmentCode,
    OutboxMessage,
    Participant,
    Staff,
    TelegramLink,
)
from bot.domain import enrolment
from bot.domain.complaints import Category
from bot.domain.enrolment import AttemptPolicy, CodeStatus, IssuedCode
from bot.i18n import SOURCE_LANGUAGE, Catalogs, Translator
from bot.services import (
    absence,
    complaints,
    conversations,
    format_requests,
    preferences,
    sick_notes,
)
from bot.services.context import ServiceContext, audit, cancel_pending, queue_message
from bot.services.incoming_files import IncomingFile
from bot.services.progress import load_summary, next_session
from bot.services.turns import Inbound, Turn, om_contact

TurnBody = Callable[[Turn], Awaitable[None]]
TextTaker = Callable[[ServiceContext, Turn, Participant, str], Awaitable[bool]]
ParticipantBody = Callable[[Turn, Participant], Awaitable[None]]


class ChatService:
    def __init__(self, ctx: ServiceContext, policy: AttemptPolicy | None = None) -> None:
        self._ctx = ctx
        self._policy = policy or AttemptPolicy()
        # Which conversation takes free text, by the conversation's kind.
        self._text_takers: dict[str, TextTaker] = {
            absence.KIND: absence.details,
            complaints.KIND: complaints.details,
            complaints.ESCALATE_KIND: complaints.escalation_reason,
            format_requests.KIND: format_requests.language,
        }

    @property
    def catalogs(self) -> Catalogs:
        return self._ctx.catalogs

    async def _claim(self, session: AsyncSession, update_id: int) -> bool:
        """Mark the update handled in this transaction; False if it was handled before.

        The mark commits with the update's effects, so a redelivered update either finds it
        (and does nothing) or finds neither (and does everything). Turns that answer him
        are claimed by the answer instead (see `_handle`).
        """
        return await claim_update(session, update_id, self._ctx.now())

    async def _handle(self, inbound: Inbound, body: TurnBody) -> bool:
        """Run `body` once per update id; False when the update was handled before."""
        try:
            return await self._turn(inbound, body)
        except IntegrityError:
            async with self._ctx.uow() as session:
                if await _answered(session, inbound.update_id):
                    return False  # its claim clashed: handled and answered before
        # Another unique key clashed (a complaint reference drawn twice, say): once more.
        return await self._turn(inbound, body)

    async def _turn(self, inbound: Inbound, body: TurnBody) -> bool:
        async with self._ctx.uow() as session:
            participant, conversations = await _linked_participant(session, inbound.user_id)
            t = self._ctx.catalogs.translator(
                participant.language if participant else None, inbound.language_code
            )
            turn = Turn(session, inbound, participant, t, self._ctx.now())
            if participant is not None:
                turn.conversations = conversations
            await body(turn)
            # His answer carries the claim: its update id is unique, so a second handling
            # cannot commit. A turn with no answer claims the update itself, unless an
            # earlier handling answered it. Claimed last, not first: on SQLite a
            # transaction's first write takes the database's one write lock until the
            # commit, so the reads above run while other men's updates write.
            if not turn.claimed and (
                await _answered(session, inbound.update_id)
                or not await self._claim(session, inbound.update_id)
            ):
                await session.rollback()
                return False
            await session.commit()
        self._ctx.on_outbox_written()
        if turn.staff_to_tell:
            self._ctx.on_staff_to_tell()
        return True

    async def _for_participant(self, inbound: Inbound, body: ParticipantBody) -> bool:
        """Like `_handle`, but a stranger only ever gets the how-to-enrol answer."""

        async def guarded(turn: Turn) -> None:
            if turn.participant is None and await _is_linked_staff(turn):
                turn.reply(messages.staff_chat_only(self._ctx.catalogs.translator()))
            elif turn.participant is None:
                turn.reply(messages.not_enrolled(turn.t))
            else:
                await body(turn, turn.participant)

        return await self._handle(inbound, guarded)

    async def start(self, inbound: Inbound, code_text: str | None) -> bool:
        """`/start` with or without an enrolment code."""

        async def body(turn: Turn) -> None:
            if code_text:
                await self._enrol(turn, code_text)
            elif turn.participant is not None:
                turn.reply(
                    messages.greeting(turn.t, turn.participant.name), messages.main_menu(turn.t)
                )
            else:
                turn.reply(messages.not_enrolled(turn.t))

        return await self._handle(inbound, body)

    async def _enrol(self, turn: Turn, code_text: str) -> None:
        session, inbound, now = turn.session, turn.inbound, self._ctx.now()
        failures = list(
            await session.scalars(
                select(EnrolmentAttempt.attempted_at).where(
                    EnrolmentAttempt.telegram_user_id == inbound.user_id,
                    EnrolmentAttempt.attempted_at > now - self._policy.window,
                )
            )
        )
        locked_until = self._policy.locked_until(failures, now)
        if locked_until is not None:
            turn.reply(
                messages.too_many_tries(turn.t, locked_until.astimezone(self._ctx.profile.zone))
            )
            return
        code = enrolment.normalise_code(code_text)
        record = None
        if code is not None:
            record = await session.scalar(
                select(EnrolmentCode).where(
                    EnrolmentCode.code_hash == enrolment.hash_code(code, self._ctx.secret_key)
                )
            )
        issued = (
            IssuedCode(record.expires_at, record.used_at, record.revoked_at) if record else None
        )
        status = enrolment.code_status(issued, now)
        if (
            status is CodeStatus.USED
            and record is not None
            and turn.participant is not None
            and record.participant_id == turn.participant.id
        ):
            # He tapped his own link again: greet him, it is not a wrong try.
            turn.reply(messages.greeting(turn.t, turn.participant.name), messages.main_menu(turn.t))
            return
        if status is not CodeStatus.VALID or record is None:
            session.add(EnrolmentAttempt(telegram_user_id=inbound.user_id, attempted_at=now))
            failures.append(now)
            locked_until = self._policy.locked_until(failures, now)
            if locked_until is not None:
                until = locked_until.astimezone(self._ctx.profile.zone)
                turn.reply(messages.too_many_tries(turn.t, until))
            elif status is CodeStatus.USED:
                turn.reply(messages.code_used(turn.t))
            elif status is CodeStatus.EXPIRED:
                turn.reply(messages.code_expired(turn.t))
            else:
                tries_left = self._policy.max_failures - len(failures)
                turn.reply(messages.code_not_recognised(turn.t, tries_left))
            return
        record.used_at = now
        if record.staff_id is not None:
            await self._link_staff(turn, record.staff_id)
            return
        assert record.participant_id is not None  # noqa: S101 - a code is for one or the other
        participant = await session.get_one(
            Participant, record.participant_id, options=[selectinload(Participant.cohort)]
        )
        await self._link(turn, participant)

    async def _link(self, turn: Turn, participant: Participant) -> None:
        """Link this Telegram account to `participant`, ending any older links on both sides."""
        session, inbound, now = turn.session, turn.inbound, self._ctx.now()
        old_links = await session.scalars(
            select(TelegramLink).where(
                TelegramLink.unlinked_at.is_(None),
                (TelegramLink.participant_id == participant.id)
                | (TelegramLink.telegram_user_id == inbound.user_id),
            )
        )
        # Staff may have set his language; else his phone's, if we have it (and we say so).
        from_phone = participant.language is None and (
            self._ctx.catalogs.match(inbound.language_code) not in (None, SOURCE_LANGUAGE)
        )
        if participant.language is None:
            participant.language = self._ctx.catalogs.match(inbound.language_code)
        t = self._ctx.catalogs.translator(participant.language, inbound.language_code)
        for old in old_links:
            old.unlinked_at = now
            await cancel_pending(session, old.chat_id, "chat unlinked")
            if old.participant_id == participant.id and old.chat_id != inbound.chat_id:
                queue_message(session, now, old.chat_id, messages.unlinked_elsewhere(t))
        session.add(
            TelegramLink(
                participant_id=participant.id,
                telegram_user_id=inbound.user_id,
                chat_id=inbound.chat_id,
                linked_at=now,
            )
        )
        audit(session, "telegram", "participant.link", f"participant:{participant.id}")
        turn.participant, turn.t = participant, t
        turn.reply(messages.welcome(t, participant.name), messages.main_menu(t))
        if from_phone:
            preferences.offer_languages(self._ctx, turn)

    async def _link_staff(self, turn: Turn, staff_id: int) -> None:
        """A member of staff links Telegram to get notices about their caseload."""
        session, inbound = turn.session, turn.inbound
        previous = await session.scalar(
            select(Staff).where(Staff.telegram_user_id == inbound.user_id, Staff.id != staff_id)
        )
        if previous is not None:
            previous.telegram_user_id = previous.telegram_chat_id = None
            await session.flush()
        staff = await session.get_one(Staff, staff_id)
        staff.telegram_user_id, staff.telegram_chat_id = inbound.user_id, inbound.chat_id
        audit(session, "telegram", "staff.link_telegram", f"staff:{staff.id}")
        t = self._ctx.catalogs.translator()
        turn.reply(messages.staff_linked(t, staff.name), {"remove_keyboard": True})

    async def progress(self, inbound: Inbound) -> bool:
        """His sessions completed, catch-ups, next session and Offender Manager."""

        async def body(turn: Turn, participant: Participant) -> None:
            summary = await load_summary(turn.session, self._ctx.profile.rules, participant.id)
            upcoming = await next_session(turn.session, participant, self._ctx.now())
            next_view = (
                messages.NextSession(
                    upcoming.starts_at.astimezone(self._ctx.profile.zone), upcoming.venue
                )
                if upcoming
                else None
            )
            turn.reply(
                messages.progress(turn.t, summary, next_view, om_contact(participant)),
                messages.main_menu(turn.t),
            )

        return await self._for_participant(inbound, body)

    async def contacts(self, inbound: Inbound) -> bool:
        async def body(turn: Turn, participant: Participant) -> None:
            text = messages.contacts(turn.t, self._ctx.profile, om_contact(participant))
            turn.reply(text, messages.main_menu(turn.t))

        return await self._for_participant(inbound, body)

    async def help(self, inbound: Inbound) -> bool:
        return await self._reply_with(inbound, messages.help_text)

    async def unknown_command(self, inbound: Inbound) -> bool:
        return await self._reply_with(inbound, messages.unknown_command)

    async def free_text(self, inbound: Inbound, text: str) -> bool:
        """Text outside a command: his own words if a conversation is waiting for them."""

        async def body(turn: Turn, participant: Participant) -> None:
            conversation = await conversations.latest(turn)
            take_text = self._text_takers.get(conversation.kind) if conversation else None
            if take_text is None or not await take_text(self._ctx, turn, participant, text):
                turn.reply(messages.not_understood(turn.t), messages.main_menu(turn.t))

        return await self._for_participant(inbound, body)

    async def absence_start(self, inbound: Inbound) -> bool:
        """`/absence` or the "I can't come" button."""

        async def body(turn: Turn, participant: Participant) -> None:
            await absence.begin(self._ctx, turn, participant)

        return await self._for_participant(inbound, body)

    async def reminders(self, inbound: Inbound) -> bool:
        """`/reminders`: choose which session reminders to get."""

        async def body(turn: Turn, participant: Participant) -> None:
            preferences.show(self._ctx, turn, participant)

        return await self._for_participant(inbound, body)

    async def language(self, inbound: Inbound) -> bool:
        """`/language` or the menu button: choose the language he reads."""

        async def body(turn: Turn, _participant: Participant) -> None:
            preferences.show_languages(self._ctx, turn)

        return await self._for_participant(inbound, body)

    async def file(self, inbound: Inbound, incoming: IncomingFile) -> bool:
        """A photo or document: evidence for the complaint he is writing, else a sick note."""

        async def body(turn: Turn, participant: Participant) -> None:
            if not await complaints.add_file(turn, incoming):
                await sick_notes.receive(self._ctx, turn, participant, incoming)

        handled = await self._for_participant(inbound, body)
        self._ctx.on_attachment_written()
        return handled

    async def complaint_start(self, inbound: Inbound) -> bool:
        """`/complaint` or the menu button."""

        async def body(turn: Turn, participant: Participant) -> None:
            await complaints.begin(self._ctx, turn, participant)

        return await self._for_participant(inbound, body)

    async def complaints_list(self, inbound: Inbound) -> bool:
        """`/complaints`: his complaints and where each one is."""

        async def body(turn: Turn, participant: Participant) -> None:
            await complaints.show_list(turn, participant)

        return await self._for_participant(inbound, body)

    async def rights(self, inbound: Inbound) -> bool:
        """`/rights`: the leaflet's rights, with buttons into each route."""

        async def body(turn: Turn, _participant: Participant) -> None:
            profile, t = self._ctx.profile, turn.t
            text = messages.rights(
                t,
                profile.roles.senior_probation_officer,
                profile.roles.chief_officer,
                profile.area.telephone,
                profile.area.address,
            )
            turn.reply(text, _rights_buttons(t))

        return await self._for_participant(inbound, body)

    async def conditions(self, inbound: Inbound) -> bool:
        """`/conditions`: what he agreed to, and a way to ask for another format."""

        async def body(turn: Turn, _participant: Participant) -> None:
            t = turn.t
            rows = [[(t._(messages.BUTTON_OTHER_FORMAT), f"{RIGHTS_PREFIX}:format")]]
            turn.reply(messages.conditions(t), messages.inline(rows))

        return await self._for_participant(inbound, body)

    async def format_start(self, inbound: Inbound) -> bool:
        """`/format`: ask for the information in another language or format."""

        async def body(turn: Turn, _participant: Participant) -> None:
            await format_requests.begin(turn)

        return await self._for_participant(inbound, body)

    async def button(self, inbound: Inbound, data: str) -> str | None:
        """An inline button press; returns a short notice to show when the button is stale."""
        stale = False

        async def body(turn: Turn, participant: Participant) -> None:
            nonlocal stale
            prefix = data.split(":", 1)[0]
            if prefix == absence.PREFIX:
                stale = not await absence.press(self._ctx, turn, participant, data)
            elif prefix == preferences.PREFIX:
                stale = not preferences.press(turn, participant, data)
            elif prefix == preferences.LANGUAGE_PREFIX:
                stale = not preferences.press_language(self._ctx, turn, participant, data)
            elif prefix == complaints.PREFIX:
                stale = not (
                    await complaints.press(self._ctx, turn, participant, data)
                    or await complaints.press_escalation(self._ctx, turn, participant, data)
                )
            elif prefix == complaints.VIEW_PREFIX:
                stale = not await complaints.press_view(self._ctx, turn, participant, data)
            elif prefix == format_requests.PREFIX:
                stale = not await format_requests.press(self._ctx, turn, participant, data)
            elif prefix == RIGHTS_PREFIX:
                stale = not await self._rights_route(turn, participant, data)
            else:
                stale = True

        await self._for_participant(inbound, body)
        return (
            self.catalogs.translator(inbound.language_code)._(messages.STALE_BUTTON)
            if stale
            else None
        )

    async def _rights_route(self, turn: Turn, participant: Participant, data: str) -> bool:
        """A button under the rights or conditions: start that route."""
        route = data.removeprefix(f"{RIGHTS_PREFIX}:")
        if route == "discrimination":
            discrimination = (Category.DISCRIMINATION_STAFF, Category.DISCRIMINATION_GROUP)
            await complaints.begin(self._ctx, turn, participant, discrimination)
        elif route == "unfair":
            await complaints.begin(self._ctx, turn, participant, (Category.UNFAIR,))
        elif route == "format":
            await format_requests.begin(turn)
        else:
            return False
        return True

    async def unsupported_content(self, inbound: Inbound) -> bool:
        return await self._reply_with(inbound, messages.unsupported_content)

    async def too_long(self, inbound: Inbound) -> bool:
        async def body(turn: Turn, _participant: Participant) -> None:
            turn.reply(messages.too_long(turn.t))

        return await self._for_participant(inbound, body)

    async def _reply_with(self, inbound: Inbound, render: Callable[[Translator], str]) -> bool:
        async def body(turn: Turn, _participant: Participant) -> None:
            turn.reply(render(turn.t), messages.main_menu(turn.t))

        return await self._for_participant(inbound, body)

    async def group_chat(
        self, update_id: int, chat_id: int, language_code: str | None, *, added: bool
    ) -> bool:
        """Say once that the bot works in private chats only, then leave the group.

        `added` is the bot being added (again): that always gets the notice, unless one is
        still waiting. A message in a group the bot has already left is one Telegram sent
        before the leave took effect, and gets nothing.
        """
        async with self._ctx.uow() as session:
            if not await self._claim(session, update_id):
                return False
            statuses = ["pending"] if added else ["pending", "sent"]
            leaving = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.action == "leave_chat",
                    OutboxMessage.status.in_(statuses),
                )
            )
            if not leaving:
                t = self._ctx.catalogs.translator(language_code)
                now = self._ctx.now()
                queue_message(session, now, chat_id, messages.private_chats_only(t))
                queue_message(session, now, chat_id, None, action="leave_chat")
            await session.commit()
        self._ctx.on_outbox_written()
        return True


RIGHTS_PREFIX = "rgt"


def _rights_buttons(t: Translator) -> dict[str, Any]:
    return messages.inline(
        [
            [(t._(messages.BUTTON_RIGHTS_DISCRIMINATION), f"{RIGHTS_PREFIX}:discrimination")],
            [(t._(messages.BUTTON_RIGHTS_UNFAIR), f"{RIGHTS_PREFIX}:unfair")],
            [(t._(messages.BUTTON_OTHER_FORMAT), f"{RIGHTS_PREFIX}:format")],
        ]
    )


async def _is_linked_staff(turn: Turn) -> bool:
    staff_id = await turn.session.scalar(
        select(Staff.id).where(Staff.telegram_user_id == turn.inbound.user_id)
    )
    return staff_id is not None


# Built once: every update from a participant starts with it.
_LINKED_PARTICIPANT = (
    select(Participant, Conversation)
    .join(TelegramLink, TelegramLink.participant_id == Participant.id)
    .outerjoin(Conversation, Conversation.telegram_user_id == TelegramLink.telegram_user_id)
    .where(
        TelegramLink.telegram_user_id == bindparam("user_id"), TelegramLink.unlinked_at.is_(None)
    )
    .options(
        # What his turn uses of his Offender Manager, and nothing else: never her sign-in
        # secrets. Anything more raises at once, in the tests, rather than loading lazily.
        joinedload(Participant.offender_manager).load_only(
            Staff.name,
            Staff.phone,
            Staff.role,
            Staff.active,
            Staff.telegram_chat_id,
            raiseload=True,
        )
    )
)


async def _linked_participant(
    session: AsyncSession, user_id: int
) -> tuple[Participant | None, dict[str, Conversation]]:
    """The participant this Telegram account speaks for, with his Offender Manager and his
    conversations in progress: one query, however many steps the update then takes."""
    rows = (await session.execute(_LINKED_PARTICIPANT, {"user_id": user_id})).all()
    if not rows:
        return None, {}
    return rows[0][0], {c.kind: c for _, c in rows if c is not None}


async def _answered(session: AsyncSession, update_id: int) -> bool:
    """Whether an answer to this update is in the outbox: it was handled."""
    found = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.update_id == update_id).limit(1)
    )
    return found is not None
