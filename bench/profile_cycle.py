"""Profile one cold cycle (`aggregator fetch --all`, empty database; or --scenario incremental) of
generated feeds with py-spy.

    .venv/bin/pip install py-spy && .venv/bin/python bench/profile_cycle.py [--feeds 100] [--top 15]

Same feeds and nginx set-up as bench/peers.py. py-spy samples the cycle process and its parse
workers (--subprocesses) at 100 Hz, idle threads excluded; needs ptrace (root). Prints the top
functions by own time (samples where the function was running) and by inclusive time (on the
stack), in seconds of CPU-active samples and as a share of all of them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from peers import FeedSet, Nginx, Ours  # noqa: E402


def frame_name(frame: str) -> str:
    """'function (path/to/module.py:123)' -> 'function (module.py)'; a line number is noise here."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    if "site-packages" in parts:
        path = "/".join(parts[parts.index("site-packages") + 1 :])
    elif "aggregator" in parts:
        path = "/".join(parts[parts.index("aggregator") :])
    else:
        path = Path(path).name
    return f"{name} ({path})" if path else name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=100)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--aggregator", default=str(Path(sys.executable).parent / "aggregator"))
    ap.add_argument("--py-spy", default=str(Path(sys.executable).parent / "py-spy"))
    ap.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    ap.add_argument("--scenario", choices=("cold", "warm", "incremental"), default="cold",
                    help="warm, incremental: a cold cycle first (not profiled); then every answer is 304, or 10%% of the feeds get new items")
    args = ap.parse_args()
    args.python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="aggregator-profile-"))
    work.chmod(0o755)
    www = work / "www"
    nginx = Nginx(www, work / "nginx")
    nginx.start()
    try:
        fs = FeedSet(args.feeds, work, www, nginx, args.seed, f"n{args.feeds}")
        tool = Ours(fs, work / "state", args)
        tool.reset()
        if args.scenario != "cold":
            subprocess.run(tool.command("cold"), check=True, capture_output=True)
        if args.scenario == "incremental":
            fs.set_incremental()
        raw = args.raw or work / "profile.txt"
        start = time.perf_counter()
        subprocess.run([args.py_spy, "record", "--subprocesses", "--rate", str(args.rate), "--format", "raw",
                        "--output", str(raw), "--", *tool.command(args.scenario)], check=True, capture_output=True)  # fmt: skip
        wall = time.perf_counter() - start
    finally:
        nginx.stop()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_process: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        frames = [frame_name(f) for f in parts if " (" in f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        # The cycle process is the root; its forkserver and the parse workers sit below it.
        by_process["the cycle process" if sum(p.startswith("process ") for p in parts) == 1 else "fork server and parse workers"] += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    if not args.raw:
        shutil.rmtree(work, ignore_errors=True)
    secs = 1 / args.rate
    print(f"{args.scenario} cycle of {fs.n} feeds ({fs.items} items): {wall:.1f} s wall under py-spy;"
          f" {total} active samples = {total * secs:.1f} s of CPU-active time (all processes)")  # fmt: skip
    print("\n| process | seconds | share |\n| --- | ---: | ---: |")
    for name, n in by_process.most_common():
        print(f"| {name} | {n * secs:.1f} | {n / total:.0%} |")
    print("\n| own time: function (module) | seconds | share |\n| --- | ---: | ---: |")
    for name, n in own.most_common(args.top):
        print(f"| `{name}` | {n * secs:.1f} | {n / total:.0%} |")
    print("\n| inclusive time: function (module) | seconds | share |\n| --- | ---: | ---: |")
    for name, n in inclusive.most_common(args.top + 10):
        print(f"| `{name}` | {n * secs:.1f} | {n / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
