"""Writing files so that no reader ever sees half of one: temp file, fsync, rename, fsync the folder.

The one atomic writer of the package (outputs, OPML exports, the edited feeds.yaml). It knows
nothing of what the bytes are.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import AggregatorError


class OutputError(AggregatorError):
    """A file cannot be written (read-only directory, full disk, a file where a folder should be)."""

    operational = True


def write_atomically(
    path: Path, data: bytes, validate: Callable[[Path], None] | None = None, mode: int = 0o644
) -> bool:
    """Replace `path` with `data`; skip when the content is the same. Returns True when written.

    `validate`, if given, is called with the finished temp file before it replaces `path`: when it
    raises, `path` is left as it was and the exception propagates."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    tmp_name = None
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, mode)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        if validate is not None:
            validate(Path(tmp_name))
        try:
            os.replace(tmp_name, path)
            tmp_name = None
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return True


def remove_stale_temp_files(paths: list[Path]) -> None:
    """Temp files a killed writer left beside these paths. Only call this under the cycle lock: a
    running publish's own temp files look the same."""
    for path in paths:
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            try:
                stale.unlink()
            except OSError:
                pass
