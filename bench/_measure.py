"""Run one command and measure its whole process tree; prints one JSON object on stdout.

    python bench/_measure.py --timeout 300 --log FILE [--env K=V ...] -- COMMAND ARGS...

This process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so every descendant
that outlives its parent (a forkserver, pool workers) is re-parented here and reaped here: the
CPU figure, getrusage(RUSAGE_CHILDREN) after all of them are reaped, is user+sys of the whole tree.
Memory: `max_rss_mib` is ru_maxrss of the children (the largest single process); `tree_rss_mib`
is the peak over time of the sum of VmRSS of every live descendant, sampled from /proc every
50 ms (an upper bound: pages shared between processes count once per process), and `tree_pss_mib`
the same with PSS from /proc/PID/smaps_rollup (shared pages split between their users).
Wall time: from the start of the command to the exit of its first process.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(root: int) -> list[int]:
    """Every live descendant of `root`, from /proc/PID/task/TID/children (cheap: no /proc scan)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def tree_memory(pids: list[int]) -> tuple[int, int]:
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--cwd")
    ap.add_argument("--env", action="append", default=[], help="K=V added to the environment")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in args.env)
    peak = {"rss": 0, "pss": 0}
    stop = threading.Event()
    me = os.getpid()

    def sample() -> None:
        while not stop.is_set():
            rss, pss = tree_memory(descendants(me))
            peak["rss"] = max(peak["rss"], rss)
            peak["pss"] = max(peak["pss"], pss)
            stop.wait(0.05)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(args.log, "ab") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                cwd=args.cwd, start_new_session=True)  # fmt: skip
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_out = False
        try:
            code = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        wall = time.perf_counter() - start
        # Reap what outlived the command (re-parented to us); kill stragglers after 10 s.
        deadline = time.monotonic() + 10
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if time.monotonic() > deadline:
                    for pid in descendants(me):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
                time.sleep(0.02)
        stop.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "code": code, "timed_out": timed_out, "wall_s": round(wall, 4),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 4),
        "user_s": round(after.ru_utime - before.ru_utime, 4), "sys_s": round(after.ru_stime - before.ru_stime, 4),
        "max_rss_mib": round(after.ru_maxrss / 1024, 1),
        "tree_rss_mib": round(peak["rss"] / 2**20, 1), "tree_pss_mib": round(peak["pss"] / 2**20, 1),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
