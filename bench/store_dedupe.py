"""Measures what deduplication costs inside the real store: 1,000 new entries written through
update.store_result (the cycle's per-feed step: plan, then apply in one transaction) into a SQLite file that already holds 50,000, with and without story matching.
Prints figures; writes only a temporary database. Run: python bench/store_dedupe.py [--stored 50000] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedupe import synthetic_articles  # noqa: E402  (bench/dedupe.py)

from aggregator import dedupe as dedupe_module  # noqa: E402
from aggregator import ingest, update  # noqa: E402
from aggregator.dedupe import StoryMatcher  # noqa: E402
from aggregator.models import (  # noqa: E402
    Config, DedupeSettings, FeedConfig, FeedState, FetchResult, ParsedEntry, ParsedFeed,
)  # fmt: skip
from aggregator.store import Store  # noqa: E402
from aggregator.store import entries as entries_module  # noqa: E402

PER_FEED = 100


class NoMatching(StoryMatcher):
    """Every copy its own story: the baseline without the dedupe step."""

    def match(self, new, feed_url, candidates):  # type: ignore[no-untyped-def]
        return None


def entries_for(articles: list[tuple[str, str, str, dt.datetime]], tag: str) -> tuple[ParsedEntry, ...]:
    return tuple(
        ParsedEntry(
            key=f"{tag}-{i}", key_source="id", original_id=f"urn:bench:{tag}-{i}", link=link, title=title,
            content_html=html, summary_html="", author=None, categories=(), published=when, updated=None,
        )
        for i, (title, html, link, when) in enumerate(articles)
    )  # fmt: skip


def write(store: Store, config: Config, feeds: list[FeedConfig], articles: list, matcher: StoryMatcher, tag: str,
          now: dt.datetime) -> float:  # fmt: skip
    """Prepare (fingerprints: the parse workers' part) and store each feed's entries; the seconds taken."""
    started = time.perf_counter()
    for n, feed in enumerate(feeds):
        chunk = articles[n * PER_FEED : (n + 1) * PER_FEED]
        parsed = ParsedFeed(entries=entries_for(chunk, f"{tag}{n}"))
        fetched = FetchResult(url=feed.url, status="ok", http_status=200, body=b"")
        read = update.ReadBody(digest=None, prepared=ingest.prepare_feed(parsed, feed.language, now))
        update.store_result(store, config, feed, FeedState(url=feed.url), fetched, read, now, matcher)
    return time.perf_counter() - started


@contextlib.contextmanager
def _timed(owner: Any, name: str, spent: dict[str, float], key: str) -> Iterator[None]:
    """Add the seconds spent in owner.name (a function, method or classmethod) to spent[key]."""
    raw = vars(owner).get(name)  # a module's or class's own attribute (a classmethod object), to put back
    original = getattr(owner, name)

    def timed(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            spent[key] += time.perf_counter() - t

    setattr(owner, name, timed)
    try:
        yield
    finally:
        if raw is not None:
            setattr(owner, name, raw)
        else:
            delattr(owner, name)  # an instance's method: the class's shows through again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=50_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--skip-baseline", action="store_true",
                        help="only the run with story matching (at --stored 500000 each fill takes about 15 min)")
    args = parser.parse_args()
    settings = DedupeSettings()

    stored_articles = list(synthetic_articles(args.stored, seed=1))
    new_articles = list(synthetic_articles(args.new, seed=2))
    # "Now" is just after the newest article, as in a running service: copies dated more than twice
    # the dedupe window before now get no band rows (a cycle's prune would drop them).
    now = max(a[3] for a in stored_articles + new_articles) + dt.timedelta(days=1)
    # A tenth of the new entries are reposts of recently stored articles, under another link.
    for i in range(0, args.new, 10):
        title, html, link, when = stored_articles[-1 - i]
        new_articles[i] = (title, "<p>Reposted from our sister party.</p>" + html, link + "?repost=1", when)

    def feeds(prefix: str, count: int) -> list[FeedConfig]:
        return [FeedConfig(url=f"https://{prefix}{i}.example.org/feed/", name=f"{prefix} {i}", region="europe",
                           country="GB", language="en") for i in range(count)]  # fmt: skip

    results = {}
    runs = [("with story matching", StoryMatcher(settings)), ("without (baseline)", NoMatching(settings))]
    for label, matcher in runs[:1] if args.skip_baseline else runs:
        with tempfile.TemporaryDirectory() as tmp:
            with Store.open(Path(tmp) / "bench.db") as store:
                old_feeds = feeds("stored", (args.stored + PER_FEED - 1) // PER_FEED)
                new_feeds = feeds("new", (args.new + PER_FEED - 1) // PER_FEED)
                config = Config(
                    path=Path(tmp) / "feeds.yaml", title="bench", base_url="https://example.org/",
                    database=Path(tmp) / "bench.db", output_dir=Path(tmp) / "public", regions={"europe": "Europe"},
                    feeds=tuple(old_feeds + new_feeds), retention_days=36500.0, dedupe=settings,
                )  # fmt: skip
                store.sync_feeds(old_feeds + new_feeds, now)
                fill = write(store, config, old_feeds, stored_articles, StoryMatcher(settings), "s", now)
                spent = {"fingerprint": 0.0, "candidates": 0.0, "match": 0.0}
                with (
                    _timed(dedupe_module, "fingerprint", spent, "fingerprint"),
                    _timed(entries_module._CandidatePool, "read", spent, "candidates"),
                    _timed(matcher, "match", spent, "match"),
                ):
                    elapsed = write(store, config, new_feeds, new_articles, matcher, "n", now)
                fp_time = spent["fingerprint"]
                merged = store.db.execute(
                    "SELECT count(*) FROM entries WHERE feed_url LIKE 'https://new%' AND match_rule IS NOT NULL"
                ).fetchone()[0]
                size = (Path(tmp) / "bench.db").stat().st_size
                results[label] = elapsed
                print(f"{label}: filled {args.stored} entries in {fill:.1f} s; "
                      f"{args.new} new entries in {elapsed:.2f} s "
                      f"(fingerprinting {fp_time:.2f} s, reading candidates {spent['candidates']:.2f} s,"
                      f" matching them {spent['match']:.2f} s), {merged} merged into stored stories; "
                      f"database {size / 1e6:.0f} MB")  # fmt: skip
                if label == "with story matching":
                    dedupe_cost = fp_time + spent["candidates"] + spent["match"]
                    print(f"dedupe (fingerprints, candidate reads, matching): {dedupe_cost * 1000 / args.new * 1000:.0f} ms"
                          f" per 1,000 new entries with {args.stored} stored")  # fmt: skip
    print(f"whole store write with story matching: {results['with story matching'] * 1000 / args.new * 1000:.0f} ms"
          f" per 1,000 new entries with {args.stored} stored")  # fmt: skip
    if args.skip_baseline:
        return 0
    added = results["with story matching"] - results["without (baseline)"]
    print(f"story matching adds {added * 1000 / args.new * 1000:.0f} ms per 1,000 new entries "
          f"with {args.stored} stored (fingerprints are computed in both runs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
