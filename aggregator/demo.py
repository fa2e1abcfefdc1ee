"""`aggregator demo`: the whole job on sample feeds shipped in the package, served on 127.0.0.1.

It needs no internet and writes only inside its own folder (config, database and public/).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import importlib.resources
import re
import shutil
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

from .config import load_config
from .cycle import run_cycle
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


def run_demo(directory: Path, quiet: bool = False) -> int:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "feeds.yaml"
    previous = config_path.read_text(encoding="utf-8") if config_path.exists() else None
    # The previous run's port first, so its database's feed URLs still hold.
    used = re.search(r"http://127\.0\.0\.1:(\d+)/", previous or "")
    ports = (int(used.group(1)), DEMO_PORT) if used else (DEMO_PORT,)
    with serve_demo_feeds(ports) as base:
        text = demo_config_template().replace("{base}", base)
        if previous is not None and previous != text:
            # The server got another port: the old database's feed URLs no longer exist. Start afresh.
            for name in ("aggregator.db", "aggregator.db-wal", "aggregator.db-shm"):
                (directory / name).unlink(missing_ok=True)
            shutil.rmtree(directory / "public", ignore_errors=True)
        config_path.write_text(text, encoding="utf-8")
        config = load_config(config_path)
        report = run_cycle(config, force_all=True)

    if quiet:
        return 0
    print(f"demo: {len(config.feeds)} sample feeds served from {base}")
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
        print(f"  {story.published:%Y-%m-%d %H:%M}  [{', '.join(story.regions)}]  {p.feed_name}: {p.title}{also}")
    print(f"\nOpen {config.output_dir / 'index.html'} in a browser, or subscribe to {config.output_dir / 'feed.atom'}.")
    return 0
