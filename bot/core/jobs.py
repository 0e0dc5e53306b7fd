"""Background work of the process: waiting that a stop cuts short, and repeating a job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def repeat(job: Callable[[], Awaitable[object]], every: float, stop: asyncio.Event) -> None:
    """Run `job` now and then every `every` seconds until `stop` is set; a failing run is
    logged and the next one goes ahead."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed", getattr(job, "__qualname__", job))
        await sleep_unless(stop, every)
