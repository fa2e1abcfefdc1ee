"""Disk and permission failures while publishing: a read-only output directory, an output path that
cannot be a directory, a full disk. Each gives exit status 1 and one line naming the path (no
traceback), leaves the previously published files exactly as they were, and the database intact.

Tests run as root in CI, where chmod stops nothing: read-only and full are made real with a
read-only bind mount / a tiny tmpfs (when the container allows mounts), the immutable flag, or
RLIMIT_FSIZE (always available: writes past the limit fail with EFBIG)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FEED_DATA, CliResult, feed_entry, write_config
from feedserver import FeedServer
from readers import validate_atom


def run_process(*args: str | os.PathLike[str], fsize_limit: int | None = None) -> CliResult:
    def limit() -> None:
        if fsize_limit is not None:
            # Without this, exceeding the limit kills the process with SIGXFSZ instead of EFBIG.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    proc = subprocess.run(
        [sys.executable, "-m", "aggregator", *[str(a) for a in args]],
        capture_output=True, text=True, timeout=120, preexec_fn=limit,
    )  # fmt: skip
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def snapshot(public: Path) -> dict[str, bytes]:
    return {str(p.relative_to(public)): p.read_bytes() for p in sorted(public.rglob("*")) if p.is_file()}


def assert_clear_failure(result: CliResult, path_fragment: str) -> None:
    assert result.code == 1, (result.code, result.err)
    assert "Traceback" not in result.err
    assert "unexpected error" not in result.err, result.err
    assert path_fragment in result.err, result.err
    assert result.err.startswith("aggregator: "), result.err


def assert_database_intact(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def setup_published(tmp_path: Path, server: FeedServer, **overrides: object) -> Path:
    """A first normal cycle (2 feeds), so there are outputs to keep intact; then a third feed appears."""
    feeds = [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "WP Party"),
        feed_entry(server.add("/ta.xml", FEED_DATA / "tamil.xml"), "Tamil Party", region="asia", country="LK",
                   language="ta"),
    ]  # fmt: skip
    config = write_config(tmp_path, feeds, **overrides)
    first = run_process("fetch", "-q", "-c", config)
    assert first.code == 0, first.err
    feeds.append(feed_entry(server.add("/hi.xml", FEED_DATA / "hindi.xml"), "Hindi Party", region="asia",
                            country="IN", language="hi"))  # fmt: skip
    write_config(tmp_path, feeds, **overrides)
    return config


def long_items(count: int, words: int = 400) -> bytes:
    """RSS items with long, distinct bodies (distinct enough that dedupe keeps them apart)."""
    import random

    vocabulary = [f"w{n}" for n in range(5000)]
    out = []
    for i in range(count):
        rng = random.Random(i)
        body = " ".join(rng.choice(vocabulary) for _ in range(words)).encode()
        out.append(
            b"<item><title>Long story %d</title><link>https://wp.example.org/long/%d</link><guid>long-%d</guid>"
            b"<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate><description>%s</description></item>" % (i, i, i, body)
        )
    return b"".join(out)


def with_items(path: Path, items: bytes) -> bytes:
    return path.read_bytes().replace(b"</channel>", items + b"</channel>")


def no_temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*.tmp")]


# --------------------------------------------------------------------------- mechanisms


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[str]:
    """Make `directory` (and everything under it) really read-only, even for root."""
    if os.geteuid() != 0:
        dirs = [directory, *[p for p in directory.rglob("*") if p.is_dir()]]
        for d in dirs:
            d.chmod(0o555)
        try:
            yield "chmod 0555"
        finally:
            for d in dirs:
                d.chmod(0o755)
        return
    bind = subprocess.run(["mount", "--bind", str(directory), str(directory)], capture_output=True)
    if bind.returncode == 0:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], capture_output=True)
        try:
            if ro.returncode == 0:
                yield "read-only bind mount"
                return
        finally:
            subprocess.run(["umount", str(directory)], check=True)
    dirs = [directory, *[p for p in directory.rglob("*") if p.is_dir()]]
    if subprocess.run(["chattr", "+i", *map(str, dirs)], capture_output=True).returncode == 0:
        try:
            yield "immutable flag"
        finally:
            subprocess.run(["chattr", "-i", *map(str, dirs)], check=True)
        return
    pytest.skip("running as root without mount or chattr permission: nothing can make a directory read-only")


@contextlib.contextmanager
def tiny_filesystem(directory: Path, size: str) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); test_full_disk_rlimit covers EFBIG")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


# --------------------------------------------------------------------------- tests


def test_read_only_output_directory(tmp_path: Path, feed_server: FeedServer) -> None:
    config = setup_published(tmp_path, feed_server)
    public = tmp_path / "public"
    before = snapshot(public)
    entries_before = assert_database_intact(tmp_path / "aggregator.db")

    with read_only(public) as how:
        result = run_process("fetch", "--all", "-q", "-c", config)
        assert snapshot(public) == before, f"previous outputs changed under a {how}"

    assert_clear_failure(result, str(public / "feed.atom"))
    # The cycle stored what it fetched before publishing failed; the next cycle publishes it.
    assert assert_database_intact(tmp_path / "aggregator.db") > entries_before
    assert run_process("fetch", "--all", "-q", "-c", config).code == 0
    assert snapshot(public) != before
    validate_atom(public / "feed.atom")


def test_output_directory_below_a_regular_file(tmp_path: Path, feed_server: FeedServer) -> None:
    (tmp_path / "blocker").write_text("I am a file, not a directory\n")
    config = setup_published(tmp_path, feed_server)
    write_config(tmp_path, [feed_entry(feed_server.url("/wp.xml"), "WP Party")], output_dir="blocker/public")

    result = run_process("fetch", "--all", "-q", "-c", config)

    assert_clear_failure(result, str(tmp_path / "blocker" / "public"))
    assert "Not a directory" in result.err
    assert (tmp_path / "blocker").read_text() == "I am a file, not a directory\n"
    assert_database_intact(tmp_path / "aggregator.db")


def test_output_file_path_is_a_directory(tmp_path: Path, feed_server: FeedServer) -> None:
    config = setup_published(tmp_path, feed_server)
    public = tmp_path / "public"
    (public / "index.html").unlink()
    (public / "index.html").mkdir()
    (public / "index.html" / "keep").write_text("x")
    before = snapshot(public)

    result = run_process("fetch", "--all", "-q", "-c", config)

    assert_clear_failure(result, str(public / "index.html"))
    assert (public / "index.html" / "keep").read_text() == "x"
    assert no_temp_files(public) == []
    assert snapshot(public)["index.html/keep"] == before["index.html/keep"]


def test_full_disk_rlimit(tmp_path: Path, feed_server: FeedServer) -> None:
    # One story published, many stored: then `publish` with room for 40 KB per file (the database's
    # shared-memory file needs 32 KB).
    config = setup_published(tmp_path, feed_server, max_entries=1)
    public = tmp_path / "public"
    feed_server.add("/wp.xml", with_items(FEED_DATA / "wordpress_rss2.xml", long_items(30)))
    assert run_process("fetch", "--all", "-q", "-c", config).code == 0
    before = snapshot(public)
    assert max(len(b) for b in before.values()) < 40_000
    config.write_text(config.read_text().replace("max_entries: 1", "max_entries: 100"))

    result = run_process("publish", "-q", "-c", config, fsize_limit=40_000)

    assert_clear_failure(result, str(public / "feed.atom"))
    assert "File too large" in result.err
    assert snapshot(public) == before
    assert no_temp_files(public) == []
    assert_database_intact(tmp_path / "aggregator.db")
    # With room again, the same command succeeds.
    assert run_process("publish", "-q", "-c", config).code == 0
    assert len((public / "feed.atom").read_bytes()) > 40_000
    validate_atom(public / "feed.atom")


def test_full_output_filesystem_during_a_cycle(tmp_path: Path, feed_server: FeedServer) -> None:
    public = tmp_path / "public"
    # Room for the first cycle's files (each feed as Atom and JSON Feed, per region, language and
    # country: about 150 KiB in 4 KiB pages), not for a feed.atom of 100 long stories.
    with tiny_filesystem(public, "256k"):
        config = setup_published(tmp_path, feed_server, max_entries=3)
        before = snapshot(public)
        # Now every stored story is published: the files no longer fit.
        feed_server.add("/wp.xml", with_items(FEED_DATA / "wordpress_rss2.xml", long_items(100)))
        text = config.read_text().replace("max_entries: 3", "max_entries: 100")
        config.write_text(text)

        result = run_process("fetch", "--all", "-q", "-c", config)

        assert_clear_failure(result, str(public))
        assert "No space left on device" in result.err
        assert snapshot(public) == before
        assert no_temp_files(public) == []
    assert assert_database_intact(tmp_path / "aggregator.db") >= 20


def test_full_disk_under_the_database(tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    # Room for the first cycle's database and its WAL (the schema's indexes and search tables take
    # about 0.5 MB of it), not for 300 long stories more.
    with tiny_filesystem(data, "1m"):
        config = setup_published(tmp_path, feed_server, database="data/aggregator.db")
        entries_before = assert_database_intact(data / "aggregator.db")
        public_before = snapshot(tmp_path / "public")
        feed_server.add("/wp.xml", with_items(FEED_DATA / "wordpress_rss2.xml", long_items(300)))

        result = run_process("fetch", "--all", "-q", "-c", config)

        assert_clear_failure(result, str(data / "aggregator.db"))
        assert "full" in result.err
        # The feed that did not fit was rolled back whole; the outputs still show the last good state.
        assert assert_database_intact(data / "aggregator.db") >= entries_before
        assert snapshot(tmp_path / "public") == public_before
