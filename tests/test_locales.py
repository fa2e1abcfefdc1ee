"""aggregator/locales.py: the registries' answers (valid tags and codes, language and country
names) are kept between runs in the user's cache folder, so a publish or a cycle after the first
loads neither langcodes, its names nor pycountry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator import locales

ASK = (
    "import sys; from aggregator import locales as l;"
    " print(l.language_label('ur'), l.language_name('pt-BR'), l.country_name('LK'), l.is_language_tag('ta'),"
    " l.is_country_code('ZA'), l.is_country_code('XQ'), l.is_subdivision_code('GB-SCT'), l.language_autonym('hi'), sep='|');"
    " print(*[m for m in ('langcodes', 'language_data', 'pycountry') if m in sys.modules])"
)


def ask(cache: Path) -> tuple[str, str]:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", ASK], capture_output=True, text=True, env=env, timeout=60, check=True)
    answers, loaded = (out.stdout.splitlines() + [""])[:2]
    return answers, loaded


def test_answers_are_kept_and_the_next_run_loads_no_registry(tmp_path: Path) -> None:
    answers, loaded = ask(tmp_path)
    assert answers == "Urdu (اردو)|Portuguese (Brazil)|Sri Lanka|True|True|False|True|हिन्दी"
    assert loaded.split() == ["langcodes", "language_data", "pycountry"]
    kept = list((tmp_path / "aggregator").glob("locales-*.json"))
    assert len(kept) == 1
    assert json.loads(kept[0].read_text(encoding="utf-8"))["country_name"] == {"LK": "Sri Lanka"}

    assert ask(tmp_path) == (answers, "")  # the same answers, no registry loaded
    # What is kept is what is used (a stand-in edit shows it); a broken file costs a lookup.
    kept[0].write_text(kept[0].read_text(encoding="utf-8").replace("Sri Lanka", "Lanka"), encoding="utf-8")
    assert ask(tmp_path)[0].split("|")[2] == "Lanka"
    kept[0].write_text("{broken", encoding="utf-8")
    assert ask(tmp_path) == (answers, "langcodes language_data pycountry")


def test_the_kept_answers_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Feeds choose the tags that are asked about: at most _KEPT_PER_KIND of a kind are kept."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(locales, "_KEPT_PER_KIND", 3)
    kept = locales._KeptAnswers()
    for n in range(10):
        kept.add("language_tag", f"x-tag{n}", True)
    kept.save()
    (path,) = (tmp_path / "aggregator").glob("locales-*.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"language_tag": {"x-tag0": True, "x-tag1": True, "x-tag2": True}}
