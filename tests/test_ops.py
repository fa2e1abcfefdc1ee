"""Running it unattended: `status --check` for monitoring, log lines, the progress bar, the Docker
recipe (parsed, and its install step run in a fresh virtualenv) and the deploy docs."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FEED_DATA, REPO, feed_entry, run_cli, run_cli_process, write_config
from feedserver import FeedServer

ANSI = re.compile(r"\x1b\[")


def _three_feeds(tmp_path: Path, server: FeedServer, broken: int = 0) -> Path:
    feeds = [
        feed_entry(server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Wordpress Party"),
        feed_entry(server.add("/tamil.xml", FEED_DATA / "tamil.xml"), "Tamil Party", region="asia",
                   country="LK", language="ta"),
        feed_entry(server.add("/rdf.xml", FEED_DATA / "rss10_rdf.xml"), "Gauche RDF", country="FR", language="fr"),
    ]  # fmt: skip
    for i in range(broken):
        feeds.append(feed_entry(server.add(f"/broken{i}.xml", b"no", status=500, content_type="text/plain"),
                                f"Broken {i}"))  # fmt: skip
    return write_config(tmp_path, feeds)


# ------------------------------------------------------------------ how the command ends

# Runs `aggregator ARGV...` through the console script's entry point, with an exit handler that
# writes one file and an object whose finalizer writes another: the exit handlers must run, the
# interpreter's teardown (which would finalize the object) must not. THREAD starts a non-daemon
# thread that outlives main(): then the process exits as usual, after it.
_ENDING = """
import atexit, sys, threading, time
marks, argv = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(marks + ".atexit", "w").write("ran"))
class Finalized:
    def __del__(self, open=open, marks=marks):  # the builtins are gone by then
        open(marks + ".teardown", "w").write("ran")
kept = Finalized()
if argv[0] == "THREAD":
    argv = argv[1:]
    threading.Thread(target=lambda: (time.sleep(0.3), open(marks + ".thread", "w").write("ran"))).start()
