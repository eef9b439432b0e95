"""Waiting helper shared by the background loops (outbox sender, file fetcher, scheduler)."""

from __future__ import annotations

import asyncio


async def wait_for_any(timeout: float, *events: asyncio.Event) -> None:  # noqa: ASYNC109
    """Return when any event is set or `timeout` seconds have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
