"""Two builds of aggregator on the same scenario, run by run in turn: what a change buys, on a
machine whose speed drifts within the hour (interleaving makes a drift hit both alike).

    .venv/bin/python bench/compare.py publish --runs 7 OLD/bin/aggregator NEW/bin/aggregator [--feeds 1450]

Scenarios as bench/peers.py has them (same generated feeds, seed 11, same nginx): warm,
incremental, startup, or publish (`aggregator publish` with the output folder removed, after one
publish that is not counted, as a deployed database has published before). Each build gets its own
cold state first (a build may not read a newer build's database), copied afresh before every run.
Prints the median wall and CPU seconds (user+sys of the command and the children it waited for;
parse workers are the fork server's children and are not counted) and the range of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from peers import FeedSet, Nginx, Ours  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=("warm", "incremental", "startup", "publish"))
    ap.add_argument("builds", nargs="+", help="aggregator executables, e.g. OLD/.venv/bin/aggregator")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aggregator-compare-"))
    work.chmod(0o755)
    nginx = Nginx(work / "www", work / "nginx")
    nginx.start()
    try:
        feeds = FeedSet(args.feeds, work, work / "www", nginx, args.seed, f"n{args.feeds}")
        tools = []
        for i, build in enumerate(args.builds):
            tool = Ours(feeds, work / f"state{i}", argparse.Namespace(aggregator=build))
            tool.reset()
            feeds.set_base()
            subprocess.run(tool.command("cold"), check=True, capture_output=True)
            shutil.copytree(tool.state, work / f"cold{i}")
            tools.append(tool)
        results: dict[str, list[tuple[float, float]]] = {b: [] for b in args.builds}
        for run in range(args.runs):
            for i, (build, tool) in enumerate(zip(args.builds, tools)):
                shutil.rmtree(tool.state)
                shutil.copytree(work / f"cold{i}", tool.state)
                feeds.set_base()
                if args.scenario == "incremental":
                    feeds.set_incremental()
                if args.scenario == "publish":
                    command = [build, "publish", "-q", "-c", str(tool.state / "feeds.yaml")]
                    subprocess.run(command, check=True, capture_output=True)  # the publish before, not counted
                    shutil.rmtree(tool.state / "public", ignore_errors=True)
                else:
                    command = tool.command(args.scenario)
                before, started = os.times(), time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                wall, after = time.perf_counter() - started, os.times()
                cpu = after.children_user + after.children_system - before.children_user - before.children_system
                results[build].append((wall, cpu))
                print(f"run {run + 1} {build}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.scenario}, N={args.feeds}, {args.runs} runs each, interleaved:")
    for build, runs in results.items():
        walls, cpus = sorted(w for w, _ in runs), sorted(c for _, c in runs)
        print(f"  {build}: wall {walls[len(walls) // 2]:.2f} s ({walls[0]:.2f}–{walls[-1]:.2f}),"
              f" CPU {cpus[len(cpus) // 2]:.2f} s ({cpus[0]:.2f}–{cpus[-1]:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
