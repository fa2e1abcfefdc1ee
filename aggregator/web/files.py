"""The published files under output_dir, each at its path (/feed.atom, /regions/asia.atom...), with
the media type the outputs registry gives it (else mimetypes'), ETag and Last-Modified, and 304s.

Only regular files inside output_dir; no dotfiles, no publish's temporary files."""

from __future__ import annotations

import datetime as dt
import mimetypes
import threading
from pathlib import Path

from flask import Blueprint, Response, abort
from werkzeug.security import safe_join

from ..outputs import media_type_of
from .common import config
from .http import conditional, etag_of

bp = Blueprint("files", __name__)
_etags: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, etag)
_lock = threading.Lock()


def media_type(path: str) -> str:
    known = media_type_of(path)
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path)
    if guessed is None:
        return "application/octet-stream"
    return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")


@bp.get("/<path:path>")
def output_file(path: str) -> Response:
    if any(part.startswith(".") for part in path.split("/")) or ".tmp" in path:
        abort(404)
    root = config().output_dir
    joined = safe_join(str(root), path)
    if joined is None:
        abort(404)
    file = Path(joined)
    try:
        stat = file.stat()
        if not file.is_file():
            abort(404)
        body = file.read_bytes()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        abort(404)
    with _lock:
        cached = _etags.get(joined)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            tag = cached[2]
        else:
            tag = etag_of(body)
            _etags[joined] = (stat.st_mtime_ns, stat.st_size, tag)
    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc)
    return conditional(body, media_type(path), last_modified=modified, etag=tag)


