"""Measures parse_feed per item: the lxml fast path against feedparser, on the demo feeds and a generated WordPress-like feed.
Reads files and prints; changes nothing. Run: python bench/parse_speed.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator import fastparse  # noqa: E402
from aggregator import parse as parse_module  # noqa: E402
from aggregator.parse import parse_feed  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "aggregator" / "demo_feeds"
URL = "https://example.org/feed/"


def wordpress_feed(items: int = 50, relative_links: bool = False) -> bytes:
    """A WordPress-shaped RSS 2.0 feed: content:encoded, dc:creator, categories, comments, a Yoast footer.
    WordPress writes absolute URLs into content; `relative_links` makes the content's links relative."""
    site = "" if relative_links else "https://example.org"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
        ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/">\n<channel>\n<title>Socialist Party</title>'
        '<atom:link href="https://example.org/feed/" rel="self" type="application/rss+xml" />'
        "<link>https://example.org</link><description>News</description>"
        "<lastBuildDate>Tue, 01 Dec 2026 10:00:00 +0000</lastBuildDate><language>en-GB</language>"
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>"
        "<generator>https://wordpress.org/?v=6.4</generator>\n"
    ]
    for i in range(items):
        paragraphs = "".join(
            f"<p>Paragraph {p} of article {i}: workers at the plant voted to strike over pay &amp; conditions, "
            f'<a href="{site}/{2026}/{i}/related-{p}/">read more</a> and <strong>join the rally</strong>.</p>'
            for p in range(8)
        )
        parts.append(
            f"<item><title>Article {i}: strike wave spreads &#8211; what next?</title>"
            f"<link>https://example.org/2026/12/article-{i}/</link>"
            f"<comments>https://example.org/2026/12/article-{i}/#respond</comments>"
            f"<dc:creator><![CDATA[Author {i % 7}]]></dc:creator>"
            f"<pubDate>Tue, {1 + i % 28:02d} Dec 2026 {i % 24:02d}:15:00 +0000</pubDate>"
            f"<category><![CDATA[News]]></category><category><![CDATA[Workplace {i % 5}]]></category>"
            f'<guid isPermaLink="false">https://example.org/?p={1000 + i}</guid>'
            f"<description><![CDATA[<p>Summary of article {i}.</p><p>The post <a href=\"https://example.org/2026/12/article-{i}/\">"
            f"Article {i}</a> appeared first on <a href=\"https://example.org\">Socialist Party</a>.</p>]]></description>"
            f"<content:encoded><![CDATA[<img src=\"{site}/wp-content/uploads/{i}.jpg\" alt=\"\" width=\"800\" height=\"450\" />"
            f"{paragraphs}]]></content:encoded>"
            f"<wfw:commentRss>https://example.org/2026/12/article-{i}/feed/</wfw:commentRss>"
            f"<slash:comments>{i % 3}</slash:comments></item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


def per_item_ms(bodies: list[bytes], fast: bool, rounds: int) -> tuple[float, int, int]:
    """Median ms per item over `rounds`, the item count, and how many bodies the fast path took."""
    taken = 0
    real = fastparse.parse

    def counting(*args: object) -> object:
        nonlocal taken
        result = real(*args)  # type: ignore[arg-type]
        taken += result is not None
        return result

    patch: Callable[..., object] = counting if fast else (lambda *args: None)
    times: list[float] = []
    items = 0
    with mock.patch.object(fastparse, "parse", patch):
        for _ in range(rounds):
            items = 0
            start = time.perf_counter()
            for body in bodies:
                items += len(parse_feed(body, {}, URL).entries)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / items, items, taken // rounds


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--rounds", type=int, default=5)
    options = arguments.parse_args()
    demo = [p.read_bytes() for p in sorted(DEMO.iterdir()) if p.suffix in (".xml", ".rdf", ".atom")]
    sets = {
        "demo feeds": demo,
        "generated WordPress feed (50 items)": [wordpress_feed(50)],
        "same, content links relative": [wordpress_feed(50, relative_links=True)],
    }
    print(f"parse_feed, median of {options.rounds} rounds, ms per item (lower is better)")
    print(f"{'input':40} {'items':>5} {'feedparser':>11} {'fast path':>10} {'speed-up':>9} {'fast-path docs':>15}")
    for name, bodies in sets.items():
        parse_feed(bodies[0], {}, URL)  # warm caches (nh3 cleaners, lazy imports)
        slow, items, _ = per_item_ms(bodies, fast=False, rounds=options.rounds)
        quick, _, taken = per_item_ms(bodies, fast=True, rounds=options.rounds)
        print(f"{name:40} {items:5d} {slow:11.3f} {quick:10.3f} {slow / quick:8.1f}x {taken:>8d} of {len(bodies)}")
    # Where the fast path's own time goes: the lxml walk alone, without parse.py's post-processing.
    body = wordpress_feed(50)
    prepared, headers = parse_module.repair_encoding(parse_module.prepare_bytes(body), parse_module._feedparser_headers({}, URL))
    walks: list[float] = []
    for _ in range(options.rounds):
        start = time.perf_counter()
        fastparse.parse(prepared, headers, body)
        walks.append(time.perf_counter() - start)
    walk = statistics.median(walks) * 1000 / 50
    print(f"of which the fast path's own result for the WordPress feed (before parse.py's post-processing): {walk:.3f} ms per item")


if __name__ == "__main__":
    main()
