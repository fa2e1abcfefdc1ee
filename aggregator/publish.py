"""Publishing: render every registered output (outputs.py) from the database and write the files
that changed, atomically, so readers polling them never see half a file.

It reads the database only through Store and never fetches. The caller holds the cycle lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .files import OutputError, remove_stale_temp_files, write_atomically
from .models import Config
from .outputs import output_files
from .store import Store

PublishError = OutputError  # an output file cannot be written


@dataclass
class PublishReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the written files' paths under output_dir (URL paths)


def publish(config: Config, store: Store) -> PublishReport:
    """Rebuild every output file from the database alone; only files whose bytes changed are
    rewritten (so their mtime, ETag and a WebSub ping follow real changes); a write-once file
    (a feed archive) that exists is left alone without being rendered."""
    report = PublishReport()
    files = output_files(config, store)
    remove_stale_temp_files([config.output_dir / f.path for f in files])
    for f in files:
        path = config.output_dir / f.path
        if f.write_once and path.exists():
            report.unchanged.append(path)
        elif write_atomically(path, f.render()):
            report.written.append(path)
            report.changed.append(f.path)
        else:
            report.unchanged.append(path)
    return report
