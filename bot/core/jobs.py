"""The one scheduler of the process: every timed or periodic job, each with an explicit id.

Capabilities declare their periodic jobs on their router (`@router.job(...)`); the event
announcer adds one wake-up per event (`event-<id>`). Jobs call one function with plain values,
so a job is easy to run by hand in a test. The scheduler keeps nothing: the database is the
source of truth and the jobs are declared again at every start (APScheduler's memory store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Run = Callable[[], Awaitable[object]]
CRON_GRACE = 3600  # seconds a missed cron job may still run late (e.g. after a restart)
STOP_GRACE = 5.0  # seconds a running job may take to finish at shutdown before it is cancelled


class Jobs:
    def __init__(self) -> None:
        # coalesce: a job missed several times runs once; no grace limit unless said otherwise
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        self._running: set[asyncio.Task[object]] = set()  # job runs in progress

    def every(self, job_id: str, interval: timedelta, run: Run, *, overlap: bool = False) -> None:
        """Run now (once started) and then every `interval`. With `overlap`, a second run may
        be asked for (`run_soon`) while one is still going."""
        self._scheduler.add_job(
            self._logged(job_id, run),
            IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC),
            id=job_id,
            replace_existing=True,
            next_run_time=datetime.now(UTC),
            max_instances=2 if overlap else 1,
        )

    def cron(self, job_id: str, crontab: str, tz: ZoneInfo, run: Run) -> None:
        self._scheduler.add_job(
            self._logged(job_id, run),
            CronTrigger.from_crontab(crontab, timezone=tz),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=CRON_GRACE,
        )

    def at(self, job_id: str, when: datetime, run: Run) -> None:
        """Run once at `when` (at once if that has passed), replacing a job of the same id."""
        self._scheduler.add_job(
            self._logged(job_id, run), DateTrigger(when), id=job_id, replace_existing=True
        )

    def remove(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def ids(self, prefix: str) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if job.id.startswith(prefix)}

    def due(self, job_id: str) -> datetime | None:
        """When a one-time job (`at`) runs, or the next run of a started job."""
        job = self._scheduler.get_job(job_id)
        if job is None:
            return None
        run_date: datetime | None = getattr(job.trigger, "run_date", None)
        return run_date or getattr(job, "next_run_time", None)

    def run_soon(self, job_id: str) -> None:
        """Run a declared job now instead of at its next time (nothing if it is not declared,
        as in the shell, which runs no jobs)."""
        job = self._scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """No new runs; the runs in progress may finish their transaction (a job cancelled in
        the middle of a database call can leave its connection unusable for the shutdown),
        then whatever still runs is cancelled."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            if late:
                log.warning("%d job(s) still running at shutdown are cancelled", len(late))
        self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # the scheduler shuts down on the loop's next turn

    def _logged(self, job_id: str, run: Run) -> Run:
        """`run`, with a failure logged under the job's id (the next run goes ahead)."""

        async def job() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await run()
            except Exception:
                log.exception("job %s failed", job_id)
            finally:
                if task is not None:
                    self._running.discard(task)

        return job


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
