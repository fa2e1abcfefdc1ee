"""Language tags (BCP 47, checked with langcodes) and countries (ISO 3166, named with pycountry).

The one place that says whether a tag or a code is valid and what a country is called; no I/O.
"""

from __future__ import annotations

import functools
import re

# Only the syntax check runs on every entry: langcodes is imported when a tag passes it.
_TAG_SHAPE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,6}$")


@functools.lru_cache(maxsize=1024)
def is_language_tag(tag: str) -> bool:
    """A well-formed, valid BCP 47 language tag such as en, en-GB, zh-Hant-TW or sr-Latn."""
    if not _TAG_SHAPE.match(tag):
        return False
    import langcodes

    return bool(langcodes.tag_is_valid(tag))


@functools.lru_cache(maxsize=512)
def is_country_code(code: str) -> bool:
    """An officially assigned ISO 3166-1 alpha-2 code (upper case), such as GB or LK."""
    if len(code) != 2 or not code.isascii() or not code.isupper():
        return False
    import pycountry

    return pycountry.countries.get(alpha_2=code) is not None


@functools.lru_cache(maxsize=1024)
def is_subdivision_code(code: str) -> bool:
    """An ISO 3166-2 subdivision code such as GB-SCT."""
    import pycountry

    return pycountry.subdivisions.get(code=code.upper()) is not None


@functools.lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """The English short name of a country ("Australia" for AU); the code itself if unknown."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


@functools.lru_cache(maxsize=512)
def language_autonym(tag: str) -> str:
    """A language's name in itself ("اردو" for ur, "हिन्दी" for hi), for "also in: …"; the English
    name, or the tag itself, when the names (the language-data package) do not know it."""
    try:
        import langcodes

        language = langcodes.Language.get(tag.split("-", 1)[0])
        own = str(language.autonym())
        if own and not own.lower().startswith("unknown"):
            return own
        english = str(language.display_name())
    except (ImportError, LookupError, ValueError):
        return tag
    return tag if not english or english.lower().startswith("unknown") else english
