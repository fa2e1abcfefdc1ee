"""The published HTML page in a real browser (Debian's chromium, headless): it renders every region's
stories, marks languages and direction, and no payload from a hostile feed runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from conftest import FEED_DATA, feed_entry, run_cli, write_config
from feedserver import FeedServer

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=2000",
]  # fmt: skip

HOSTILE_ITEM = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://evil.example/</link><description>x</description>
<item><title>Payload &lt;script&gt;document.title='pwned'&lt;/script&gt;</title>
<link>https://evil.example/a</link><guid>https://evil.example/a</guid>
<pubDate>Mon, 30 Nov 2026 10:00:00 +0000</pubDate>
<description>&lt;p&gt;Text&lt;img src="x" onerror="document.body.setAttribute('data-pwned','1')"&gt;
&lt;script&gt;document.body.setAttribute('data-pwned','2')&lt;/script&gt;
&lt;a href="javascript:document.body.setAttribute('data-pwned','3')"&gt;click&lt;/a&gt;
&lt;iframe src="https://evil.example/frame"&gt;&lt;/iframe&gt;&lt;/p&gt;</description></item>
</channel></rss>"""


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run .ci/install-test-tools.sh")
    return path


def _dump_dom(page: Path, profile: Path) -> str:
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_index_page_renders_every_region_in_a_real_browser(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(
        tmp_path,
        [
            feed_entry(feed_server.add("/wp.xml", FEED_DATA / "wordpress_rss2.xml"), "Europe Party"),
            feed_entry(feed_server.add("/urdu.xml", FEED_DATA / "urdu_rtl.xml"), "Urdu Party", region="asia",
                       country="PK", language="ur"),
            feed_entry(feed_server.add("/evil.xml", HOSTILE_ITEM), "Hostile Party", region="africa", country="NG"),
        ],
    )  # fmt: skip
    assert run_cli("fetch", "-c", config).code == 0
    page = tmp_path / "public" / "index.html"
    dom = lxml_html.fromstring(_dump_dom(page, tmp_path / "profile"))

    # Nothing from the hostile feed ran: no attribute set, title untouched, no script/iframe left.
    body = dom.find("body")
    assert body.get("data-pwned") is None
    assert dom.findtext(".//title") == "Test World News"
    assert not dom.xpath("//script") and not dom.xpath("//iframe")
    assert not [a for a in dom.xpath("//a/@href") if a.strip().lower().startswith("javascript")]

    sections = {s.get("data-region"): s for s in dom.xpath("//section[@data-region]")}
    assert set(sections) == {"europe", "asia", "africa"}
    assert len(sections["europe"].xpath(".//article")) >= 3
    urdu = sections["asia"].xpath(".//article")
    assert urdu and all(a.get("lang") == "ur" and a.get("dir") == "auto" for a in urdu)
    hostile = sections["africa"].xpath(".//article//h3")[0].text_content()
    assert "Payload" in hostile

    feeds = dom.xpath("//link[@rel='alternate'][@type='application/atom+xml']/@href")
    assert feeds[0] == "feed.atom" and {"regions/europe.atom", "regions/asia.atom"} <= set(feeds)

    screenshot = tmp_path / "index.png"
    subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1000,1400",
         f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one
