"""Which of a feed's plausible languages an entry is written in, from its text (py3langid, whose
naive Bayes model ships in its wheel), or the feed's default when the text cannot tell.

Pure and offline: no I/O beyond loading the packaged model once, on first use; never a network.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# Below this many letters a text is too short to tell (a title alone, "Video", "Statement"): on
# the test samples and the corpus, texts this short were the only ones the detector got wrong.
MIN_LETTERS = 25
# The detector's probability, among the feed's plausible languages, that it must reach.
MIN_CONFIDENCE = 0.90
# Enough text to decide; the rest of a long article only costs time.
MAX_CHARS = 1_500

LanguageSource = Literal["declared", "detected", "configured"]


@dataclass(frozen=True)
class LanguageChoice:
    """The language a copy is stored and published in, and why."""

    language: str  # one of the feed's configured tags (or the entry's own declaration)
    source: LanguageSource
    confidence: float | None = None  # the detector's, when it ran


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    # Imported and unpacked (about 0.3 s, 30 MB) only when a multi-language feed first needs it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.lru_cache(maxsize=1)
def supported() -> frozenset[str]:
    """The primary language subtags the model knows (ISO 639-1 where there is one)."""
    return frozenset(_identifier().labels)


def primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def candidates(languages: Sequence[str]) -> dict[str, str]:
    """The model's codes for a feed's configured tags, mapped back to the first tag with that code
    ("en" -> "en-GB"); only the ones the model knows."""
    known = supported()
    out: dict[str, str] = {}
    for tag in languages:
        code = primary(tag)
        if code in known and code not in out:
            out[code] = tag
    return out


def letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def scores(text: str, codes: Sequence[str]) -> dict[str, float]:
    """The detector's probabilities over `codes` only (they sum to 1): its probabilities over every
    language it knows, renormalised, which is what restricting its classes gives."""
    ranked = dict(_identifier().rank(text[:MAX_CHARS]))
    raw = {code: float(ranked.get(code, 0.0)) for code in codes}
    total = sum(raw.values())
    if not total or math.isnan(total):
        return {code: 0.0 for code in codes}
    return {code: value / total for code, value in raw.items()}


def detect(text: str, languages: Sequence[str]) -> LanguageChoice:
    """The language of `text` among `languages` (the feed's, its default first), or the default
    when only one is plausible, the text is shorter than MIN_LETTERS letters, or the detector's
    best is below MIN_CONFIDENCE."""
    default = languages[0]
    codes = candidates(languages)
    if len(codes) < 2 or letters(text) < MIN_LETTERS:
        return LanguageChoice(default, "configured")
    probabilities = scores(text, list(codes))
    best = max(probabilities, key=lambda code: probabilities[code])
    confidence = probabilities[best]
    if confidence < MIN_CONFIDENCE:
        return LanguageChoice(default, "configured", confidence)
    return LanguageChoice(codes[best], "detected", confidence)
