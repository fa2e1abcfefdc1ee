"""Measures story deduplication: quality on the labelled pairs in tests/data/dedupe/, and speed against a large store.
Reads files and prints; changes nothing. Run: python bench/dedupe.py [--stored 50000] [--new 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.dedupe import Candidate, Fingerprint, Match, StoryMatcher, fingerprint  # noqa: E402
from aggregator.models import DedupeSettings  # noqa: E402

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedupe" / "pairs.jsonl"


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def fingerprint_side(side: dict[str, Any]) -> Fingerprint:
    return fingerprint(side["title"], side["content_html"], side["link"], side["language"],
                       dt.datetime.fromisoformat(side["published"]))


def judge_pair(matcher: StoryMatcher, pair: dict[str, Any]) -> Match | None:
    """Store `a`, then ask whether `b` is a copy of its story."""
    stored = Candidate(copy_id=1, story_id=1, feed_url=pair["a"]["feed"], fingerprint=fingerprint_side(pair["a"]))
    return matcher.match(fingerprint_side(pair["b"]), pair["b"]["feed"], [stored])


def evaluate(settings: DedupeSettings, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    matcher = StoryMatcher(settings)
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    mistakes: list[tuple[str, str, Match | None]] = []
    rules: Counter[str] = Counter()
    for pair in pairs:
        found = judge_pair(matcher, pair)
        duplicate = pair["label"] == "duplicate"
        outcome = {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}[(duplicate, found is not None)]
        per_kind[pair["kind"]][outcome] += 1
        if found:
            rules[found.rule] += 1
        if outcome in ("FP", "FN"):
            mistakes.append((pair["id"], outcome, found))
    totals: Counter[str] = sum(per_kind.values(), Counter())
    tp, fp, fn = totals["TP"], totals["FP"], totals["FN"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return dict(precision=precision, recall=recall, f1=f1, totals=totals, per_kind=per_kind, mistakes=mistakes, rules=rules)


def print_quality(result: dict[str, Any], pairs: list[dict[str, Any]]) -> None:
    totals = result["totals"]
    print(f"Evaluation set: {len(pairs)} pairs ({sum(p['label'] == 'duplicate' for p in pairs)} duplicate)")
    print(f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}  "
          f"(TP {totals['TP']}  FP {totals['FP']}  FN {totals['FN']}  TN {totals['TN']})")
    print("matches by rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(result["rules"].items())))
    print(f"\n{'kind':36} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}")
    for kind, counts in sorted(result["per_kind"].items()):
        print(f"{kind:36} {counts['TP']:4} {counts['FP']:4} {counts['FN']:4} {counts['TN']:4}")
    by_id = {p["id"]: p for p in pairs}
    print(f"\nmistakes ({len(result['mistakes'])}):")
    for pair_id, outcome, found in result["mistakes"]:
        pair = by_id[pair_id]
        how = f"{found.rule} score {found.score:.2f}" if found else "no match"
        print(f"  {outcome} {pair_id}: {how}; {pair['a']['title'][:50]!r} vs {pair['b']['title'][:50]!r}"
              + (f" ({pair['note']})" if pair.get("note") else ""))


# --------------------------------------------------------------------------- timing


def synthetic_articles(count: int, seed: int) -> Iterator[tuple[str, str, str, dt.datetime]]:
    """Distinct articles of realistic length (200-450 words): a few stock sentences from the evaluation set,
    the rest drawn word by word from its vocabulary with its word frequencies, so stored texts share
    common words and phrases the way an archive of one political current does, without being copies."""
    pairs = load_pairs()
    texts = [side["content_html"] for p in pairs for side in (p["a"], p["b"]) if side["language"] in (None, "en") or str(side["language"]).startswith("en")]
    words = " ".join(texts).replace("<p>", " ").replace("</p>", " ").split()
    vocabulary = [w for w in words if "<" not in w and ">" not in w and "=" not in w]
    stock = sorted({s.strip() + "." for t in texts for s in t.replace("</p>", " ").replace("<p>", " ").split(". ")
                    if 6 < len(s.split()) < 40 and "<" not in s})
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for n in range(count):
        sentences = rng.sample(stock, 3)
        for _ in range(rng.randint(10, 20)):
            sentences.append(" ".join(rng.choices(vocabulary, k=rng.randint(12, 25))) + ".")
        rng.shuffle(sentences)
        published = start + dt.timedelta(minutes=15 * n)  # 50,000 entries over about 17 months
        yield (f"Article {seed}-{n}", "<p>" + " ".join(sentences) + "</p>", f"https://site{n % 14}.example/{seed}/{n}/", published)


def _fingerprint_article(article: tuple[str, str, str, dt.datetime]) -> Fingerprint:
    title, body, link, published = article
    return fingerprint(title, body, link, "en", published)


def time_matching(stored_count: int, new_count: int) -> None:
    settings = DedupeSettings()
    matcher = StoryMatcher(settings)
    feeds = [f"https://site{i}.example/feed/" for i in range(14)]

    started = time.perf_counter()
    band_index: dict[int, list[int]] = defaultdict(list)  # the store's indexed (band_key, copy_id) table
    link_index: dict[str, int] = {}
    hash_index: dict[str, list[int]] = defaultdict(list)
    stored: dict[int, Candidate] = {}
    stored_articles = list(synthetic_articles(stored_count, seed=1))
    # Building the store is setup, not what is measured: spread it over the machine's cores.
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        stored_fingerprints = pool.map(_fingerprint_article, stored_articles, chunksize=500)
    for copy_id, fp in enumerate(stored_fingerprints, 1):
        stored[copy_id] = Candidate(copy_id, copy_id, feeds[copy_id % 14], fp)
        for key in fp.band_keys:
            band_index[key].append(copy_id)
        if fp.canonical_link:
            link_index[fp.canonical_link] = copy_id
        hash_index[fp.content_hash].append(copy_id)
    build_seconds = time.perf_counter() - started
    print(f"\nTiming: {stored_count} stored fingerprints built in {build_seconds:.1f} s "
          f"({len(band_index)} distinct band keys, {sum(map(len, band_index.values()))} band rows)")

    # New entries: mostly fresh articles, plus reposts of stored ones (a changed intro) so matches happen.
    rng = random.Random(7)
    fresh = list(synthetic_articles(new_count, seed=2))
    new_entries = []
    for i, (title, body, link, _) in enumerate(fresh):
        if i % 10 == 0:
            title, body, link, published = stored_articles[rng.randrange(stored_count)]
            body = "<p>Republished from our sister party, with thanks.</p>" + body
            link = link + "repost/"
        else:
            published = dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=15 * i)
        new_entries.append((title, body, link, published))

    started = time.perf_counter()
    fingerprints = [fingerprint(t, b, l, "en", p) for t, b, l, p in new_entries]
    fingerprint_seconds = time.perf_counter() - started

    started = time.perf_counter()
    matched = 0
    candidate_total = 0
    for i, fp in enumerate(fingerprints):
        ids: set[int] = set()
        for key in fp.band_keys:
            ids.update(band_index.get(key, ()))
        if fp.canonical_link in link_index:
            ids.add(link_index[fp.canonical_link])
        ids.update(hash_index.get(fp.content_hash, ()))
        candidate_total += len(ids)
        if matcher.match(fp, "https://newsite.example/feed/", (stored[c] for c in ids)):
            matched += 1
    match_seconds = time.perf_counter() - started
    per_thousand = 1000 / new_count
    print(f"{new_count} new entries against {stored_count} stored "
          f"({candidate_total / new_count:.1f} candidates per entry from band lookup, {matched} matched, "
          f"{new_count // 10} planted reposts):")
    print(f"  fingerprint: {fingerprint_seconds * 1000 * per_thousand:.0f} ms per 1,000 entries")
    print(f"  match:       {match_seconds * 1000 * per_thousand:.0f} ms per 1,000 entries")
    print(f"  total:       {(fingerprint_seconds + match_seconds) * 1000 * per_thousand:.0f} ms per 1,000 entries")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=50_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--threshold", type=float, default=DedupeSettings().similarity_threshold)
    args = parser.parse_args()
    pairs = load_pairs()
    print_quality(evaluate(DedupeSettings(similarity_threshold=args.threshold), pairs), pairs)
    time_matching(args.stored, args.new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
