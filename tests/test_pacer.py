"""The pacer when every second is full: an answer to what someone just did takes the first
room that frees, before reminders already waiting for it, and the limit holds for all."""

from __future__ import annotations

import asyncio
import time

from bot.outbox import Pacer

PER_SECOND = 4


async def test_an_urgent_send_takes_the_first_room_that_frees_in_a_full_second() -> None:
    pacer = Pacer(PER_SECOND)
    went: list[tuple[str, float]] = []

    async def send(name: str, chat_id: int, *, urgent: bool = False, answer_in: float = 0.0):
        await pacer.wait_turn(chat_id, urgent=urgent)
        went.append((name, time.monotonic()))
        await asyncio.sleep(answer_in)  # Telegram's answer: room frees a second after it
        pacer.finished(chat_id)

    # A full second at once, answered from 0.5 s on, so room frees from 1.5 s on. Reminders
    # queued behind it reach their slots (0.75 s, 1 s, 1.25 s) and wait for room; then, at
    # 1.1 s, an answer comes.
    first = [
        asyncio.create_task(send(f"first {n}", n, urgent=True, answer_in=0.5 + 0.2 * n))
        for n in range(PER_SECOND)
    ]
    await asyncio.sleep(0.05)
    reminders = [asyncio.create_task(send(f"reminder {n}", 100 + n)) for n in range(4)]
    await asyncio.sleep(1.05)
    await send("answer", 999, urgent=True)
    await asyncio.gather(*first, *reminders)

    names = [name for name, _ in went]
    assert names.index("answer") == PER_SECOND, names  # the first to go once room freed
    times = [at for _, at in went]
    for n in range(len(times) - PER_SECOND):  # never more than PER_SECOND in a second
        assert times[n + PER_SECOND] - times[n] >= 0.99, (n, times)
