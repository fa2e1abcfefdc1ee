"""Language tags (BCP 47, checked with langcodes) and countries (ISO 3166, named with pycountry).

The one place that says whether a tag or a code is valid and what a language or a country is
called. Loading the registries costs more than a publish does with them (langcodes and its
names 0.1 s to import, 0.2 s for the first answers), so answers are kept between runs in the
user's cache folder (usercache.py), for as long as aggregator and the three registry packages
stay the same installation.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .usercache import cache_dir, read_json, write_json

_T = TypeVar("_T", bool, str)
_REGISTRIES = ("langcodes", "language_data", "pycountry")
_KEPT_PER_KIND = 2000  # feeds choose the tags asked about: the file must not grow without bound


class _KeptAnswers:
    """Registry answers from earlier runs, and the new ones this run adds (written at exit)."""

    def __init__(self) -> None:
        self._answers: dict[str, dict[str, Any]] | None = None
        self._path: Path | None = None
        self._added = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            self._path = _kept_file()
            kept = read_json(self._path) if self._path is not None else None
            self._answers = kept if isinstance(kept, dict) else {}
        return self._answers

    def get(self, kind: str, key: str) -> Any:
        answers = self._load().get(kind)
        return answers.get(key) if isinstance(answers, dict) else None

    def add(self, kind: str, key: str, value: object) -> None:
        answers = self._load().setdefault(kind, {})
        if len(answers) < _KEPT_PER_KIND:
            answers[key] = value
            if not self._added:
                self._added = True
                atexit.register(self.save)

    def save(self) -> None:
        if self._added and self._path is not None and self._answers is not None:
            write_json(self._path, self._answers)
            self._added = False


def _kept_file() -> Path | None:
    """One file per installation of aggregator and the registries: an upgrade of any of them
    (its files are new) starts from nothing."""
    directory = cache_dir()
    if directory is None:
        return None
    parts = [__version__]
    for name in _REGISTRIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            stat = os.stat(origin) if origin else None
        except OSError:
            stat = None
        parts.append(f"{name}={origin}:{stat.st_mtime_ns if stat else 0}:{stat.st_size if stat else 0}")
    return directory / f"locales-{hashlib.sha256(chr(10).join(parts).encode('utf-8')).hexdigest()[:32]}.json"


_KEPT = _KeptAnswers()


def _kept(kind: str, of: type[_T]) -> Callable[[Callable[[str], _T]], Callable[[str], _T]]:
    """An answer kept from an earlier run, or computed now and kept (and cached in this process)."""

    def decorate(compute: Callable[[str], _T]) -> Callable[[str], _T]:
        @functools.lru_cache(maxsize=1024)
        @functools.wraps(compute)
        def lookup(key: str) -> _T:
            found = _KEPT.get(kind, key)
            if isinstance(found, of):
                return found
            value = compute(key)
            _KEPT.add(kind, key, value)
            return value

        return lookup

    return decorate

# Only the syntax check runs on every entry: langcodes is imported when a tag passes it.
_TAG_SHAPE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,6}$")


def is_language_tag(tag: str) -> bool:
    """A well-formed, valid BCP 47 language tag such as en, en-GB, zh-Hant-TW or sr-Latn."""
    return bool(_TAG_SHAPE.match(tag)) and _is_valid_tag(tag)


@_kept("language_tag", bool)
def _is_valid_tag(tag: str) -> bool:
    import langcodes

    return bool(langcodes.tag_is_valid(tag))


def is_country_code(code: str) -> bool:
    """An officially assigned ISO 3166-1 alpha-2 code (upper case), such as GB or LK."""
    return len(code) == 2 and code.isascii() and code.isupper() and _is_assigned_country(code)


@_kept("country_code", bool)
def _is_assigned_country(code: str) -> bool:
    import pycountry

    return pycountry.countries.get(alpha_2=code) is not None


@_kept("subdivision_code", bool)
def is_subdivision_code(code: str) -> bool:
    """An ISO 3166-2 subdivision code such as GB-SCT."""
    import pycountry

    return pycountry.subdivisions.get(code=code.upper()) is not None


@_kept("country_name", str)
def country_name(code: str) -> str:
    """The English short name of a country ("Australia" for AU); the code itself if unknown."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


@_kept("language_autonym", str)
def language_autonym(tag: str) -> str:
    """A language's name in itself ("اردو" for ur, "हिन्दी" for hi), for "also in: …"; the English
    name, or the tag itself, when the names (the language-data package) do not know it."""
    base = tag.split("-", 1)[0]
    try:
        import langcodes

        own = str(langcodes.Language.get(base).autonym())
    except (ImportError, LookupError, ValueError):
        return tag
    if own and not own.lower().startswith("unknown"):
        return own
    english = language_name(base)
    return tag if english == base else english


@_kept("language_name", str)
def language_name(tag: str) -> str:
    """A language's English name ("Urdu" for ur, "Portuguese (Brazil)" for pt-BR); the tag itself
    when the names (the language-data package) do not know it."""
    try:
        import langcodes

        english = str(langcodes.Language.get(tag).display_name())
    except (ImportError, LookupError, ValueError):
        return tag
    return tag if not english or english.lower().startswith("unknown") else english


@_kept("language_label", str)
def language_label(tag: str) -> str:
    """"Urdu (اردو)" for ur, "English" for en: the English name and, when it differs, the name in
    the language itself; the tag itself when the names do not know it."""
    english = language_name(tag)
    if english == tag:
        return tag
    try:
        import langcodes

        own = str(langcodes.Language.get(tag).autonym())
    except (ImportError, LookupError, ValueError):
        return english
    return english if own in ("", english) or own.lower().startswith("unknown") else f"{english} ({own})"
