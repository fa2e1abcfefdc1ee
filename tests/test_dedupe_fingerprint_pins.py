"""Stored fingerprints must stay comparable with the ones later runs compute (dedupe.FINGERPRINT_VERSION):
these pins were computed once and must not move. A failure here means a change to the text
normalisation, the shingling or the hashing: either undo it, or bump FINGERPRINT_VERSION and make
the store recompute what it holds, then re-pin."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from aggregator.dedupe import fingerprint

T0 = dt.datetime(2025, 3, 14, 10, 0, tzinfo=dt.timezone.utc)

_STRIKE = " ".join(
    f"<p>Bus drivers at depot {i} walked out on 14 March, demanding a pay rise of 12 per cent and an end to split shifts.</p>"
    for i in range(6)
)
CASES: dict[str, tuple[str, str]] = {
    "ascii": ("Sheffield bus drivers strike for decent pay", _STRIKE),
    "curly quotes and entities": (
        "Workers&#8217; victory: “No cuts!”",
        _STRIKE.replace("drivers", "drivers’").replace("pay", "pay&nbsp;&amp;&nbsp;conditions"),
    ),
    "french": (
        "Grève à l'hôpital : les infirmières gagnent",
        " ".join(f"<p>Les travailleurs de l’hôpital {i} ont fait grève, exigeant une hausse des salaires et "
                 "la fin des coupes budgétaires imposées par le gouvernement.</p>" for i in range(5)),
    ),
    "hindi with marks and invisible characters": (
        "मज़दूरों की हड़ताल",
        " ".join(f"<p>मज़दूरों\u200c की हड़ताल {i} जारी है, सरकार\u00ad की नीतियों के ख़िलाफ़ सभी यूनियन एकजुट हैं और वेतन में वृद्धि की मांग कर रही हैं।</p>"
                 for i in range(6)),
    ),
    "urdu": (
        "مزدوروں کی ہڑتال",
        " ".join(f"<p>مزدوروں کی ہڑتال {i} جاری ہے اور حکومت کی پالیسیوں کے خلاف تمام یونینیں متحد ہیں، تنخواہوں میں اضافے کا مطالبہ۔</p>"
                 for i in range(6)),
    ),
    "tamil": (
        "தொழிலாளர் வேலைநிறுத்தம்",
        " ".join(f"<p>தொழிலாளர்கள் {i} வேலைநிறுத்தம் செய்தனர், ஊதிய உயர்வு கோரி அரசாங்கத்தின் கொள்கைகளுக்கு எதிராக.</p>"
                 for i in range(8)),
    ),
    "fullwidth and ligatures (NFKC)": ("ＦＵＬＬ ｗｉｄｔｈ ﬁnal", _STRIKE.replace("drivers", "ﬁrst ＤＲＩＶＥＲＳ")),
    "excerpt with marker": ("Short teaser", "<p>" + " ".join(f"word{i}" for i in range(45)) + " [&hellip;]</p>"),
    "yoast footer and read more": (
        "Footer",
        _STRIKE + '<p>Continue reading <a href="https://e.org/x">here</a></p>'
        '<p>The post <a href="https://e.org/x">Footer</a> appeared first on <a href="https://e.org/">Site</a>.</p>',
    ),
    "mojibake": ("The workersâ€™ strike", _STRIKE.replace("drivers", "driversâ€™")),
    "dropped elements and underscores": (
        "Snake_case TITLE",
        "<script>var x_y = 1;</script><style>p{}</style><!-- c --><figure><figcaption>cap</figcaption></figure>"
        + _STRIKE.replace("pay", "pay_rise__now"),
    ),
    "too short for similarity": ("Editorial", "<p>May Day greetings to all our readers.</p>"),
}

PINS = {
    # name: (title_key, content_hash, lead_key, is_excerpt, word_count, sha256(minhash)[:16], sha256(repr(band_keys))[:16])
    "ascii": ('sheffield bus drivers strike for decent pay', '3eb98c1e14f84637bb87224d65157039', 'e9bc1b78044bf0616e1503db79505e8d', False, 144, "688dd17020df1fb5", "29f8a9c5c2b96367"),
    "curly quotes and entities": ('workers victory no cuts', '84d60ab97979fed68797284d31b89507', '56e62f7a39b122814c935e70933d6f57', False, 150, "bafd6d28b5b6d705", "cb1b6720a3e0d84d"),
    "french": ('grève à l hôpital les infirmières gagnent', 'd59640d5d4fd02bb66749ca6085a2825', '5b4215b64a14c0be814033cb1547fe26', False, 120, "76c452c6a067a008", "a5c90b2aec864a30"),
    "hindi with marks and invisible characters": ('मज़दूरों की हड़ताल', '6013adc0879676b7918c3a522ea05615', '0ff9bcd35dde298a07c4cb721ee39b3e', False, 144, "c3ba80236590a0bf", "bd1b1d85d947c484"),
    "urdu": ('مزدوروں کی ہڑتال', 'f73bc24cfa3ef2d20f6029c061e97672', '58ebcf8a663f94a038e93ba3239ba037', False, 126, "131c018f43314e74", "f79da42d349690ce"),
    "tamil": ('தொழிலாளர் வேலைநிறுத்தம்', '66129dea71ade1aebaec78653378bd22', '7a0f8534c9cd715f53b5d335351989fb', False, 80, "6302ab36879f266c", "36c90451fdf373a3"),
    "fullwidth and ligatures (NFKC)": ('full width final', 'c5c9a671dedf8f90147369f2d2699e65', '013c35d03cf550efbd1b1a664003e9f2', False, 150, "8bd198a589fe92d3", "84ac25316b0191e4"),
    "excerpt with marker": ('short teaser', 'c9bd06b270efd02ae767c85bd4a93038', 'e8ee3e4ac3432ed0f9ff7cfda11efa5a', True, 45, "2a25624f6846bb9f", "fa3a81b5abfa14e5"),
    "yoast footer and read more": ('footer', 'ce518e4571b1e8d08a0be3f4bcaecb39', 'e9bc1b78044bf0616e1503db79505e8d', False, 144, "688dd17020df1fb5", "29f8a9c5c2b96367"),
    "mojibake": ('the workersâ tm strike', '3906985c458dccfd6d045d3c0c3d7462', 'e9bc1b78044bf0616e1503db79505e8d', False, 144, "688dd17020df1fb5", "29f8a9c5c2b96367"),
    "dropped elements and underscores": ('snake case title', '115f4fc01882be87fbcb68c487fc6e71', '9e1bb41813b2dad7471611ec5f378b23', False, 156, "9aaabe1fa00e7534", "726fe2096ec44b0a"),
    "too short for similarity": ('editorial', '865814b903efa4a55663a484fa25970d', None, False, 7, "9f56cda75fefeab9", "2e38e77b22c314a4"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fingerprints_do_not_move(name: str) -> None:
    title, html = CASES[name]
    f = fingerprint(title, html, None, None, T0)
    got = (
        f.title_key, f.content_hash, f.lead_key, f.is_excerpt, f.word_count,
        hashlib.sha256(f.minhash).hexdigest()[:16], hashlib.sha256(repr(f.band_keys).encode()).hexdigest()[:16],
    )  # fmt: skip
    assert got == PINS[name]
