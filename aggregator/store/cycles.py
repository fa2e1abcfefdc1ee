"""The cycle log: one row per cycle, started and (unless killed) finished, for `status`."""

from __future__ import annotations

import datetime as dt

from ..models import CycleRecord, CycleReport
from ..times import to_db_time
from .connection import Database


def start_cycle(db: Database, now: dt.datetime) -> int:
    cursor = db.execute("INSERT INTO cycles (started) VALUES (?)", [to_db_time(now)])
    return int(cursor.lastrowid or 0)


def finish_cycle(db: Database, cycle_id: int, now: dt.datetime, report: CycleReport) -> None:
    db.execute(
        """
        UPDATE cycles SET finished = ?, ok = ?, not_modified = ?, unchanged = ?, failed = ?, skipped = ?,
            new_entries = ?, updated_entries = ?, seconds = ?, interrupted = ?
        WHERE id = ?
        """,
        [
            to_db_time(now), report.ok, report.not_modified, report.unchanged, report.failed,
            report.skipped, report.new_entries, report.updated_entries, report.seconds,
            int(report.interrupted), cycle_id,
        ],
    )  # fmt: skip


def last_finished_cycle(db: Database) -> CycleRecord | None:
    row = next(iter(db.query("SELECT * FROM cycles WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1")), None)
    if row is None:
        return None
    report = CycleReport(
        ok=row["ok"] or 0, not_modified=row["not_modified"] or 0, unchanged=row["unchanged"] or 0,
        failed=row["failed"] or 0, skipped=row["skipped"] or 0, new_entries=row["new_entries"] or 0,
        updated_entries=row["updated_entries"] or 0, seconds=row["seconds"] or 0.0,
        interrupted=bool(row["interrupted"]),
    )  # fmt: skip
    return CycleRecord(
        id=row["id"], started=dt.datetime.fromisoformat(row["started"]),
        finished=dt.datetime.fromisoformat(row["finished"]), report=report,
    )  # fmt: skip