sys.argv = ["aggregator", *argv]
from aggregator.cli import entry_point
entry_point()
"""


def _end_of(tmp_path: Path, *argv: str | Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    marks = tmp_path / "mark"
    proc = subprocess.run([sys.executable, "-c", _ENDING, str(marks), *map(str, argv)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return proc, {p.suffix.lstrip(".") for p in tmp_path.glob("mark.*")}


def test_the_command_runs_its_exit_handlers_and_skips_the_interpreters_teardown(
    tmp_path: Path, feed_server: FeedServer
) -> None:  # fmt: skip
    config = _three_feeds(tmp_path, feed_server, broken=1)
    assert run_cli("fetch", "-c", config).code == 0
    in_process = run_cli("status", "-c", config)
    proc, marks = _end_of(tmp_path, "status", "-c", config)
    # Everything printed reaches the pipe (flushed before the process ends), with the same code.
    assert (proc.returncode, proc.stdout, proc.stderr) == (in_process.code, in_process.out, in_process.err)
    assert "Broken 0" in proc.stdout
    assert marks == {"atexit"}

    # An exit code other than 0 comes through too (every feed failed: 3).
    (tmp_path / "failing").mkdir()
    failing = write_config(tmp_path / "failing", [feed_entry(feed_server.add("/down.xml", b"no", status=500,
                                                                              content_type="text/plain"), "Down")])  # fmt: skip
    proc, _ = _end_of(tmp_path, "fetch", "-q", "-c", failing)
    assert proc.returncode == 3, proc.stderr


def test_a_thread_still_running_at_the_end_is_waited_for(tmp_path: Path) -> None:
    proc, marks = _end_of(tmp_path, "THREAD", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("aggregator ")
    assert marks == {"atexit", "thread", "teardown"}


# ------------------------------------------------------------------ status --check


def test_status_check_is_unhealthy_before_any_cycle(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server)
    result = run_cli("status", "--check", "-c", config)
    assert result.code == 1
    assert "UNHEALTHY: no cycle has finished yet" in result.err


def test_status_check_healthy_then_stale(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server, broken=1)  # 1 of 4 failing: within 0.5
    assert run_cli("fetch", "-c", config).code == 0
    result = run_cli("status", "--check", "-c", config)
    assert (result.code, result.out.strip(), result.err) == (0, "healthy", "")
    assert run_cli("status", "--check", "-q", "-c", config).out == ""

    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        four_hours_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=4)).replace(microsecond=0)
        conn.execute("UPDATE cycles SET finished = ?", [four_hours_ago.isoformat()])
    result = run_cli("status", "--check", "-c", config)
    assert result.code == 1
    assert "more than 3h ago" in result.err
    assert run_cli("status", "--check", "--max-age", "5h", "-c", config).code == 0


def test_status_check_fails_when_too_many_feeds_fail(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server, broken=4)  # 4 of 7 failing
    assert run_cli("fetch", "-c", config).code == 0
    result = run_cli("status", "--check", "-c", config)
    assert result.code == 1
    assert "UNHEALTHY: 4 of 7 enabled feeds are failing" in result.err
    assert run_cli("status", "--check", "--max-failing", "0.6", "-c", config).code == 0
    # Through a real process too, as Docker's HEALTHCHECK runs it.
    assert run_cli_process("status", "--check", "-q", "-c", config).code == 1


def test_a_gone_feed_counts_as_failing_until_the_config_disables_it(tmp_path: Path, feed_server: FeedServer) -> None:
    ok = feed_server.add("/ok.xml", FEED_DATA / "wordpress_rss2.xml")
    gone = feed_server.add("/gone.xml", b"", status=410)
    config = write_config(tmp_path, [feed_entry(ok, "Ok Party"), feed_entry(gone, "Gone Party")])
    assert run_cli("fetch", "-c", config).code == 0
    record = {r["name"]: r for r in json.loads(run_cli("status", "--json", "-c", config).out)}["Gone Party"]
    assert (record["enabled"], record["disabled_by"], record["last_status"]) == (False, "gone", "gone")
    result = run_cli("status", "--check", "--max-failing", "0.4", "-c", config)
    assert result.code == 1 and "1 of 2 enabled feeds are failing" in result.err
    # The operator takes note and disables it: monitoring is green again.
    config = write_config(tmp_path, [feed_entry(ok, "Ok Party"), feed_entry(gone, "Gone Party", enabled=False)])
    assert run_cli("status", "--check", "--max-failing", "0.4", "-c", config).code == 0
    record = {r["name"]: r for r in json.loads(run_cli("status", "--json", "-c", config).out)}["Gone Party"]
    assert (record["enabled"], record["disabled_by"]) == (False, "config")


def test_status_shows_each_feeds_next_due_time(tmp_path: Path, feed_server: FeedServer) -> None:
    busy = feed_server.add("/busy.xml", b"busy", status=503, content_type="text/plain",
                           headers={"Retry-After": "7200"})  # fmt: skip
    ok = feed_server.add("/ok.xml", FEED_DATA / "wordpress_rss2.xml", headers={"Cache-Control": "max-age=10800"})
    config = write_config(tmp_path, [feed_entry(busy, "Busy Party"), feed_entry(ok, "Ok Party"),
                                     feed_entry("https://off.example.org/f", "Off Party", enabled=False)])
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert run_cli("fetch", "-c", config).code == 0
    after = dt.datetime.now(dt.timezone.utc)
    records = {r["name"]: r for r in json.loads(run_cli("status", "--json", "-c", config).out)}
    busy_due = dt.datetime.fromisoformat(records["Busy Party"]["next_due"])
    ok_due = dt.datetime.fromisoformat(records["Ok Party"]["next_due"])
    assert before + dt.timedelta(hours=2) <= busy_due <= after + dt.timedelta(hours=2)
    assert before + dt.timedelta(hours=3) <= ok_due <= after + dt.timedelta(hours=3)
    assert records["Off Party"]["next_due"] is None
    table = run_cli("status", "-c", config).out
    assert "next due" in table
    assert f"{busy_due:%Y-%m-%d %H:%M}" in table and f"{ok_due:%Y-%m-%d %H:%M}" in table


# ------------------------------------------------------------------ logs


def test_log_json_verbose_fetch_prints_one_json_object_per_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server, broken=1)
    result = run_cli_process("--log-json", "-v", "fetch", "-c", config)
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.err.splitlines() if line.strip()]  # every line is JSON
    per_feed = [line for line in lines if "feed_url" in line]
    assert sorted(line["feed_url"] for line in per_feed) == sorted(
        feed_server.url(p) for p in ("/wp.xml", "/tamil.xml", "/rdf.xml", "/broken0.xml")
    )
    outcomes = {line["feed_url"].rsplit("/", 1)[1]: line["outcome"] for line in per_feed}
    assert outcomes == {"wp.xml": "ok", "tamil.xml": "ok", "rdf.xml": "ok", "broken0.xml": "error"}
    for line in per_feed:
        assert line["level"] == "info" and line["logger"] == "aggregator.cycle"
        assert isinstance(line["seconds"], float) and isinstance(line["new"], int)
        dt.datetime.fromisoformat(line["time"])


def test_verbose_logs_one_line_per_feed_and_quiet_logs_none(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server)
    verbose = run_cli_process("fetch", "-v", "-c", config)
    feed_lines = [line for line in verbose.err.splitlines() if " INFO aggregator.cycle: " in line]
    assert len(feed_lines) == 3
    assert any(re.search(r"Tamil Party http://\S+/tamil\.xml: ok, \d+ new, 0 updated, \d+\.\d\ds$", line)
               for line in feed_lines)  # fmt: skip
    quiet = run_cli_process("fetch", "--all", "-q", "-c", config)
    assert quiet.code == 0 and quiet.out == "" and quiet.err == ""
    default = run_cli_process("fetch", "--all", "-c", config)
    assert "INFO" not in default.err and "feeds: 0 ok, 3 not modified" in default.out


# ------------------------------------------------------------------ progress bar


def test_fetch_off_a_terminal_prints_no_progress_bar(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server)
    result = run_cli_process("fetch", "-c", config)
    assert result.code == 0
    assert not ANSI.search(result.err + result.out)
    assert "fetching" not in result.err and "━" not in result.err
    assert result.out.startswith("feeds: 3 ok")


def test_fetch_on_a_terminal_shows_a_progress_bar(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _three_feeds(tmp_path, feed_server)
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "fetch", "-c", str(config)],
                            stdin=follower, stdout=follower, stderr=follower, env=env)  # fmt: skip
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(leader)
        proc.wait(timeout=30)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert ANSI.search(text)
    assert "fetching" in text and "━" in text  # rich's bar
    assert re.search(r"[0-3]/\?|[0-3]/3", text)  # its feeds-done counter
    assert "feeds: 3 ok" in text


# ------------------------------------------------------------------ Docker recipe and deploy docs


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def test_dockerfile_is_small_non_root_with_volume_healthcheck_and_run() -> None:
    instructions = _dockerfile()
    known = {"FROM", "ENV", "COPY", "RUN", "USER", "WORKDIR", "VOLUME", "HEALTHCHECK", "STOPSIGNAL", "CMD",
             "ARG", "LABEL", "EXPOSE", "ENTRYPOINT"}  # fmt: skip
    assert all(word in known for word, _ in instructions), instructions
    words = [w for w, _ in instructions]
    assert words[0] == "FROM" and re.fullmatch(r"python:3\.1[12]-slim(-\w+)?", instructions[0][1])

    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    # Nothing runs as root after the switch, and the user is created before it.
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    assert any("useradd" in args and users[-1] in args for word, args in instructions if word == "RUN")

    assert ("VOLUME", "/data") in instructions and ("WORKDIR", "/data") in instructions
    health = next(args for word, args in instructions if word == "HEALTHCHECK")
    health_cmd = json.loads(health[health.index("CMD") + 3:].strip())
    assert health_cmd[:3] == ["aggregator", "status", "--check"] and "/data/feeds.yaml" in health_cmd
    cmd = json.loads(next(args for word, args in instructions if word == "CMD"))
    assert cmd[:2] == ["aggregator", "run"] and cmd[-2:] == ["-c", "/data/feeds.yaml"]
    assert ("STOPSIGNAL", "SIGTERM") in instructions

    installs = [args for word, args in instructions if word == "RUN" and "pip install" in args]
    assert len(installs) == 1 and "[test]" not in installs[0] and "-e " not in installs[0]

    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", "tests", "*.db"} <= set(ignored)


def test_the_cli_run_command_parses_the_image_command() -> None:
    from aggregator.cli import build_parser

    cmd = json.loads(next(args for word, args in _dockerfile() if word == "CMD"))
    args = build_parser().parse_args(cmd[1:])
    assert args.command == "run" and args.config == "/data/feeds.yaml"
    health = next(args for word, args in _dockerfile() if word == "HEALTHCHECK")
    health_cmd = json.loads(health[health.index("CMD") + 3:].strip())
    args = build_parser().parse_args(health_cmd[1:])
    assert args.command == "status" and args.check


def test_deploy_docs_cover_cron_systemd_timer_docker_and_nginx() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert re.search(r"^\*/15 \* \* \* \* .*aggregator fetch", text, re.MULTILINE)
    assert "75" in text and "flock" in text
    for needle in ("Type=simple", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                   "ReadWritePaths=", "ExecStart=/opt/aggregator/venv/bin/aggregator run",
                   "OnUnitActiveSec=", "SuccessExitStatus=75",
                   "docker build", "-v aggregator-data:/data", "application/atom+xml", "text/x-opml",
                   "status --check"):  # fmt: skip
        assert needle in text, needle
    # Every `aggregator ...` command shown parses with the real CLI.
    from aggregator.cli import build_parser

    parser = build_parser()
    commands = re.findall(r"(?:bin/|\s|^)aggregator ((?:fetch|run|status|check|opml|publish)\b[^\n;|>'`]*)", text)
    assert len(commands) >= 8
    for command in commands:
        parser.parse_args(shlex.split(command.replace("\\", ""), comments=True))


@pytest.mark.slow
def test_the_image_install_step_works_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """Build the Docker context the Dockerfile's COPY lines describe, run its pip install in a new
    virtualenv (real dependencies from the package index), then run the installed command."""
    context = tmp_path / "src"
    for word, args in _dockerfile():
        if word == "COPY":
            *sources, dest = args.split()
            assert dest.startswith("/src")
            for source in sources:
                target = context / dest.removeprefix("/src").strip("/")
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / source, target / Path(source).name)
    install = next(args for word, args in _dockerfile() if word == "RUN" and "pip install" in args)
    pip_args = shlex.split(install.split("&&")[0])
    assert pip_args[:2] == ["pip", "install"]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    installed = subprocess.run(
        [*pip, *[str(context) if a == "/src" else a for a in pip_args[2:]]],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]

    aggregator = str(venv / "bin" / "aggregator")
    version = subprocess.run([aggregator, "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("aggregator "), version.stderr
    config = write_config(tmp_path, [feed_entry("https://a.example.org/feed/", "A Party")])
    check = subprocess.run([aggregator, "check", "-c", str(config)], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path, env=env)  # fmt: skip
    assert check.returncode == 0 and ": OK: 1 feed (1 enabled)" in check.stdout, check.stderr
    # The installed package is the copy, not this checkout, and carries its templates.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import aggregator, pathlib; "
                            "p = pathlib.Path(aggregator.__file__).parent; print(p); "
                            "assert any((p / 'templates').iterdir())"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert str(venv) in where.stdout
