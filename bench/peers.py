"""Issue 11: our whole cycle against peer feed readers on the same generated feeds.

    .venv/bin/python bench/peers.py --sizes 200,1000 --runs 3 [--with-5000] [--peers newsboat,reader,floor]

Generates N feeds (bench/genfeeds.py, seeded), serves them with Debian's nginx on a free port of
127.0.0.1 (its own nginx.conf in a temp prefix; static files, so ETag and Last-Modified), and runs
each scenario as subprocesses measured by bench/_measure.py (wall, user+sys CPU of the whole
process tree, peak memory of the tree):

- cold: empty database, every feed new;
- warm: again at once, every answer 304;
- incremental: 10% of the feeds got 1 to 3 new items (their files replaced: new ETag and mtime);
- startup: `aggregator fetch` without --all right after a cycle (nothing due);
- publish: `aggregator publish` from a database of about 50,000 stories (every output rewritten).

Ours is driven only through the public CLI (`aggregator fetch --all -c CONFIG`), so the benchmark
survives refactors of aggregator/. Peers: newsboat (`newsboat -x reload`, reload-threads 8, in a
temporary HOME), the reader library (update_feeds(workers=8), from its own venv .bench-venv), and a
fetch floor (httpx, 8 threads, conditional GET, no parsing). Prints a Markdown table and the
targets met or missed; writes bench/results/peers-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import genfeeds  # noqa: E402

REGIONS = {"europe": "Europe", "asia": "Asia", "africa": "Africa", "americas": "Americas"}
SCENARIOS = ("cold", "warm", "incremental", "startup")
BASE_MTIME = genfeeds.ANCHOR.timestamp()
INCREMENTAL_MTIME = BASE_MTIME + 86400


# --------------------------------------------------------------------------- nginx


class Nginx:
    """Debian's nginx on a free port of 127.0.0.1, serving `root`; its own prefix and config."""

    def __init__(self, root: Path, prefix: Path):
        self.root, self.prefix = root, prefix
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        temp = self.prefix / "temp"
        temp.mkdir(exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ application/rss+xml xml; application/atom+xml atom; application/rdf+xml rdf; }}
    default_type application/octet-stream;
    charset_types application/rss+xml application/atom+xml application/rdf+xml;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        etag on;
    }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "wb"))  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit(f"nginx did not start: {(self.prefix / 'stderr.log').read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the feed set


class FeedSet:
    """N generated feeds: pristine copies, incremental copies, and the served folder (hard links)."""

    def __init__(self, n: int, work: Path, www: Path, nginx: Nginx, seed: int, prefix: str):
        self.n, self.prefix = n, prefix
        self.src = work / f"gen-{prefix}"
        t = time.perf_counter()
        self.manifest = genfeeds.write(n, self.src, seed, incremental_share=0.1)
        for p in (self.src / "feeds").iterdir():
            os.utime(p, (BASE_MTIME, BASE_MTIME))
        for p in (self.src / "incremental" / "feeds").iterdir():
            os.utime(p, (INCREMENTAL_MTIME, INCREMENTAL_MTIME))
        self.gen_seconds = time.perf_counter() - t
        self.served = www / prefix
        (self.served / "feeds").mkdir(parents=True, exist_ok=True)
        self.urls = [nginx.url(f"{prefix}/{f['path']}") for f in self.manifest["feeds"]]
        self.items = int(self.manifest["items"])
        self.new_items = int(self.manifest["incremental"]["new_items"])
        self.bytes = sum(p.stat().st_size for p in (self.src / "feeds").iterdir())
        self.set_base()

    def _link(self, rel: str, source: Path) -> None:
        target = self.served / rel
        tmp = target.with_name(target.name + ".tmp")
        if tmp.exists():
            tmp.unlink()
        os.link(source, tmp)
        os.replace(tmp, target)

    def set_base(self) -> None:
        for f in self.manifest["feeds"]:
            self._link(f["path"], self.src / f["path"])

    def set_incremental(self) -> None:
        for rel in self.manifest["incremental"]["paths"]:
            self._link(rel, self.src / "incremental" / rel)


# --------------------------------------------------------------------------- the tools


class Tool:
    name = ""

    def __init__(self, fs: FeedSet, state: Path, args: argparse.Namespace):
        self.fs, self.state, self.args = fs, state, args
        self.env: dict[str, str] = {}

    def reset(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        self.state.mkdir(parents=True)
        (self.state / "urls").write_text("\n".join(self.fs.urls) + "\n")

    def command(self, scenario: str) -> list[str] | None:
        raise NotImplementedError

    def count(self) -> int | None:
        return None


class Ours(Tool):
    name = "aggregator"

    def reset(self) -> None:
        super().reset()
        write_config(self.state / "feeds.yaml", self.fs, self.state / "agg.db", self.state / "public")

    def command(self, scenario: str) -> list[str] | None:
        config = str(self.state / "feeds.yaml")
        if scenario == "startup":
            return [self.args.aggregator, "fetch", "-q", "-c", config]
        return [self.args.aggregator, "fetch", "--all", "-q", "-c", config]

    def count(self) -> int | None:
        return sqlite_count(self.state / "agg.db", "entries")

    def last_cycle(self) -> dict | None:
        """The cycle's own record (ok / not modified / failed feeds, new entries), best effort:
        read-only, and None if a refactor renamed the table."""
        try:
            with sqlite3.connect(f"file:{self.state / 'agg.db'}?mode=ro", uri=True) as con:
                con.row_factory = sqlite3.Row
                row = con.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT 1").fetchone()
                return {k: row[k] for k in row.keys() if k in ("ok", "not_modified", "failed", "new_entries")} if row else None
        except sqlite3.Error:
            return None


class Newsboat(Tool):
    name = "newsboat"

    def reset(self) -> None:
        super().reset()
        home = self.state / "home"
        for d in ("config", "data", "cache"):
            (home / d).mkdir(parents=True)
        (self.state / "config").write_text("reload-threads 8\ndownload-timeout 60\nshow-read-feeds yes\n")
        self.env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
                    "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache")}  # fmt: skip

    def command(self, scenario: str) -> list[str] | None:
        if scenario == "startup":
            return None  # -x reload fetches everything: no notion of "due"
        s = self.state
        return ["newsboat", "-x", "reload", "-u", str(s / "urls"), "-c", str(s / "cache.db"), "-C", str(s / "config")]

    def count(self) -> int | None:
        return sqlite_count(self.state / "cache.db", "rss_item")


