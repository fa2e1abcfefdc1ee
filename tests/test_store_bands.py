"""What the store writes for dedupe (issue 11): LSH band rows only for copies that can still be
compared by text, and the word normalisation that fingerprints use, kept exact while made faster."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import format_datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import dedupe
from aggregator.config import load_config
from aggregator.models import FetchResult
from aggregator.store import Store
from aggregator.update import update_feed
from conftest import feed_entry, write_config

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc)
WORDS = "workers union strike wages government party congress members rally housing rents council".split()


def _item(i: int, published: dt.datetime) -> str:
    text = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] + str(j % 5) for j in range(80))
    return (f"<item><title>Story {i}</title><link>https://party.example/{i}</link><guid>urn:test:{i}</guid>"
            f"<pubDate>{format_datetime(published)}</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>")  # fmt: skip


def test_band_rows_are_written_only_for_copies_inside_twice_the_window(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party")],
                                      retention_days=3650, dedupe={"window_days": 14}))  # fmt: skip
    feed = config.feeds[0]
    items = [_item(1, NOW - dt.timedelta(days=3)), _item(2, NOW - dt.timedelta(days=27)), _item(3, NOW - dt.timedelta(days=45))]
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>{"".join(items)}</channel></rss>'.encode()
    result = FetchResult(url=feed.url, status="ok", http_status=200, body=body, headers={"content-type": "application/rss+xml"})
    with Store.open(config.database) as store:
        store.sync_feeds(config.feeds, NOW)
        outcome = update_feed(store, config, feed, result, NOW)
        rows = dict(
            store.db.execute(
                "SELECT e.original_id, count(b.band) FROM entries e LEFT JOIN entry_bands b ON b.entry_id = e.id"
                " GROUP BY e.id"
            ).fetchall()
        )
    assert outcome.new == 3
    assert rows == {"urn:test:1": dedupe.BANDS, "urn:test:2": dedupe.BANDS, "urn:test:3": 0}


_OLD_NOT_WORD = re.compile(
    r"(?:[^\w\u0300-\u036f\u0900-\u0963\u0966-\u0dff\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]|_)+"
)


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.sampled_from(list("ab_ _-.,'’é\u0301ßİ") + ["हड़", "ताल", "\u200c", "\u00ad", "٣", "x_y", "__", "ﬁ"]), max_size=30))
def test_normalise_gives_what_the_alternation_pattern_gave(pieces: list[str]) -> None:
    text = "".join(pieces)
    import unicodedata

    reference = text
    if not reference.isascii():
        reference = unicodedata.normalize("NFKC", reference)
        reference = dedupe._INVISIBLE.sub("", reference).casefold()
        reference = _OLD_NOT_WORD.sub(" ", reference).strip()
    else:
        reference = re.sub(r"[^0-9a-z]+", " ", reference.lower()).strip()
    assert dedupe._normalise(text) == reference


def test_bands_of_copies_past_twice_the_window_are_pruned_at_most_an_hour_late(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, [feed_entry("https://party.example/feed/", "Party")],
                                      retention_days=3650, dedupe={"window_days": 14}))  # fmt: skip
    feed = config.feeds[0]
    band_days = 28
    items = [_item(1, NOW - dt.timedelta(days=3)), _item(2, NOW - dt.timedelta(days=27)),
             _item(3, NOW - dt.timedelta(days=27) + dt.timedelta(minutes=30))]  # fmt: skip
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>{"".join(items)}</channel></rss>'.encode()
    result = FetchResult(url=feed.url, status="ok", http_status=200, body=body, headers={"content-type": "application/rss+xml"})

    def banded(store: Store) -> set[str]:
        return {r[0] for r in store.db.execute(
            "SELECT DISTINCT e.original_id FROM entries e JOIN entry_bands b ON b.entry_id = e.id")}  # fmt: skip

    def prune_at(store: Store, when: dt.datetime) -> None:
        with store.transaction():
            store.prune(when, config.retention_days, band_days=band_days)

    with Store.open(config.database) as store:
        store.sync_feeds(config.feeds, NOW)
        assert update_feed(store, config, feed, result, NOW).new == 3
        assert banded(store) == {"urn:test:1", "urn:test:2", "urn:test:3"}
        # A day later story 2 is past twice the window: its bands go, the others' stay.
        first = NOW + dt.timedelta(days=1, minutes=1)
        prune_at(store, first)
        assert banded(store) == {"urn:test:1", "urn:test:3"}
        # Story 3 ages out half an hour later; a prune 40 minutes after the first still keeps its
        # bands (the cutoff moved less than an hour)...
        prune_at(store, first + dt.timedelta(minutes=40))
        assert banded(store) == {"urn:test:1", "urn:test:3"}
        # ...and the one after the cutoff's hour takes them.
        prune_at(store, first + dt.timedelta(minutes=61))
        assert banded(store) == {"urn:test:1"}
        # A clock set back prunes at once.
        store.db.execute("INSERT INTO entry_bands (band, entry_id) SELECT 7, id FROM entries WHERE original_id = 'urn:test:3'")
        prune_at(store, first + dt.timedelta(minutes=30))
        assert banded(store) == {"urn:test:1"}
