"""Sick notes sent in the chat: checked, attached to his illness absence, fetched, OM told."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import undefer

from bot.app import build_application
from bot.attachments import AttachmentFetcher
from bot.db.models import Attachment, AuditEntry
from bot.sandbox.server import SandboxUser
from bot.services import absence_review, admin
from tests.telegram.conftest import Harness, button_data

JPEG = b"\xff\xd8\xff\xe0" + b"a photo of a sick note" * 100
PDF = b"%PDF-1.4\n" + b"a scanned sick note\n" * 100


async def _ill(harness: Harness, user: SandboxUser) -> None:
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.replies(user, before, 2)


async def _attachments(harness: Harness) -> list[Attachment]:
    async with harness.core.services.uow() as session:
        return list(await session.scalars(select(Attachment).options(undefer(Attachment.content))))


async def _wait_fetched(harness: Harness) -> list[Attachment]:
    for _ in range(100):
        attachments = await _attachments(harness)
        if attachments and all(a.fetched_at is not None for a in attachments):
            return attachments
        await asyncio.sleep(0.05)
    raise AssertionError("the attachment was never fetched")


async def test_a_photo_of_the_note_is_kept_and_his_om_told(harness: Harness) -> None:
    om = harness.sandbox.user(7090, "Dana")
    code = await admin.issue_staff_code(harness.core.services, "cli:admin", "om@example.org", None)
    await harness.say(om, f"/start {code.code}")
    user = harness.sandbox.user(7001, "Sam")
    await harness.enrol(user)
    await _ill(harness, user)
    om_before, before = len(om.messages()), len(user.messages())
    user.send_photo(JPEG)
    [thanks] = await harness.replies(user, before)
    assert thanks.text == (
        "Thank you. I have sent your sick note to your Offender Manager. "
        "It is for the session on Thursday, 3 December 2026 at 18:00."
    )
    [notice] = await harness.replies(om, om_before)
    assert notice.text == "New item in your queue."
    [attachment] = await _wait_fetched(harness)
    assert attachment.content == JPEG
    assert attachment.mime_type == "image/jpeg"
    [view] = await absence_review.list_absences(harness.core.services, pending_only=True)
    assert view.sick_note_files == 1
    # The attachment is its own record of what he sent and when; the audit log is for staff.
    async with harness.core.services.uow() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "absence.attachment" not in actions and attachment.received_at is not None


async def test_a_pdf_is_accepted(harness: Harness) -> None:
    user = harness.sandbox.user(7002, "Sam")
    await harness.enrol(user)
    await _ill(harness, user)
    before = len(user.messages())
    user.send_document(PDF, "sick-note.pdf", "application/pdf")
    [thanks] = await harness.replies(user, before)
    assert (thanks.text or "").startswith("Thank you. I have sent your sick note")
    [attachment] = await _wait_fetched(harness)
    assert (attachment.file_name, attachment.content) == ("sick-note.pdf", PDF)


async def test_a_30_mb_file_and_a_program_are_refused(harness: Harness) -> None:
    user = harness.sandbox.user(7003, "Sam")
    await harness.enrol(user)
    await _ill(harness, user)
    before = len(user.messages())
    user.send_document(b"%PDF-1.4\n" + bytes(30 * 1024 * 1024), "note.pdf", "application/pdf")
    [too_big] = await harness.replies(user, before)
    assert too_big.text == (
        "Sorry, this file is too big. It must be smaller than 10 MB. Please send a photo instead."
    )
    before = len(user.messages())
    user.send_document(b"MZ\x90\x00", "note.exe", "application/x-msdownload")
    [wrong] = await harness.replies(user, before)
    assert wrong.text == (
        "Sorry, I cannot take this kind of file. Please send a photo, or a PDF file."
    )
    before = len(user.messages())
    user.send_document(b"MZ\x90\x00", "note.pdf.exe", "application/pdf")
    [disguised] = await harness.replies(user, before)
    assert disguised.text == wrong.text
    assert await _attachments(harness) == []


async def test_a_file_without_an_illness_absence_is_not_kept(harness: Harness) -> None:
    user = harness.sandbox.user(7004, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    user.send_photo(JPEG)
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith(
        "Thank you, but you have no absence that needs a sick note, so I have not kept this file."
    )
    stranger = harness.sandbox.user(7005, "Alex")
    stranger.send_photo(JPEG)
    [answer] = await harness.replies(stranger, 0)
    assert "you need a code" in (answer.text or "")
    assert await _attachments(harness) == []


async def test_a_failed_download_is_retried_and_nothing_is_lost(harness: Harness) -> None:
    user = harness.sandbox.user(7006, "Sam")
    await harness.enrol(user)
    await _ill(harness, user)
    # The Bot API is down while he sends the photo: it is recorded, and fetched later.
    harness.sandbox.faults.down = True
    user.send_photo(JPEG)
    for _ in range(100):
        if await _attachments(harness):
            break
        await asyncio.sleep(0.05)
    [waiting] = await _attachments(harness)
    assert waiting.fetched_at is None
    harness.sandbox.faults.down = False
    # Without waiting for the running fetcher's next pass, run one pass as it would.
    await harness.stop_bot()
    async with build_application(harness.core, with_updater=False) as application:
        fetcher = AttachmentFetcher(
            harness.core.services.session_factory, application.bot, harness.clock
        )
        assert await fetcher.fetch_waiting() == 1
    [fetched] = await _attachments(harness)
    assert fetched.content == JPEG