class Reader(Tool):
    name = "reader"

    def command(self, scenario: str) -> list[str] | None:
        script, db = str(BENCH / "_reader_run.py"), str(self.state / "reader.sqlite")
        mode = {"cold": "cold", "warm": "update", "incremental": "update", "startup": "scheduled"}[scenario]
        return [self.args.bench_python, script, db, mode, str(self.state / "urls")]

    def count(self) -> int | None:
        out = subprocess.run([self.args.bench_python, str(BENCH / "_reader_run.py"), str(self.state / "reader.sqlite"),
                              "count"], capture_output=True, text=True, timeout=300)  # fmt: skip
        try:
            return int(out.stdout.split()[0])
        except (IndexError, ValueError):
            return None


class Floor(Tool):
    name = "floor"

    def command(self, scenario: str) -> list[str] | None:
        if scenario == "startup":
            return None
        return [self.args.python, str(BENCH / "_floor.py"), str(self.state / "urls"), str(self.state / "state.json")]


TOOLS = {"aggregator": Ours, "newsboat": Newsboat, "reader": Reader, "floor": Floor}


def write_config(path: Path, fs: FeedSet, database: Path, output_dir: Path) -> None:
    """A feeds.yaml for our CLI. JSON is YAML, so no YAML library is needed here."""
    feeds = [{"url": url, "name": f["name"], "site": f["site"], "region": f["region"], "country": f["country"],
              "language": f["language"]} for url, f in zip(fs.urls, fs.manifest["feeds"])]  # fmt: skip
    config = {
        "title": "Peers bench", "base_url": "https://bench.example.org/",
        "database": str(database), "output_dir": str(output_dir),
        "retention_days": 36500,  # the items are up to 60 days older than a fixed anchor: prune none
        # Everything is on one host here; real feeds are on ~N hosts. Same 8 at once as the peers.
        # timeout: the whole fetch of one feed; generous, so that a loaded machine fails no feed.
        "fetch": {"timeout": 300, "concurrency": 8, "per_host": 8},
        "regions": REGIONS, "feeds": feeds,
    }  # fmt: skip
    path.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")


