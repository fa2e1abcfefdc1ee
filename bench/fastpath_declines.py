"""Why feeds and HTML values miss the lxml fast path: declines counted by reason.

    .venv/bin/python bench/fastpath_declines.py [--feeds 200] [--seed 11] [DIR_OR_FILE ...]

Two levels: a whole document that `fastparse` declines goes to feedparser (the slow path for
everything in it); inside an accepted document, an HTML value outside `_simple_html`'s subset still
goes through feedparser's sgmllib resolver and sanitizer (the slow path for that value). Counts
both over the generated benchmark feeds (bench/genfeeds.py, same seed as bench/peers.py), the demo
feeds, and any files or folders given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import genfeeds  # noqa: E402

from aggregator import fastparse, parse  # noqa: E402


def _html_decline(text: str, base: str) -> str:
    """The first token of `text` outside _simple_html's subset, generalised to a reason."""
    for match in fastparse._HTML_MARKUP.finditer(text):
        if match.group("bad") is not None:
            return f"a bare {match.group('bad')!r}"
        ref = match.group("ref")
        if ref is not None:
            if not fastparse._simple_ref(ref):
                return f"reference &{ref};"
            continue
        ok, _, _ = fastparse._simple_tag(match, base)
        if not ok:
            tag = match.group("tag").lower()
            if tag not in fastparse._SIMPLE_TAGS:
                return f"tag <{tag}>"
            return f"attributes of <{tag}>: {match.group(0)[:80]}"
    return "?"


def count(paths: list[Path]) -> tuple[Counter[str], Counter[str], int, int]:
    documents: Counter[str] = Counter()
    values: Counter[str] = Counter()
    simple = slow = 0
    original = fastparse._simple_html

    def spy(text: str, base: str) -> str | None:
        nonlocal simple, slow
        out = original(text, base)
        if out is None:
            slow += 1
            values[_html_decline(text, base)] += 1
        else:
            simple += 1
        return out

    fastparse._simple_html = spy  # type: ignore[assignment]
    try:
        for path in paths:
            body = path.read_bytes()
            url = f"http://127.0.0.1/{path.name}"
            try:
                prepared = parse.prepare_bytes(body)
                prepared, headers = parse.repair_encoding(prepared, parse._feedparser_headers({}, url))
            except Exception as exc:  # noqa: BLE001 - a report, not a parser
                documents[f"prepare failed: {type(exc).__name__}"] += 1
                continue
            reason = fastparse.decline_reason(prepared, headers, body)
            documents[reason or "accepted"] += 1
    finally:
        fastparse._simple_html = original  # type: ignore[assignment]
    return documents, values, simple, slow


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("extra", nargs="*", type=Path)
    args = ap.parse_args()
    sets: dict[str, list[Path]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        genfeeds.write(args.feeds, Path(tmp), args.seed)
        sets[f"generated (N={args.feeds})"] = sorted((Path(tmp) / "feeds").iterdir())
        sets["demo feeds"] = sorted((ROOT / "aggregator" / "demo_feeds").iterdir())
        for extra in args.extra:
            sets[str(extra)] = sorted(p for p in extra.rglob("*") if p.is_file()) if extra.is_dir() else [extra]
        for name, paths in sets.items():
            documents, values, simple, slow = count(paths)
            print(f"## {name}: {len(paths)} files")
            for reason, n in documents.most_common():
                print(f"  document {n:5d}  {reason[:150]}")
            print(f"  HTML values in accepted documents: {simple} in the subset, {slow} through feedparser's passes")
            for reason, n in values.most_common(15):
                print(f"  value    {n:5d}  {reason[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
