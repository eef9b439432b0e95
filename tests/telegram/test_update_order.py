"""Updates from different chats are handled at once; each chat's strictly in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update, User

from bot.intake import ChatOrderedProcessor


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    user = User(id=chat_id, first_name="Sam", is_bot=False)
    message = Message(
        message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=user, text="hi"
    )
    return Update(update_id=update_id, message=message)


async def test_one_chat_waits_its_turn_while_another_goes_ahead() -> None:
    processor = ChatOrderedProcessor(8)
    events: list[str] = []
    release_first = asyncio.Event()

    async def handle(name: str, hold: asyncio.Event | None = None) -> None:
        events.append(f"{name} starts")
        if hold is not None:
            await hold.wait()
        events.append(f"{name} ends")

    async with processor:
        tasks = [
            asyncio.create_task(
                processor.process_update(_update(1, 10), handle("A1", release_first))
            ),
            asyncio.create_task(processor.process_update(_update(2, 10), handle("A2"))),
            asyncio.create_task(processor.process_update(_update(3, 20), handle("B1"))),
        ]
        await asyncio.sleep(0.05)
        # B's update ran while A's first was still being handled; A's second waits.
        assert events == ["A1 starts", "B1 starts", "B1 ends"]
        release_first.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert events[3:] == ["A1 ends", "A2 starts", "A2 ends"]


async def test_a_failed_update_does_not_hold_up_the_next_from_the_same_chat() -> None:
    processor = ChatOrderedProcessor(4)
    handled: list[int] = []

    async def fail() -> None:
        raise RuntimeError("the database went away")

    async def ok() -> None:
        handled.append(2)

    async with processor:
        first = asyncio.create_task(processor.process_update(_update(1, 10), fail()))
        second = asyncio.create_task(processor.process_update(_update(2, 10), ok()))
        results = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 5)
    assert isinstance(results[0], RuntimeError)
    assert handled == [2]
