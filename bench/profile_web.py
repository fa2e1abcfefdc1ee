"""Where the web app's slow cases spend their time: each case of bench/web.py run in the Flask app
(no HTTP server, no cycle running) over a 50,000-story database made by bench/web.py's `fill`,
timed and profiled with pyinstrument (pip install pyinstrument).

Usage: python bench/profile_web.py [--dir /tmp/web50k] [--stories 50000] [--rounds 20] [--case NAME]
The database is made once in --dir and reused by later runs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from aggregator.config import load_config  # noqa: E402
from aggregator.store import Store  # noqa: E402
from aggregator.web import create_app  # noqa: E402
from feedserver import FeedServer  # noqa: E402
from web import ASIAN_WORDS, PAIRS, fill  # noqa: E402
from websetup import EDITOR, PASSWORD, build_site  # noqa: E402


def site(directory: Path, stories: int) -> Path:
    """The config of a site with `stories` synthetic stories, made in `directory` unless there."""
    path = directory / "feeds.yaml"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    with FeedServer() as feeds:
        config = build_site(directory, feeds)
    with Store.open(config.database) as store:
        fill(store, stories)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("/tmp/web50k"))
    parser.add_argument("--stories", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    config = load_config(site(args.dir, args.stories))
    with Store.open(config.database) as store:
        app = create_app(config, store)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"name": EDITOR, "password": PASSWORD, "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/desk").text).group(1)  # type: ignore[union-attr]
        ids = [s["id"] for s in client.get("/api/stories?limit=100").json["stories"]]  # type: ignore[index]
        cases: dict[str, Callable[[int], Any]] = {
            "front page": lambda i: client.get("/"),
            "search (Urdu word)": lambda i: client.get("/search", query_string={"q": "ہڑتال"}),
            "search (two English words)": lambda i: client.get("/search", query_string={"q": "strike union"}),
            "filtered Atom (asia + q)": lambda i: client.get("/atom", query_string={"region": "asia", "q": "ہڑتال"}),
            "search, new word pair": lambda i: client.get("/search", query_string={"q": " ".join(PAIRS[i % len(PAIRS)])}),
            "filtered Atom, new word": lambda i: client.get("/atom", query_string={
                "region": "asia", "q": ASIAN_WORDS[i % len(ASIAN_WORDS)]}),
            "pick, no cycle (publishes)": lambda i: client.post("/desk/pick", data={
                "story": ids[i % len(ids)], "note": f"note {i}", "csrf_token": token}),
        }  # fmt: skip
        for name, request in cases.items():
            if args.case and name not in args.case:
                continue
            request(0)  # warm: templates compiled, modules imported
            times = []
            for i in range(args.rounds):
                t = time.perf_counter()
                r = request(i + 1)
                times.append(time.perf_counter() - t)
                assert r.status_code in (200, 303), (name, r.status_code)
            print(f"{name:28} median {statistics.median(times) * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms")
            if not args.no_profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                with profiler:
                    for i in range(args.rounds):
                        request(i + 100)
                print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
