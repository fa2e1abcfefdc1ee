"""Measures per-entry language detection: accuracy on the written samples (tests/data/languages/),
the demo feeds' entries and the corpus entries whose language is declared, and the cost per entry.
Reads files and prints; changes nothing. Run: python bench/langdetect.py
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator import langdetect  # noqa: E402
from aggregator.dedupe import text_of  # noqa: E402
from aggregator.parse import parse_feed  # noqa: E402

SAMPLES = ROOT / "tests" / "data" / "languages"
DEMO = ROOT / "aggregator" / "demo_feeds"
CORPUS = ROOT.parent / "shared" / "corpus"
# The sister parties' multi-language feeds, and the other pairs a feed of that language would list.
PLAUSIBLE = {
    "si": ("si", "ta", "en"), "ta": ("ta", "si", "en"), "ur": ("ur", "en"), "hi": ("hi", "en"),
    "fr": ("fr", "nl"), "nl": ("nl", "fr"), "ms": ("ms", "en", "zh"), "zh": ("zh", "ms", "en"),
    "en": ("en", "fr"),
}
DEMO_LANGUAGES = {"socialism_in_hindi.xml": "hi", "lankasocialist_tamil.xml": "ta",
                  "socialistpakistan_urdu.xml": "ur", "gaucherevolutionnaire.rdf": "fr"}


def judge(texts: list[tuple[str, str]], label: str) -> None:
    counts: Counter[str] = Counter()
    for expected, text in texts:
        # The feed's default is another language, so a fallback counts as a miss here.
        languages = (PLAUSIBLE[expected][1], *[t for t in PLAUSIBLE[expected] if t != PLAUSIBLE[expected][1]])
        choice = langdetect.detect(text, languages)
        counts["right" if choice.language == expected else ("fallback" if choice.source == "configured" else "wrong")] += 1
    n = sum(counts.values())
    print(f"{label}: {n} texts, {counts['right']} right ({100 * counts['right'] / max(n, 1):.1f} %),"
          f" {counts['fallback']} fell back to the default, {counts['wrong']} wrong")


def entry_text(title: str, content_html: str) -> str:
    return f"{html.unescape(title)} {text_of(content_html)}"


def main() -> None:
    started = time.perf_counter()
    langdetect.detect("a text long enough to load the model at last", ("en", "fr"))
    print(f"model load: {time.perf_counter() - started:.2f} s")
    samples = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    judge([(lang, text) for lang, texts in samples.items() for text in texts], "written samples")
    short = json.loads((SAMPLES / "short.json").read_text(encoding="utf-8"))
    fell_back = sum(langdetect.detect(t, PLAUSIBLE[lang]).source == "configured" for lang, ts in short.items() for t in ts)
    print(f"short samples: {fell_back} of {sum(len(ts) for ts in short.values())} fell back to the default")
    demo: list[tuple[str, str]] = []
    for name, lang in DEMO_LANGUAGES.items():
        parsed = parse_feed((DEMO / name).read_bytes(), {}, f"http://127.0.0.1/{name}")
        demo += [(lang, entry_text(e.title, e.content_html or e.summary_html)) for e in parsed.entries]
    judge(demo, "demo feeds (hi, ta, ur, fr)")
    corpus: list[tuple[str, str]] = []
    for path in sorted(CORPUS.rglob("*.xml")) + sorted(CORPUS.rglob("*.atom")) + sorted(CORPUS.rglob("*.rss")):
        try:
            parsed = parse_feed(path.read_bytes(), {}, "http://127.0.0.1/feed")
        except Exception:
            continue
        for e in parsed.entries:
            lang = langdetect.primary(e.language or parsed.language or "")
            text = entry_text(e.title, e.content_html or e.summary_html)
            if lang in PLAUSIBLE and langdetect.letters(text) >= 200 and not re.search(r"lorem|ipsum|example", text):
                corpus.append((lang, text))
    judge(corpus, "corpus entries with a declared language and 200+ letters")
    texts = [t for _, t in demo + corpus] or [t for ts in samples.values() for t in ts]
    started = time.perf_counter()
    for text in texts:
        langdetect.detect(text, ("ms", "en", "zh"))
    per = (time.perf_counter() - started) / len(texts)
    print(f"cost: {1000 * per:.2f} ms per entry over {len(texts)} entries (3 plausible languages)")


if __name__ == "__main__":
    main()
