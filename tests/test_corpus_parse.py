"""Every file of the shared real-feed corpus through parse_feed: a ParsedFeed or a ParseError, nothing else.
Per folder, not per file, to keep the test count readable; failures name the files.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from aggregator.models import ParsedFeed, ParseError
from aggregator.parse import parse_feed


from shared_files import CORPUS, where_looked

_NOT_TEST_FILES = {"MANIFEST.tsv", "NOTICE.md", "LICENSE.txt"}


def _files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in _NOT_TEST_FILES)


FILES = _files()
FOLDERS = sorted({p.parent.relative_to(CORPUS).as_posix() for p in FILES})
PARSE_ERRORS: Counter[str] = Counter()
FOLDERS_RUN: set[str] = set()

_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)


def test_corpus_is_present() -> None:
    assert CORPUS.is_dir(), f"feed corpus not found at {CORPUS} (looked for shared/ in: {where_looked()})"
    assert len(FILES) > 4000, f"expected ~4,120 corpus files in {CORPUS}, found {len(FILES)}"


def _strings(feed: ParsedFeed) -> list[str]:
    values: list[str | None] = [feed.title, feed.site_link, feed.language, feed.warning]
    for entry in feed.entries:
        values += [entry.key, entry.original_id, entry.link, entry.title, entry.content_html, entry.summary_html,
                   entry.author, entry.language, *entry.categories]  # fmt: skip
    return [v for v in values if v]


def _check(path: Path, feed: ParsedFeed) -> list[str]:
    problems: list[str] = []
    for entry in feed.entries:
        if entry.link is not None and not entry.link.startswith(("http://", "https://")):
            problems.append(f"non-http link {entry.link!r}")
        for date in (entry.published, entry.updated):
            if date is not None and date.utcoffset() is None:
                problems.append("naive datetime")
    for value in _strings(feed):
        try:
            etree.Element("x").text = value
        except ValueError as exc:
            problems.append(f"not XML-safe ({exc}): {value[:80]!r}")
    if "/sanitize/" in f"/{path.relative_to(CORPUS).as_posix()}":
        for entry in feed.entries:
            for value in (entry.content_html, entry.summary_html):
                lowered = value.lower()
                for needle in ("<script", "javascript:", "<iframe"):
                    if needle in lowered:
                        problems.append(f"{needle} survived: {value[:120]!r}")
                if _HANDLER.search(value):
                    problems.append(f"event handler survived: {value[:120]!r}")
            for value in (entry.title, entry.author or "", *entry.categories):
                if "<script" in value.lower():
                    problems.append(f"<script in text field: {value[:120]!r}")
    return problems


@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_folder(folder: str) -> None:
    FOLDERS_RUN.add(folder)
    failures: list[str] = []
    for path in (p for p in FILES if p.parent.relative_to(CORPUS).as_posix() == folder):
        name = path.relative_to(CORPUS).as_posix()
        try:
            feed = parse_feed(path.read_bytes(), {}, f"https://example.org/{name}")
        except ParseError as exc:
            PARSE_ERRORS[folder] += 1
            assert isinstance(str(exc), str)
            continue
        except BaseException as exc:  # noqa: BLE001 -- the point is to catch anything that escapes
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
            continue
        if not isinstance(feed, ParsedFeed):
            failures.append(f"{name}: returned {type(feed).__name__}")
            continue
        failures += [f"{name}: {problem}" for problem in _check(path, feed)]
    assert not failures, "\n".join(failures[:50])


def test_corpus_parse_error_report() -> None:
    """Not a check: prints how many files per top-level folder were judged not a usable feed."""
    if not PARSE_ERRORS:
        pytest.skip("run together with test_corpus_folder to get the report")
    by_source: Counter[str] = Counter()
    for folder, count in PARSE_ERRORS.items():
        by_source[folder.split("/")[0]] += count
    # A warning, because pytest shows those in its summary even with -q; print() would be swallowed.
    seen = sum(1 for p in FILES if p.parent.relative_to(CORPUS).as_posix() in FOLDERS_RUN)
    where = f" (the folders this xdist worker ran: {seen} files)" if os.environ.get("PYTEST_XDIST_WORKER") else ""
    warnings.warn(f"ParseError: {sum(by_source.values())} of {len(FILES)} corpus files{where}: {dict(by_source)}",
                  stacklevel=1)  # fmt: skip
