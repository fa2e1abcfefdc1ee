"""`aggregator run`: the long-running daemon that runs a cycle on the config's schedule until stopped.

It decides only *when* a cycle runs (APScheduler) and how it stops (SIGTERM/SIGINT); what a
cycle does, and the lock that keeps cron's `aggregator fetch` and the daemon apart, are cycle.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .config import ConfigError, load_config
from .crontab import crontab_trigger
from .errors import EXIT_FATAL, AggregatorError
from .interrupts import StopOnSignals
from .lock import LockHeld
from .models import Config, ScheduleSettings

log = logging.getLogger("aggregator.schedule")

DEFAULT_EVERY = 3600.0  # seconds between cycles when the config sets neither `every` nor `cron`
MAX_JITTER = 60.0  # seconds; spreads many installations' requests on the same feeds a little
CRON_JITTER = 10  # seconds after each cron time
JOB_ID = "cycle"


def make_trigger(schedule: ScheduleSettings) -> BaseTrigger:
    """The APScheduler trigger for a schedule: cron (local time), else every N seconds (default 1h)."""
    if schedule.cron:
        # A few seconds of jitter: cron's finest step is a minute, so runs never reorder.
        return crontab_trigger(schedule.cron, jitter=CRON_JITTER)
    every = schedule.every or DEFAULT_EVERY
    # Jitter of a tenth of the interval, at most a minute: never enough to reorder two cycles.
    return IntervalTrigger(seconds=every, jitter=min(every / 10, MAX_JITTER))


def describe_schedule(schedule: ScheduleSettings) -> str:
    if schedule.cron:
        return f"cron '{schedule.cron}'"
    return f"every {schedule.every or DEFAULT_EVERY:g} s"


def misfire_grace(schedule: ScheduleSettings) -> int:
    """How late a run may start and still run (a busy or suspended machine); later ones coalesce."""
    every = schedule.every or (None if schedule.cron else DEFAULT_EVERY)
    return max(1, int(every / 2)) if every else 300


@dataclass
class CycleJob:
    """One scheduled run: re-read the config (keeping the last good one), run a cycle, log the next."""

    config_path: Path
    config: Config
    stop: threading.Event
    scheduler: BackgroundScheduler | None = None
    # Held while a run is under way. APScheduler's shutdown(wait=True) holds its job-store lock
    # while it waits for running jobs, so a job that asked the scheduler anything then would
    # deadlock: the daemon waits on this lock first, and a run that starts after `stop` does nothing.
    running: threading.Lock = field(default_factory=threading.Lock)
    fatal: str | None = None  # why the daemon must stop (an unusable database or output directory)

    def __call__(self) -> None:
        with self.running:
            if not self.stop.is_set():
                self._run()

    def _run(self) -> None:
        from .cycle import run_cycle

        self._reload()
        try:
            report = run_cycle(self.config, stop=self.stop)
        except LockHeld as exc:
            log.warning("skipping this cycle: %s", exc)
        except AggregatorError as exc:
            # The database or the output directory is unusable: every later cycle would fail too.
            log.debug("fatal error in the cycle", exc_info=True)
            self.fatal = str(exc)
            self.stop.set()
        except Exception:  # one bad cycle must not end the daemon; the next one may work
            log.exception("the cycle failed")
        else:
            log.info(
                "cycle done%s: %d ok, %d not modified, %d failed, %d not due; %d new, %d updated entries; %.1f s",
                " (interrupted)" if report.interrupted else "", report.ok,
                report.not_modified + report.unchanged, report.failed, report.skipped,
                report.new_entries, report.updated_entries, report.seconds,
            )  # fmt: skip
        self._log_next_run()

    def _reload(self) -> None:
        try:
            fresh = load_config(self.config_path)
        except ConfigError as exc:
            log.error("keeping the last good config: %s", exc)
            return
        if fresh.schedule != self.config.schedule and self.scheduler is not None:
            log.info("schedule changed to %s", describe_schedule(fresh.schedule))
            self.scheduler.reschedule_job(JOB_ID, trigger=make_trigger(fresh.schedule))
        self.config = fresh

    def _log_next_run(self) -> None:
        job = self.scheduler.get_job(JOB_ID) if self.scheduler is not None else None
        if job is None or job.next_run_time is None or self.stop.is_set():
            return
        next_run: dt.datetime = job.next_run_time
        log.info("next cycle at %s", next_run.isoformat(timespec="seconds"), extra={"next_run": next_run.isoformat()})


def run_scheduler(config: Config, config_path: Path, stop: threading.Event | None = None) -> int:
    """Run cycles on the config's schedule until SIGTERM/SIGINT (or `stop` is set); returns 0.

    The first cycle starts at once. On a signal the running cycle stops after the feeds already
    fetched are stored, publishes, and releases the lock; then this returns."""
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": misfire_grace(config.schedule)}
    )
    job = CycleJob(config_path=config_path, config=config, stop=stop, scheduler=scheduler)
    scheduler.add_job(
        job,
        trigger=make_trigger(config.schedule),
        id=JOB_ID,
        name="aggregator cycle",
        next_run_time=dt.datetime.now(dt.timezone.utc),
    )
    signals = StopOnSignals(stop, log_message="received %s: finishing the running cycle, then exiting")
    log.info("scheduler started: %s; config %s", describe_schedule(config.schedule), config_path)
    scheduler.start()
    try:
        # A timed wait: the main thread must wake up for the signal handler to run.
        while not stop.wait(0.5):
            pass
        log.info("stopping: waiting for the running cycle to store, publish and release the lock")
    finally:
        stop.set()
        with job.running:
            pass  # the running cycle has finished; later runs see `stop` and return at once
        scheduler.shutdown(wait=True)
        signals.restore()
    if job.fatal is not None:
        log.error("stopped: %s", job.fatal)
        return EXIT_FATAL
    log.info("stopped")
    return 0
