"""Shared fixtures: a real feed server on 127.0.0.1, config files in tmp_path, the CLI in-process."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from feedserver import FeedServer
from shared_files import CORPUS, where_looked  # noqa: F401 (re-exported to tests)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FEED_DATA = TESTS / "data" / "feeds"

ATOM_NS = "{http://www.w3.org/2005/Atom}"

# The config parse cache (config.parse_cache_dir) of this test run, not the user's ~/.cache; every
# process the tests start inherits it: the xdist workers, the aggregator commands, and the worker
# processes that import a test module for its parse function (they end with os._exit, so they
# must not make a folder of their own: nothing would remove it). The run's first process removes it.
_CACHE_PREFIX = "aggregator-test-cache-"
if Path(os.environ.get("XDG_CACHE_HOME", "")).name.startswith(_CACHE_PREFIX):
    _CACHE_HOME = os.environ["XDG_CACHE_HOME"]
else:
    _CACHE_HOME = tempfile.mkdtemp(prefix=_CACHE_PREFIX)
    os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
    # The temporary files of the processes started from here go in it too: an xdist worker ends
    # with os._exit, before multiprocessing removes its fork server's pymp-* folder.
    os.environ["TMPDIR"] = os.path.join(_CACHE_HOME, "tmp")
    os.makedirs(os.environ["TMPDIR"])
    atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def write_config(directory: Path, feeds: list[dict[str, Any]], **overrides: Any) -> Path:
    """A feeds.yaml in `directory` with two regions and the given feeds."""
    data: dict[str, Any] = {
        "title": "Test World News",
        "base_url": "https://feeds.example.org/",
        "regions": {"europe": "Europe", "asia": "Asia", "africa": "Africa"},
        "fetch": {"timeout": 5, "max_bytes": 2_000_000, "concurrency": 8},
        "feeds": feeds,
    }
    data.update(overrides)
    path = directory / "feeds.yaml"
    with path.open("w", encoding="utf-8") as f:
        YAML().dump(data, f)
    return path


def feed_entry(url: str, name: str, region: str = "europe", country: str = "GB", language: str = "en",
               **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"url": url, "name": name, "region": region, "country": country, "language": language, **extra}


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str | os.PathLike[str]) -> CliResult:
    """Run `aggregator ARGS` in this process (fast), capturing its output."""
    from aggregator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str | os.PathLike[str], timeout: float = 120, **kwargs: Any) -> CliResult:
    """Run `python -m aggregator ARGS` as a separate process (for exit codes, signals, locks)."""
    proc = subprocess.run(
        [sys.executable, "-m", "aggregator", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def modules_loaded_by_cli(modules: list[str], *args: str | os.PathLike[str], timeout: float = 120) -> tuple[int, list[str]]:
    """Run `aggregator ARGS` in a fresh interpreter; its exit code and which of `modules` it loaded
    (lazy imports: what a command never needs it must not load)."""
    code = (
        "import sys; from aggregator.cli import main; code = main(sys.argv[2:]);"
        " print(code, *[m for m in sys.argv[1].split(',') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code, ",".join(modules), *[str(a) for a in args]],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    exit_code, *loaded = proc.stdout.strip().splitlines()[-1].split()
    return int(exit_code), loaded
