"""A site for the web tests: real feeds served on 127.0.0.1 (Latin, Urdu, Hindi, Tamil and a hostile
one), one real cycle into a real SQLite database, editors' sections and one editor."""

from __future__ import annotations

from pathlib import Path

from aggregator.config import load_config
from aggregator.cycle import run_cycle
from aggregator.models import Config
from aggregator.store import Store
from aggregator.web.auth import hash_password
from conftest import FEED_DATA, feed_entry, write_config
from feedserver import FeedServer

EDITOR, PASSWORD, SECTION = "ana", "correct horse battery", "spew"
OTHER_EDITOR, OTHER_SECTION = "ravi", "nsa"

HOSTILE_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://hostile.example/</link><description>x</description>
<item><title>&lt;script&gt;alert("title")&lt;/script&gt; Strike &lt;img src=x onerror=alert(1)&gt;</title>
<link>https://hostile.example/strike</link><guid>https://hostile.example/strike</guid>
<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate>
<description>&lt;p onclick="alert(2)"&gt;Dockers walk out&lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;&lt;img src="x" onerror="alert(4)"&gt;&lt;a href="javascript:alert(5)"&gt;more&lt;/a&gt;</description>
</item></channel></rss>
"""

FEEDS = [
    ("wordpress_rss2.xml", "Socialist Party Scotland", "europe", "GB", "en"),
    ("rss10_rdf.xml", "Gauche Révolutionnaire", "europe", "FR", "fr"),
    ("urdu_rtl.xml", "Socialist Movement Pakistan", "asia", "PK", "ur"),
    ("hindi.xml", "New Socialist Alternative", "asia", "IN", "hi"),
    ("tamil.xml", "United Socialist Party", "asia", "LK", "ta"),
    ("blogger_atom.xml", "Socialismo Revolucionario", "americas", "CL", "es"),
]


def build_site(directory: Path, server: FeedServer) -> Config:
    feeds = []
    for name, party, region, country, language in FEEDS:
        url = server.add(f"/{name}", FEED_DATA / name)
        feeds.append(feed_entry(url, party, region=region, country=country, language=language))
    # The same feed under a second party: its entries merge into stories with two copies.
    twin = server.add("/twin/wordpress_rss2.xml", FEED_DATA / "wordpress_rss2.xml")
    feeds.append(feed_entry(twin, "Socialist Alternative", region="europe", country="GB", language="en"))
    hostile = server.add("/hostile.xml", HOSTILE_RSS, content_type="application/rss+xml")
    feeds.append(feed_entry(hostile, "Hostile <b>Party</b>", region="africa", country="NG", language="en"))
    path = write_config(
        directory, feeds, retention={"days": 36500},
        regions={"europe": "Europe", "asia": "Asia", "africa": "Africa", "americas": "Americas"},
        sections={SECTION: "Socialist Party (England & Wales)", OTHER_SECTION: "New Socialist Alternative"},
    )  # fmt: skip
    config = load_config(path)
    report = run_cycle(config, force_all=True)
    if report.failed:
        with Store.open(config.database) as store:
            raise AssertionError([(h.name, h.last_error) for h in store.feed_health() if h.last_error])
    with Store.open(config.database) as store:
        store.add_user(EDITOR, SECTION, hash_password(PASSWORD))
        store.add_user(OTHER_EDITOR, OTHER_SECTION, hash_password(PASSWORD))
    return config
