"""The scheduler at shutdown: a job in the middle of its work finishes instead of being cut
off (a cut-off database call can leave the connection unusable while the process stops)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.jobs import Jobs


async def test_a_running_job_finishes_before_the_scheduler_stops() -> None:
    jobs, started, finished = Jobs(), asyncio.Event(), []

    async def work() -> None:
        started.set()
        await asyncio.sleep(0.2)  # e.g. a transaction in progress
        finished.append(True)

    jobs.every("work", timedelta(days=1), work)
    jobs.start()
    await asyncio.wait_for(started.wait(), 5)
    await jobs.stop()
    assert finished == [True]
    assert not jobs.running


async def test_a_job_that_does_not_finish_is_cancelled_after_the_grace() -> None:
    jobs, started = Jobs(), asyncio.Event()

    async def endless() -> None:
        started.set()
        await asyncio.Event().wait()

    jobs.every("endless", timedelta(days=1), endless)
    jobs.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(jobs.stop(grace=0.1), 5)
    assert not jobs.running
