"""The full-text step (issue 13) against a local server: one cycle of a full_text feed with 50 new
entries whose article pages are WordPress-like pages on 127.0.0.1; prints the step's wall time,
pages per second, and the extraction cost per page (trafilatura + nh3, timed in the worker).

    .venv/bin/python bench/fulltext.py [--entries 50] [--runs 3]

Must not be run against anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import feed_entry, write_config  # noqa: E402
from feedserver import FeedServer  # noqa: E402
from test_fulltext import classic_page, rss, wordpress_page  # noqa: E402


def one_run(entries: int) -> tuple[float, float, list[float]]:
    from aggregator import user_agent_for
    from aggregator.config import load_config
    from aggregator.cycle import run_cycle
    from aggregator.fulltext import fetch_full_texts
    from aggregator.store import Store
    from aggregator.times import utcnow

    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        items = []
        for i in range(entries):
            page = (wordpress_page if i % 2 else classic_page)(f"Story {i}", f"MARK{i}")
            items.append((f"g{i}", server.add(f"/2026/12/story-{i}/", page, content_type="text/html"), f"Story {i}"))
        url = server.add("/feed.xml", rss(items))
        path = write_config(Path(tmp), [feed_entry(url, "Party")], full_text={"max_per_cycle": entries})
        # Store the entries first (full_text off), then switch it on, so the step is timed alone.
        config = load_config(path)
        run_cycle(config)
        path = write_config(Path(tmp), [feed_entry(url, "Party", full_text=True)], full_text={"max_per_cycle": entries})
        config = load_config(path)
        with Store.open(config.database) as store:
            # Switched on "before" the entries were stored, so all 50 count as new.
            since = utcnow() - dt.timedelta(days=1)
            started = time.perf_counter()
            report = fetch_full_texts(config, store, user_agent_for(config.base_url), since)
            seconds = time.perf_counter() - started
        assert report.ok == entries, report
        return seconds, entries / seconds, report.extract_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for run in range(args.runs):
        seconds, rate, extract = one_run(args.entries)
        extract_ms = sorted(1000 * s for s in extract)
        print(
            f"run {run + 1}: {args.entries} pages in {seconds:.2f} s = {rate:.1f} pages/s;"
            f" extraction per page median {statistics.median(extract_ms):.1f} ms"
            f" (p90 {extract_ms[int(0.9 * len(extract_ms))]:.1f} ms, first {extract[0] * 1000:.0f} ms incl. import)"
        )


if __name__ == "__main__":
    main()