def sqlite_count(db: Path, table: str) -> int | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return None


# --------------------------------------------------------------------------- measuring


def measure(args: argparse.Namespace, command: list[str], timeout: float, env: dict[str, str], log: Path) -> dict:
    wrapper = [args.python, str(BENCH / "_measure.py"), "--timeout", str(timeout), "--log", str(log)]
    for k, v in env.items():
        wrapper += ["--env", f"{k}={v}"]
    out = subprocess.run(wrapper + ["--", *command], capture_output=True, text=True, timeout=timeout + 60)
    if out.returncode != 0:
        raise RuntimeError(f"measure failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timeout_for(scenario: str, n: int, scale: float) -> float:
    base = {"cold": 120 + 0.6 * n, "warm": 60 + 0.1 * n, "incremental": 60 + 0.2 * n,
            "startup": 60, "publish": 120, "build": 300 + 0.6 * n}[scenario]  # fmt: skip
    return base * scale


def run_size(fs: FeedSet, args: argparse.Namespace, runs: int, work: Path, records: list[dict]) -> dict:
    tools = [TOOLS[name](fs, work / f"state-{fs.prefix}-{name}", args) for name in ["aggregator", *args.peers]]
    checks: dict[str, list[Any]] = {t.name: [] for t in tools}
    for run in range(1, runs + 1):
        for tool in tools:  # interleaved, so drifts of the shared machine hit every tool alike
            fs.set_base()
            tool.reset()
            log = work / f"log-{fs.prefix}-{tool.name}.txt"
            for scenario in SCENARIOS:
                if scenario == "incremental":
                    fs.set_incremental()
                command = tool.command(scenario)
                if command is None:
                    continue
                entries = {"cold": fs.items, "incremental": fs.new_items}.get(scenario, 0)
                r = measure(args, command, timeout_for(scenario, fs.n, args.timeout_scale), tool.env, log)
                r.update(size=fs.n, scenario=scenario, tool=tool.name, run=run, entries=entries)
                if isinstance(tool, Ours):
                    r["cycle"] = tool.last_cycle()
                    if r["cycle"] and r["cycle"].get("failed"):
                        print(f"    WARNING: {r['cycle']['failed']} feeds failed in this cycle: {r['cycle']}", flush=True)
                records.append(r)
                status = "TIMEOUT" if r["timed_out"] else f"exit {r['code']}"
                print(f"  N={fs.n} run {run} {tool.name:10} {scenario:11} {r['wall_s']:8.2f} s wall"
                      f" {r['cpu_s']:8.2f} s CPU {r['tree_rss_mib']:7.1f} MiB tree  {status}", flush=True)  # fmt: skip
                if r["timed_out"] or r["code"] != 0:
                    print(f"    (stopping {tool.name}'s run {run}; see {log})", flush=True)
                    break
            checks[tool.name].append(tool.count())
            fs.set_base()
    return {"expected_entries": fs.items + fs.new_items, "stored_after_incremental": checks}


class _Reused:
    def __init__(self, state: Path):
        self.state = state


def run_publish(args: argparse.Namespace, nginx: Nginx, work: Path, www: Path, records: list[dict],
                reuse: Path | None = None) -> dict:  # fmt: skip
    log = work / "log-publish.txt"
    if reuse is not None:
        tool: Any = _Reused(reuse)
        n_feeds, items = args.publish_db_from, None
        print(f"publish: from {reuse / 'agg.db'}", flush=True)
    else:
        fs = FeedSet(args.publish_feeds, work, www, nginx, args.seed, f"pub{args.publish_feeds}")
        n_feeds, items = fs.n, fs.items
        print(f"publish: {fs.n} feeds, {fs.items} items generated in {fs.gen_seconds:.1f} s; filling the database", flush=True)
        tool = Ours(fs, work / "state-publish", args)
        tool.reset()
        build = measure(args, tool.command("cold"), timeout_for("build", fs.n, args.timeout_scale), {}, log)
        build.update(size=fs.n, scenario="cold (publish db)", tool="aggregator", run=1, entries=fs.items)
        records.append(build)
        print(f"  cold fetch of {fs.n} feeds: {build['wall_s']:.1f} s, exit {build['code']}", flush=True)
    db = tool.state / "agg.db"
    stories = sqlite_count(db, "stories")
    for run in range(1, args.runs + 1):
        shutil.rmtree(tool.state / "public", ignore_errors=True)  # every output written, none "unchanged"
        r = measure(args, [args.aggregator, "publish", "-q", "-c", str(tool.state / "feeds.yaml")],
                    timeout_for("publish", 0, args.timeout_scale), {}, log)  # fmt: skip
        r.update(size=n_feeds or 0, scenario="publish", tool="aggregator", run=run, entries=stories or 0)
        records.append(r)
        print(f"  publish run {run}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, exit {r['code']}", flush=True)
    outputs = sorted(str(p.relative_to(tool.state / "public")) for p in (tool.state / "public").rglob("*") if p.is_file())
    return {"feeds": n_feeds, "items": items, "from": str(reuse) if reuse else None, "stories": stories, "entries": sqlite_count(db, "entries"),
            "outputs": outputs, "db_mib": round(db.stat().st_size / 2**20, 1)}  # fmt: skip


# --------------------------------------------------------------------------- summary


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["size"], r["scenario"], r["tool"]), []).append(r)
    rows = []
    for (size, scenario, tool), rs in groups.items():
        ok = [r for r in rs if r["code"] == 0 and not r["timed_out"]]
        if not ok:
            rows.append({"size": size, "scenario": scenario, "tool": tool, "runs": 0, "failed": len(rs)})
            continue
        walls = [r["wall_s"] for r in ok]
        wall = statistics.median(walls)
        rows.append({
            "size": size, "scenario": scenario, "tool": tool, "runs": len(ok), "failed": len(rs) - len(ok),
            "wall_s": round(wall, 3), "wall_min": min(walls), "wall_max": max(walls),
            "cpu_s": round(statistics.median(r["cpu_s"] for r in ok), 3),
            "tree_rss_mib": statistics.median(r["tree_rss_mib"] for r in ok),
            "tree_pss_mib": statistics.median(r["tree_pss_mib"] for r in ok),
            "max_rss_mib": statistics.median(r["max_rss_mib"] for r in ok),
            "entries": ok[0]["entries"],
            "entries_per_s": round(ok[0]["entries"] / wall, 1) if ok[0]["entries"] and scenario != "publish" else None,
        })  # fmt: skip
    order = {s: i for i, s in enumerate([*SCENARIOS, "cold (publish db)", "publish"])}
    tools = {t: i for i, t in enumerate(TOOLS)}
    rows.sort(key=lambda r: (r["size"] if r["scenario"] not in ("publish", "cold (publish db)") else 10**9,
                             order.get(r["scenario"], 99), tools.get(r["tool"], 99)))  # fmt: skip
    ours = {(r["size"], r["scenario"]): r for r in rows if r["tool"] == "aggregator" and r.get("runs")}
    for r in rows:
        o = ours.get((r["size"], r["scenario"]))
        if r["tool"] != "aggregator" and o and r.get("runs"):
            r["ours_over_this"] = round(o["wall_s"] / r["wall_s"], 2)
            r["ours_cpu_over_this"] = round(o["cpu_s"] / r["cpu_s"], 2) if r["cpu_s"] else None
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| N | scenario | tool | wall s, median (min–max) | CPU s | tree peak RSS / PSS MiB | largest process MiB | entries/s | ours ÷ tool: wall, CPU |",
        "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]  # fmt: skip
    for r in rows:
        if not r.get("runs"):
            lines.append(f"| {r['size']:,} | {r['scenario']} | {r['tool']} | failed ({r['failed']} runs) | | | | | |")
            continue
        spread = f" ({r['wall_min']:.2f}–{r['wall_max']:.2f})" if r["runs"] > 1 else " (1 run)"
        ratio = ""
        if "ours_over_this" in r:
            cpu = f"{r['ours_cpu_over_this']:.2f}×" if r.get("ours_cpu_over_this") else "-"
            ratio = f"{r['ours_over_this']:.2f}×, {cpu}"
        rate = f"{r['entries_per_s']:,.0f}" if r["entries_per_s"] else "-"
        lines.append(
            f"| {r['size']:,} | {r['scenario']} | {r['tool']} | {r['wall_s']:.2f}{spread} | {r['cpu_s']:.2f} |"
            f" {r['tree_rss_mib']:.0f} / {r['tree_pss_mib']:.0f} | {r['max_rss_mib']:.0f} | {rate} | {ratio} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict]) -> list[dict]:
    get = {(r["size"], r["scenario"], r["tool"]): r for r in rows if r.get("runs")}
    out = []

    def add(name: str, met: bool | None, figure: str) -> None:
        out.append({"target": name, "met": met, "figure": figure})

    for n in (200, 1000):
        o, p = get.get((n, "cold", "aggregator")), get.get((n, "cold", "newsboat"))
        add(f"cold faster than newsboat at N={n}", (o["wall_s"] < p["wall_s"]) if o and p else None,
            f"{o['wall_s']:.2f} s vs {p['wall_s']:.2f} s" if o and p else "not measured")  # fmt: skip
    for n in sorted({r["size"] for r in rows if r["scenario"] == "warm"}):
        o, f = get.get((n, "warm", "aggregator")), get.get((n, "warm", "floor"))
        add(f"warm within 1.5× of the floor at N={n}", (o["wall_s"] <= 1.5 * f["wall_s"]) if o and f else None,
            f"{o['wall_s']:.2f} s vs {f['wall_s']:.2f} s: {o['wall_s'] / f['wall_s']:.2f}×" if o and f else "not measured")  # fmt: skip
    for n in sorted({r["size"] for r in rows if r["scenario"] == "incremental"}):
        o, p = get.get((n, "incremental", "aggregator")), get.get((n, "incremental", "newsboat"))
        add(f"incremental faster than newsboat at N={n}", (o["wall_s"] < p["wall_s"]) if o and p else None,
            f"{o['wall_s']:.2f} s vs {p['wall_s']:.2f} s" if o and p else "not measured")  # fmt: skip
    pub = [r for r in rows if r["scenario"] == "publish" and r.get("runs")]
    for r in pub:
        add(f"publish every output for {r['entries']:,} stored stories under 1 s", r["wall_s"] < 1,
            f"{r['wall_s']:.2f} s")
    if not pub:
        add("publish every output for ~50,000 stored stories under 1 s", None, "not measured")
    for n in sorted({r["size"] for r in rows if r["scenario"] == "startup"}):
        o = get.get((n, "startup", "aggregator"))
        add(f"start-up with nothing due under 0.3 s at N={n}", (o["wall_s"] < 0.3) if o else None,
            f"{o['wall_s']:.2f} s" if o else "not measured")
    peak = [r for r in rows if r["size"] == 5000 and r["tool"] == "aggregator" and r.get("runs")]
    if peak:
        worst = max(peak, key=lambda r: r["tree_rss_mib"])
        mb = worst["tree_rss_mib"] * 1.048576
        add("peak RSS < 250 MB at N=5000", mb < 250,
            f"{mb:.0f} MB tree RSS sum ({worst['scenario']}); PSS {worst['tree_pss_mib'] * 1.048576:.0f} MB;"
            f" largest process {worst['max_rss_mib'] * 1.048576:.0f} MB")  # fmt: skip
    else:
        add("peak RSS < 250 MB at N=5000", None, "not measured (run with --with-5000)")
    return out


def machine_notes() -> dict:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    commit = version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version(),
            "kernel": platform.release(), "nginx": version(["nginx", "-v"]), "newsboat": version(["newsboat", "--version"]),
            "commit": commit, "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200,1000", help="comma-separated feed counts (default 200,1000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size and tool (median reported)")
    ap.add_argument("--with-5000", action="store_true", help="also N=5,000 (slow), --runs-5000 runs")
    ap.add_argument("--runs-5000", type=int, default=1)
    ap.add_argument("--runs-for", default="", help="per-size overrides of --runs, e.g. 1000:1,200:3")
    ap.add_argument("--peers", default="newsboat,reader,floor")
    ap.add_argument("--publish-feeds", type=int, default=1450, help="feeds for the ~50,000-story publish db (0: skip)")
    ap.add_argument("--publish-db-from", type=int, default=0, metavar="N",
                    help="instead, publish from our database of size N as its last run left it (no extra fill)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every scenario's time limit")
    ap.add_argument("--aggregator", default=str(Path(sys.executable).parent / "aggregator"))
    ap.add_argument("--bench-python", default=str(REPO / ".bench-venv" / "bin" / "python"),
                    help="a python with `reader` installed (default .bench-venv)")  # fmt: skip
    ap.add_argument("--workdir", type=Path, help="keep generated feeds and state here (default: a temp dir, removed)")
    ap.add_argument("--out", type=Path, help="results JSON (default bench/results/peers-<date>.json)")
    args = ap.parse_args()
    args.python = sys.executable
    args.peers = [p for p in args.peers.split(",") if p]
    for p in args.peers:
        if p not in TOOLS or p == "aggregator":
            ap.error(f"unknown peer {p!r}")
    if "reader" in args.peers and not Path(args.bench_python).exists():
        ap.error(f"{args.bench_python} not found: python3 -m venv .bench-venv && .bench-venv/bin/pip install reader")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    overrides = {int(k): int(v) for k, v in (kv.split(":") for kv in args.runs_for.split(",") if kv)}
    plan = [(n, overrides.get(n, args.runs)) for n in sizes] + ([(5000, args.runs_5000)] if args.with_5000 and 5000 not in sizes else [])

    # Installed packages come with their bytecode (pip compiles it; so do the peers' and our Docker
    # image's installs), but an editable checkout of ours has none until a run writes it, and this
    # machine sets PYTHONDONTWRITEBYTECODE=1: every run would compile our modules from source again.
    # Compile them once, as an install does.
    compiled = subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "aggregator")], check=False)
    print(f"compiled aggregator/ to bytecode, as an install does (exit {compiled.returncode})", flush=True)

    started = dt.datetime.now(dt.timezone.utc)
    notes = machine_notes()
    print(f"machine: {notes}", flush=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aggregator-peers-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # nginx's worker runs as nobody: it must read the feeds (mkdtemp makes 0700)
    www = work / "www"
    www.mkdir(exist_ok=True)
    nginx = Nginx(www, work / "nginx")
    nginx.start()
    records: list[dict] = []
    sets: dict[str, Any] = {}
    publish_info = None
    try:
        for n, runs in plan:
            fs = FeedSet(n, work, www, nginx, args.seed, f"n{n}")
            print(f"N={n}: {fs.items} items, {fs.bytes / 1e6:.1f} MB, generated in {fs.gen_seconds:.1f} s;"
                  f" incremental: {fs.new_items} new items on {len(fs.manifest['incremental']['paths'])} feeds", flush=True)  # fmt: skip
            info = run_size(fs, args, runs, work, records)
            sets[str(n)] = {"items": fs.items, "new_items": fs.new_items, "mb": round(fs.bytes / 1e6, 1), **info}
            shutil.rmtree(fs.src / "feeds", ignore_errors=True) if not args.workdir else None
        if args.publish_db_from:
            publish_info = run_publish(args, nginx, work, www, records, reuse=work / f"state-n{args.publish_db_from}-aggregator")
        elif args.publish_feeds:
            publish_info = run_publish(args, nginx, work, www, records)
    finally:
        nginx.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    rows = summarise(records)
    goals = targets(rows)
    notes["loadavg_end"] = os.getloadavg()
    table = markdown(rows)
    print()
    print(table)
    print()
    for g in goals:
        mark = {True: "MET   ", False: "MISSED", None: "n/a   "}[g["met"]]
        print(f"{mark} {g['target']}: {g['figure']}")
    for n, info in sets.items():
        print(f"N={n}: entries stored after the incremental cycle (expected {info['expected_entries']} copies):"
              f" {info['stored_after_incremental']}")  # fmt: skip
    if publish_info:
        print(f"publish db: {publish_info['stories']} stories, {publish_info['entries']} entries, "
              f"{publish_info['db_mib']} MiB; {len(publish_info['outputs'])} outputs")  # fmt: skip
    out = args.out or BENCH / "results" / f"peers-{started:%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "started": started.isoformat(timespec="seconds"), "argv": sys.argv[1:], "machine": notes,
        "feed_sets": sets, "publish": publish_info, "summary": rows, "targets": goals, "runs": records,
    }, ensure_ascii=False, indent=1, default=str) + "\n")  # fmt: skip
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
