"""Check published Atom output the way real readers see it.

Four independent checks, for the project's tests:

* ``validate_atom(path)``: RFC 4287 RELAX NG compact schema, validated with Debian's ``jing``.
* ``read_with_newsboat(path_or_url)``: the Debian terminal reader newsboat, run headless
  (``-x reload``) in a throw-away HOME, then its SQLite cache read back.
* ``read_with_node(path)``: the npm parser ``@rowanmanning/feed-parser`` via tests/js/read_feed.mjs.
* ``read_with_feedparser(path)``: Python's feedparser (the library the aggregator itself uses).

Nothing here skips: a missing tool (jing, newsboat, node, tests/js/node_modules, the schema)
raises ``ReaderToolMissing`` (an AssertionError) naming the fix, which is
``bash .ci/install-test-tools.sh``. CI installs all of them, so a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import feedparser

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
JS_DIR = TESTS_DIR / "js"
READ_FEED_JS = JS_DIR / "read_feed.mjs"
INSTALL_HINT = "run `bash .ci/install-test-tools.sh` (as root) to install the test tools"

# jing's Debian wrapper prints these classpath warnings on stderr on every run; they are noise.
_JING_NOISE_PREFIX = "[warning] /usr/bin/jing: Unable to locate"


class ReaderToolMissing(AssertionError):
    """A tool a reader check needs is not installed. Raised instead of skipping."""


class ReaderFailed(AssertionError):
    """The reader ran but could not read the document (or crashed)."""


def atom_schema_path() -> Path:
    """The RFC 4287 RNC schema from the shared folder (see tests/shared_files.py)."""
    from shared_files import atom_schema, where_looked

    path = atom_schema()
    if not path.is_file():
        raise ReaderToolMissing(
            f"Atom RELAX NG schema not found at {path} (looked for shared/ in: {where_looked()}; "
            "set AGGREGATOR_SHARED or AGGREGATOR_ATOM_SCHEMA)"
        )
    return path


def _require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ReaderToolMissing(f"`{name}` is not on PATH; {INSTALL_HINT}")
    return found


# --------------------------------------------------------------------------------------------
# jing


def validate_atom(*paths: str | os.PathLike[str]) -> None:
    """Validate Atom documents against RFC 4287's RELAX NG schema with ``jing -c`` (one run for all).

    Returns None when every one is valid; raises AssertionError carrying jing's messages when not.
    """
    jing = _require_tool("jing")
    schema = atom_schema_path()
    docs = [Path(p) for p in paths]
    if not docs:
        raise AssertionError("validate_atom: no documents given")
    for doc in docs:
        if not doc.is_file():
            raise AssertionError(f"validate_atom: no such file {doc}")
    doc = docs[0] if len(docs) == 1 else f"{len(docs)} documents ({docs[0].parent})"
    proc = subprocess.run(
        [jing, "-c", str(schema), *map(str, docs)],
        capture_output=True,
        text=True,
        timeout=120 + len(docs),
        stdin=subprocess.DEVNULL,
    )
    stderr = "\n".join(
        line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(_JING_NOISE_PREFIX)
    )
    messages = "\n".join(part for part in (proc.stdout.strip(), stderr) if part)
    if proc.returncode != 0:
        raise AssertionError(f"{doc} is not valid Atom (RFC 4287 RNC, jing exit {proc.returncode}):\n{messages}")
    if proc.stdout.strip():  # jing exits 0 only when valid, but be strict about unexpected output
        raise AssertionError(f"jing exited 0 but reported on {doc}:\n{messages}")


# --------------------------------------------------------------------------------------------
# newsboat


def _to_url(path_or_url: str | os.PathLike[str]) -> str:
    text = os.fspath(path_or_url)
    if text.startswith(("http://", "https://", "file://")):
        return text
    path = Path(text).resolve()
    if not path.is_file():
        raise AssertionError(f"read_with_newsboat: no such file {path}")
    return path.as_uri()


def read_with_newsboat_full(path_or_url: str | os.PathLike[str], *, timeout: float = 60) -> dict[str, Any]:
    """Like ``read_with_newsboat`` but also returns the feed row.

    Returns ``{"feed": {"rssurl", "url", "title", "is_rtl", "etag", "lastmodified"},
    "entries": [...as read_with_newsboat...], "error_log": str}``.
    """
    newsboat = _require_tool("newsboat")
    url = _to_url(path_or_url)
    with tempfile.TemporaryDirectory(prefix="newsboat-") as tmp:
        work = Path(tmp)
        home = work / "home"
        for sub in ("home", "config", "data", "cache", "state"):
            (work / sub).mkdir()
        urls = work / "urls"
        urls.write_text(url + "\n", encoding="utf-8")
        config = work / "config.newsboat"
        error_log = work / "error.log"
        config.write_text(
            "\n".join(
                [
                    f'error-log "{error_log}"',
                    "reload-threads 1",
                    "download-timeout 20",
                    "download-retries 1",
                    'user-agent "aggregator-tests/newsboat"',
                    "",
                ]
            ),
            encoding="utf-8",
        )
        cache = work / "cache.db"
        # A clean environment: no proxies (only the given URL is fetched, loopback or file), no
        # user config, TERM=dumb since -x reload never draws the UI (no TTY needed).
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_DATA_HOME": str(work / "data"),
            "XDG_CACHE_HOME": str(work / "cache"),
            "XDG_STATE_HOME": str(work / "state"),
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "no_proxy": "*",
            "NO_PROXY": "*",
        }
        proc = subprocess.run(
            [newsboat, "-u", str(urls), "-c", str(cache), "-C", str(config), "-x", "reload"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
        )
        log = error_log.read_text(encoding="utf-8", errors="replace") if error_log.exists() else ""
        detail = f"exit {proc.returncode}\nstdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}\nerror-log: {log.strip()}"
        if proc.returncode != 0:
            raise ReaderFailed(f"newsboat failed on {url}: {detail}")
        if not cache.exists():
            raise ReaderFailed(f"newsboat wrote no cache for {url}: {detail}")
        con = sqlite3.connect(cache)
        try:
            con.row_factory = sqlite3.Row
            feed_row = con.execute(
                "SELECT rssurl, url, title, is_rtl, etag, lastmodified FROM rss_feed WHERE rssurl = ?", (url,)
            ).fetchone()
            if feed_row is None:
                # newsboat exits 0 even when it cannot fetch or parse; the error log says why
                raise ReaderFailed(f"newsboat could not read {url}: {detail}")
            # newsboat inserts items last-to-first, so descending rowid is document order
            rows = con.execute(
                "SELECT guid, title, author, url, content, pubDate, enclosure_url, enclosure_type, base, unread "
                "FROM rss_item WHERE feedurl = ? AND deleted = 0 ORDER BY id DESC",
                (url,),
            ).fetchall()
        finally:
            con.close()
    entries = [
        {
            "guid": r["guid"],
            "title": r["title"],
            "link": r["url"],
            "author": r["author"],
            "content": r["content"],
            "pubDate": r["pubDate"],
            "pubDate_iso": datetime.fromtimestamp(r["pubDate"], tz=timezone.utc).isoformat(),
            "enclosure_url": r["enclosure_url"] or "",
            "enclosure_type": r["enclosure_type"] or "",
            "base": r["base"],
        }
        for r in rows
    ]
    return {"feed": dict(feed_row), "entries": entries, "error_log": log}


def read_with_newsboat(path_or_url: str | os.PathLike[str], *, timeout: float = 60) -> list[dict[str, Any]]:
    """Read a feed with newsboat (``-x reload``, headless, isolated) and return its cached items.

    ``path_or_url`` is a file path (turned into file://) or an http(s)://127.0.0.1 URL.
    Each entry: ``guid, title, link, author, content, pubDate`` (int, Unix seconds, UTC),
    ``pubDate_iso``, ``enclosure_url``, ``enclosure_type``, ``base``; in document order.
    Raises ReaderFailed when newsboat could not read the feed at all.
    """
    return read_with_newsboat_full(path_or_url, timeout=timeout)["entries"]


# --------------------------------------------------------------------------------------------
# node: @rowanmanning/feed-parser


def read_with_node(path: str | os.PathLike[str], *, timeout: float = 60) -> dict[str, Any]:
    """Parse a feed file with the npm package @rowanmanning/feed-parser (tests/js/read_feed.mjs).

    Returns ``{"parser": {"name", "version"}, "feed": {title, description, url, self, language,
    published, updated, copyright, generator, image, authors, categories, meta}, "entries": [{id,
    title, link, author, authors, categories, category_objects, published, updated, content,
    summary, image, media}]}``; dates are ISO 8601 UTC strings ("...Z") or None.
    Raises ReaderFailed when the parser rejects the document.
    """
    node = _require_tool("node")
    if not (JS_DIR / "node_modules" / "@rowanmanning" / "feed-parser").is_dir():
        raise ReaderToolMissing(f"{JS_DIR}/node_modules is not installed; {INSTALL_HINT} (npm ci --prefix tests/js)")
    doc = Path(path).resolve()
    if not doc.is_file():
        raise AssertionError(f"read_with_node: no such file {doc}")
    proc = subprocess.run(
        [node, str(READ_FEED_JS), str(doc)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=JS_DIR,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise ReaderFailed(f"@rowanmanning/feed-parser could not read {doc} (exit {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------------------------
# Python feedparser


def read_with_feedparser(path: str | os.PathLike[str], *, allow_bozo: bool = False) -> feedparser.FeedParserDict:
    """Parse a feed file with feedparser and return its FeedParserDict.

    Raises AssertionError if feedparser flags the document as malformed (``bozo``), unless
    ``allow_bozo`` is True.
    """
    doc = Path(path)
    if not doc.is_file():
        raise AssertionError(f"read_with_feedparser: no such file {doc}")
    parsed = feedparser.parse(doc.read_bytes())
    if parsed.get("bozo") and not allow_bozo:
        raise ReaderFailed(f"feedparser flagged {doc} as malformed: {parsed.get('bozo_exception')!r}")
    return parsed
