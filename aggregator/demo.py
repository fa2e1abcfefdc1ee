"""`aggregator demo`: the whole job on sample feeds shipped in the package, served on 127.0.0.1.

It needs no internet and writes only inside its own folder (config, database and public/), which
it marks as its own (.aggregator-demo): it refuses any other non-empty folder.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import importlib.resources
import json
import re
import socketserver
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .config import load_config
from .cycle import run_cycle
from .errors import UsageError
from .models import StoryQuery
from .outputs import output_paths
from .store import Store

DEMO_PORT = 48765  # fixed when free, so the feed URLs (and the database's feeds) stay the same
CONTENT_TYPES = {".xml": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8",
                 ".rdf": "application/rdf+xml; charset=utf-8"}  # fmt: skip


def demo_feed_files() -> dict[str, bytes]:
    folder = importlib.resources.files("aggregator") / "demo_feeds"
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.is_file() and item.name.endswith((".xml", ".atom", ".rdf"))
    }


def demo_config_template() -> str:
    return (importlib.resources.files("aggregator") / "demo_feeds" / "demo.yaml").read_text(encoding="utf-8")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@contextlib.contextmanager
def serve_demo_feeds(ports: tuple[int, ...] = (DEMO_PORT,)) -> Iterator[str]:
    """Serve the sample feeds with ETag and Last-Modified, as a well-behaved site would."""
    files = demo_feed_files()
    last_modified = email.utils.formatdate(1764547200, usegmt=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/").split("?")[0]
            body = files.get(name)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPES.get(Path(name).suffix, "application/xml"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            self.wfile.write(body)

    server = None
    for port in (*ports, 0):  # 0: any free port, as a last resort
        try:
            server = _Server(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    assert server is not None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


MARKER = ".aggregator-demo"  # in a directory the demo made: it may write there again
DEMO_FILES = {"feeds.yaml", "aggregator.db", "aggregator.db-wal", "aggregator.db-shm", "aggregator.db.lock", "public", MARKER}
_BASE = re.compile(r"http://127\.0\.0\.1:(\d+)(?=/)")


def is_demo_config(config_path: Path) -> bool:
    """Whether a config is the one `aggregator demo` wrote (its directory holds the marker)."""
    return (config_path.parent / MARKER).is_file()


def _claim(directory: Path) -> dict[str, str]:
    """Make sure the demo may write in `directory`; returns the marker's record of the last run.

    A new or empty directory is the demo's from now on (the marker says so); one with the marker
    is an earlier demo's. Anything else is refused: the demo never writes over what it did not make."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--dir {directory} is a file, not a directory")
    marker = directory / MARKER
    if marker.is_file():
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(record, dict) else {}
    present = {p.name for p in directory.iterdir()} if directory.exists() else set()
    config = directory / "feeds.yaml"
    # A demo directory from before the marker existed: only the demo's files, and its config.
    legacy = present <= DEMO_FILES and config.is_file() and "\ntitle: Socialist World News (demo)\n" in config.read_text(
        encoding="utf-8", errors="replace")  # fmt: skip
    if present and not legacy:
        raise UsageError(
            f"--dir {directory} is not empty and no earlier `aggregator demo` made it (it has no {MARKER} file):"
            " the demo writes a config, a database and public/ there and would overwrite what is yours;"
            " give a new or empty directory, e.g. --dir aggregator-demo"
        )
    directory.mkdir(parents=True, exist_ok=True)
    _write_marker(directory, {})
    return {}


def _write_marker(directory: Path, record: dict[str, str]) -> None:
    text = json.dumps({"made_by": "aggregator demo", **record}, indent=2) + "\n"
    (directory / MARKER).write_text(text, encoding="utf-8")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _move_feed_urls(database: Path, old_base: str, new_base: str) -> None:
    """The sample server got another port: move the stored feeds to it, so that their entries,
    picks and unmerges stay theirs (a feed whose URL left the config would take its stories out)."""
    if not database.exists():
        return
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        with db:
            for table, column in (("feeds", "url"), ("entries", "feed_url"), ("tombstones", "feed_url")):
                db.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                    (new_base, len(old_base) + 1, len(old_base), old_base),
                )  # fmt: skip


def run_demo(directory: Path, quiet: bool = False) -> int:
    """Run the demo in `directory`: its config, database and public/ (see README, "Demo").

    The first run writes the config; later runs keep the database (picks, unmerges) and keep a
    config the user edited. The sample server takes the port the config names when it is free,
    else DEMO_PORT, else any free port; if that differs from the config's, the config's feed URLs
    and the database's feeds move to the new port (nothing else in the config changes)."""
    directory = directory.resolve()
    record = _claim(directory)
    config_path = directory / "feeds.yaml"
    previous = config_path.read_text(encoding="utf-8") if config_path.exists() else None
    used = _BASE.search(previous or "")
    old_base = used.group(0) if used else None
    ports = (int(used.group(1)), DEMO_PORT) if used else (DEMO_PORT,)
    notes: list[str] = []
    with serve_demo_feeds(ports) as base:
        template = demo_config_template().replace("{base}", base)
        unedited = previous is not None and (
            record.get("config_sha256") == _digest(previous)
            or (old_base is not None and previous == demo_config_template().replace("{base}", old_base))
        )
        if previous is None or unedited:
            text = template  # the demo's own config, unedited: this version's template
        else:
            text = previous  # edited by hand (or from before the marker): kept as it is
            notes.append(f"{config_path} differs from the one the demo wrote: it is used as it is")
            if old_base is not None and old_base != base:
                text = text.replace(old_base + "/", base + "/")
                notes.append(f"its feed URLs moved from {old_base} to {base} (that port was busy)")
        if old_base is not None and old_base != base:
            _move_feed_urls(directory / "aggregator.db", old_base, base)
        if text != previous:
            config_path.write_text(text, encoding="utf-8")
        _write_marker(directory, {"config_sha256": _digest(text) if text == template else record.get(
            "config_sha256", ""), "base": base})  # fmt: skip
        config = load_config(config_path)
        report = run_cycle(config, force_all=True)

    if quiet:
        return 0
    for note in notes:
        print(f"demo: {note}")
    print(f"demo: {len(config.feeds)} sample feeds served from {base} (only while the demo runs)")
    print(report.summary())
    print(f"\nconfig:   {config_path}")
    print(f"database: {config.database}")
    print("outputs:")
    for path in output_paths(config):
        print(f"  {config.output_dir / path}")
    with Store.open(config.database) as store:
        stories = store.stories(StoryQuery(limit=8)).stories
    print("\nnewest stories:")
    for story in stories:
        p = story.primary
        also = f"  (also: {', '.join(c.feed_name for c in story.copies[1:])})" if len(story.copies) > 1 else ""
        print(f"  s{story.id}  {story.published:%Y-%m-%d %H:%M}  [{', '.join(story.regions)}]  {p.feed_name}: {p.title}{also}")
    print(f"\nOpen {config.output_dir / 'index.html'} in a browser, or subscribe to {config.output_dir / 'feed.atom'}.")
    if stories:
        print(f"See why a story is one story: aggregator story s{stories[0].id} -c {config_path}")
    return 0
