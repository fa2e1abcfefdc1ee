"""Deterministic generator of N realistic feeds for the peer benchmark (bench/peers.py).

    .venv/bin/python bench/genfeeds.py --feeds 200 --out /tmp/feeds [--seed 11]

Writes feeds/<i>.<ext> (a third RSS 2.0 with content:encoded, a third Atom, a third RSS 1.0/RDF),
20 to 50 items each with 1 to 6 KB of WordPress-like HTML, in English, French, Spanish, German,
Portuguese, Urdu, Hindi and Tamil, dated within the 60 days before a fixed anchor. About 5% of the
stories are republished on 2 to 4 feeds (same link and body, sometimes another headline). Also
writes `manifest.json` (one record per feed: path, format, language, item count) and, with
`--incremental-share 0.1`, an `incremental/` folder holding the same files of 10% of the feeds
with 1 to 3 new items on top. Same seed, same N: byte-identical output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ANCHOR = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.timezone.utc)
SITE = "https://party{n}.example.org"

# Small word banks per language, enough to build varied sentences (no real article text).
WORDS: dict[str, list[str]] = {
    "en": """workers union strike wages government party congress members rally housing rents council
        budget cuts hospital nurses teachers pension reform election campaign socialist solidarity
        protest march factory closure jobs climate energy prices transport railway dockers council
        tenants eviction landlord profits bosses struggle victory ballot democracy rights women
        youth students tuition fees public services privatisation nationalisation""".split(),
    "fr": """travailleurs syndicat grève salaires gouvernement parti congrès militants manifestation
        logement loyers conseil budget coupes hôpital infirmières enseignants retraites réforme
        élection campagne socialiste solidarité usine fermeture emplois climat énergie prix
        transports cheminots locataires expulsion profits patrons lutte victoire démocratie droits
        femmes jeunesse étudiants services publics privatisation""".split(),
    "es": """trabajadores sindicato huelga salarios gobierno partido congreso militantes manifestación
        vivienda alquileres consejo presupuesto recortes hospital enfermeras maestros pensiones
        reforma elección campaña socialista solidaridad fábrica cierre empleos clima energía
        precios transporte ferroviarios inquilinos desahucio ganancias patrones lucha victoria
        democracia derechos mujeres juventud estudiantes servicios públicos""".split(),
    "de": """Arbeiter Gewerkschaft Streik Löhne Regierung Partei Kongress Mitglieder Kundgebung
        Wohnungen Mieten Rat Haushalt Kürzungen Krankenhaus Pflegekräfte Lehrer Renten Reform Wahl
        Kampagne sozialistisch Solidarität Fabrik Schließung Arbeitsplätze Klima Energie Preise
        Verkehr Eisenbahner Mieter Räumung Profite Bosse Kampf Sieg Demokratie Rechte Frauen
        Jugend Studierende""".split(),
    "pt": """trabalhadores sindicato greve salários governo partido congresso militantes manifestação
        habitação rendas conselho orçamento cortes hospital enfermeiras professores pensões reforma
        eleição campanha socialista solidariedade fábrica encerramento empregos clima energia
        preços transportes ferroviários inquilinos despejo lucros patrões luta vitória""".split(),
    "ur": """مزدور یونین ہڑتال اجرت حکومت پارٹی کانگریس اراکین جلسہ رہائش کرایہ کونسل بجٹ کٹوتی
        ہسپتال نرسیں اساتذہ پنشن اصلاحات انتخابات مہم سوشلسٹ یکجہتی احتجاج مارچ فیکٹری بندش
        روزگار موسم توانائی قیمتیں ٹرانسپورٹ ریلوے کسان زمین جدوجہد فتح جمہوریت حقوق خواتین
        نوجوان طلبہ""".split(),
    "hi": """मज़दूर यूनियन हड़ताल वेतन सरकार पार्टी सम्मेलन सदस्य रैली आवास किराया परिषद बजट कटौती
        अस्पताल नर्सें शिक्षक पेंशन सुधार चुनाव अभियान समाजवादी एकजुटता विरोध जुलूस कारखाना
        बंदी रोज़गार जलवायु ऊर्जा कीमतें परिवहन रेलवे किसान ज़मीन संघर्ष जीत लोकतंत्र अधिकार
        महिलाएँ युवा छात्र""".split(),
    "ta": """தொழிலாளர்கள் சங்கம் வேலைநிறுத்தம் ஊதியம் அரசு கட்சி மாநாடு உறுப்பினர்கள் பேரணி
        வீடு வாடகை மன்றம் பட்ஜெட் வெட்டு மருத்துவமனை செவிலியர்கள் ஆசிரியர்கள் ஓய்வூதியம்
        சீர்திருத்தம் தேர்தல் பிரச்சாரம் சோசலிச ஒற்றுமை போராட்டம் ஊர்வலம் தொழிற்சாலை மூடல்
        வேலைகள் காலநிலை ஆற்றல் விலைகள் போக்குவரத்து ரயில்வே விவசாயிகள் நிலம் வெற்றி
        ஜனநாயகம் உரிமைகள் பெண்கள் இளைஞர்கள் மாணவர்கள்""".split(),
}
# language -> (region, country)
PLACES = {
    "en": [("europe", "GB"), ("europe", "IE"), ("americas", "US"), ("africa", "ZA"), ("asia", "LK")],
    "fr": [("europe", "FR"), ("europe", "BE"), ("africa", "SN")],
    "es": [("europe", "ES"), ("americas", "MX"), ("americas", "CL")],
    "de": [("europe", "DE"), ("europe", "AT")],
    "pt": [("europe", "PT"), ("americas", "BR")],
    "ur": [("asia", "PK")],
    "hi": [("asia", "IN")],
    "ta": [("asia", "IN"), ("asia", "LK")],
}
LANG_WEIGHTS = {"en": 30, "fr": 12, "es": 12, "de": 8, "pt": 8, "ur": 10, "hi": 10, "ta": 10}
FORMATS = ("rss2", "atom", "rdf")
EXT = {"rss2": "xml", "atom": "atom", "rdf": "rdf"}
CATEGORIES = ["Workplace", "International", "Housing", "Environment", "Elections", "Youth", "Women", "Theory"]


@dataclass
class Item:
    guid: str
    link: str
    title: str
    html: str
    summary: str
    published: dt.datetime
    author: str
    categories: list[str]


@dataclass
class Feed:
    index: int
    fmt: str
    language: str
    region: str
    country: str
    items: list[Item] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"feeds/{self.index:05d}.{EXT[self.fmt]}"

    @property
    def site(self) -> str:
        return SITE.format(n=self.index)

    @property
    def name(self) -> str:
        return f"Party {self.index} ({self.country})"


def sentence(rng: random.Random, words: list[str], lo: int = 8, hi: int = 22) -> str:
    s = " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))
    return s[0].upper() + s[1:] + "."


def article_html(rng: random.Random, words: list[str], target: int) -> str:
    """WordPress-like post markup, about `target` bytes of UTF-8."""
    parts: list[str] = []
    size = 0
    n = 0
    while size < target:
        n += 1
        kind = rng.random()
        if n > 1 and kind < 0.08:
            block = f'<h2 class="wp-block-heading">{escape(sentence(rng, words, 3, 7))}</h2>'
        elif n > 1 and kind < 0.14:
            block = (
                '<figure class="wp-block-image size-large"><img decoding="async" loading="lazy" '
                f'width="1024" height="683" src="https://cdn.example.org/wp-content/uploads/2026/11/img-{rng.randrange(10**6)}.jpg" '
                f'alt="" class="wp-image-{rng.randrange(10**5)}"/><figcaption class="wp-element-caption">'
                f"{escape(sentence(rng, words, 4, 9))}</figcaption></figure>"
            )
        elif n > 1 and kind < 0.2:
            block = f'<blockquote class="wp-block-quote"><p>{escape(sentence(rng, words))}</p></blockquote>'
        elif n > 1 and kind < 0.25:
            lis = "".join(f"<li>{escape(sentence(rng, words, 3, 9))}</li>" for _ in range(rng.randint(2, 5)))
            block = f'<ul class="wp-block-list">{lis}</ul>'
        else:
            text = " ".join(escape(sentence(rng, words)) for _ in range(rng.randint(2, 5)))
            if rng.random() < 0.3:
                text += f' <a href="https://news.example.net/{rng.randrange(10**6)}">{escape(rng.choice(words))}</a>'
            if rng.random() < 0.2:
                text = f"<strong>{escape(rng.choice(words))}</strong> " + text
            block = f"<p>{text}</p>"
        parts.append(block)
        size += len(block.encode())
    parts.append('<p class="share">Share: <a href="https://twitter.example/share">X</a> · '
                 '<a href="https://facebook.example/share">Facebook</a></p>')  # fmt: skip
    return "\n".join(parts)


def build(n_feeds: int, seed: int = 11) -> list[Feed]:
    rng = random.Random(f"{seed}:{n_feeds}")
    langs = list(LANG_WEIGHTS)
    feeds: list[Feed] = []
    for i in range(n_feeds):
        lang = rng.choices(langs, weights=[LANG_WEIGHTS[x] for x in langs])[0]
        region, country = rng.choice(PLACES[lang])
        feeds.append(Feed(i, FORMATS[i % 3], lang, region, country))
    for feed in feeds:
        words = WORDS[feed.language]
        for k in range(rng.randint(20, 50)):
            feed.items.append(new_item(rng, feed, words, k, ANCHOR - dt.timedelta(seconds=rng.randrange(60 * 86400))))
    # About 5% of stories republished on 2 to 4 other feeds of the same language (with a same-language
    # feed available): same link and body, a new guid, sometimes another headline, a later date.
    by_lang: dict[str, list[Feed]] = {}
    for feed in feeds:
        by_lang.setdefault(feed.language, []).append(feed)
    total = sum(len(f.items) for f in feeds)
    for _ in range(total // 20):
        src = rng.choice(feeds)
        peers = [f for f in by_lang[src.language] if f is not src]
        if not peers:
            continue
        item = rng.choice(src.items)
        for dst in rng.sample(peers, min(len(peers), rng.randint(1, 3))):
            if len(dst.items) >= 50:
                continue
            title = item.title if rng.random() < 0.5 else sentence(rng, WORDS[dst.language], 4, 10)[:-1]
            dst.items.append(Item(
                guid=f"{dst.site}/?p=r{len(dst.items)}-{rng.randrange(10**9)}", link=item.link, title=title,
                html=item.html, summary=item.summary, published=min(ANCHOR, item.published + dt.timedelta(hours=rng.randint(1, 48))),
                author=f"{dst.name} editors", categories=item.categories,
            ))  # fmt: skip
    for feed in feeds:
        feed.items.sort(key=lambda it: it.published, reverse=True)
    return feeds


def new_item(rng: random.Random, feed: Feed, words: list[str], k: int, published: dt.datetime) -> Item:
    post = rng.randrange(10**7)
    title = sentence(rng, words, 4, 11)[:-1]
    html = article_html(rng, words, rng.randint(1000, 6000))
    summary = sentence(rng, words, 20, 40)
    return Item(
        guid=f"{feed.site}/?p={post}", link=f"{feed.site}/{published:%Y/%m/%d}/post-{post}/", title=title,
        html=html, summary=summary, published=published.replace(microsecond=0),
        author=rng.choice(["Editorial board", "A. Worker", "M. Rossi", "Correspondent", "S. Khan"]),
        categories=rng.sample(CATEGORIES, rng.randint(1, 3)),
    )  # fmt: skip


def render(feed: Feed) -> bytes:
    updated = max(it.published for it in feed.items)
    lang = feed.language
    if feed.fmt == "rss2":
        items = "".join(
            f"""
	<item>
		<title>{escape(it.title)}</title>
		<link>{escape(it.link)}</link>
		<dc:creator><![CDATA[{it.author}]]></dc:creator>
		<pubDate>{format_datetime(it.published)}</pubDate>
		{"".join(f"<category><![CDATA[{c}]]></category>" for c in it.categories)}
		<guid isPermaLink="false">{escape(it.guid)}</guid>
		<description><![CDATA[{it.summary} [&#8230;]]]></description>
		<content:encoded><![CDATA[{it.html}]]></content:encoded>
	</item>"""
            for it in feed.items
        )
        doc = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel>
	<title>{escape(feed.name)}</title>
	<atom:link href="{feed.site}/feed/" rel="self" type="application/rss+xml" />
	<link>{feed.site}</link>
	<description>News of {escape(feed.name)}</description>
	<lastBuildDate>{format_datetime(updated)}</lastBuildDate>
	<language>{lang}</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<generator>https://wordpress.org/?v=6.7</generator>{items}
</channel>
</rss>
"""
    elif feed.fmt == "atom":
        entries = "".join(
            f"""
  <entry>
    <author><name>{escape(it.author)}</name></author>
    <title type="html"><![CDATA[{it.title}]]></title>
    <link rel="alternate" type="text/html" href="{escape(it.link)}" />
    <id>{escape(it.guid)}</id>
    <updated>{it.published.isoformat()}</updated>
    <published>{it.published.isoformat()}</published>
    {"".join(f'<category scheme="{feed.site}" term="{c}" />' for c in it.categories)}
    <summary type="html"><![CDATA[{it.summary}]]></summary>
    <content type="html" xml:base="{escape(it.link)}"><![CDATA[{it.html}]]></content>
  </entry>"""
            for it in feed.items
        )
        doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}" xml:base="{feed.site}/wp-atom.php">
  <title type="text">{escape(feed.name)}</title>
  <subtitle type="text">News of {escape(feed.name)}</subtitle>
  <updated>{updated.isoformat()}</updated>
  <link rel="alternate" type="text/html" href="{feed.site}" />
  <id>{feed.site}/feed/atom/</id>
  <link rel="self" type="application/atom+xml" href="{feed.site}/feed/atom/" />
  <generator uri="https://wordpress.org/" version="6.7">WordPress</generator>{entries}
</feed>
"""
    else:
        seq = "".join(f'<rdf:li rdf:resource="{escape(it.link)}"/>' for it in feed.items)
        items = "".join(
            f"""
<item rdf:about="{escape(it.link)}">
	<title>{escape(it.title)}</title>
	<link>{escape(it.link)}</link>
	<dc:date>{it.published.isoformat()}</dc:date>
	<dc:creator>{escape(it.author)}</dc:creator>
	<dc:subject>{escape(it.categories[0])}</dc:subject>
	<description>{escape(it.summary)}</description>
	<content:encoded><![CDATA[{it.html}]]></content:encoded>
</item>"""
            for it in feed.items
        )
        doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
	xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xml:lang="{lang}">
<channel rdf:about="{feed.site}/feed/rdf/">
	<title>{escape(feed.name)}</title>
	<link>{feed.site}</link>
	<description>News of {escape(feed.name)}</description>
	<dc:date>{updated.isoformat()}</dc:date>
	<items><rdf:Seq>{seq}</rdf:Seq></items>
</channel>{items}
</rdf:RDF>
"""
    return doc.encode("utf-8")


def add_new_items(feeds: list[Feed], share: float, seed: int) -> tuple[list[Feed], int]:
    """Give `share` of the feeds 1 to 3 new items (newest, after the anchor). Returns those feeds."""
    rng = random.Random(f"{seed}:incremental:{len(feeds)}")
    chosen = rng.sample(feeds, max(1, round(len(feeds) * share)))
    added = 0
    for feed in chosen:
        for k in range(rng.randint(1, 3)):
            when = ANCHOR + dt.timedelta(minutes=rng.randint(1, 600))
            feed.items.insert(0, new_item(rng, feed, WORDS[feed.language], 1000 + k, when))
            added += 1
        feed.items.sort(key=lambda it: it.published, reverse=True)
    return chosen, added


def write(n_feeds: int, out: Path, seed: int = 11, incremental_share: float = 0.0) -> dict:
    """Write the feeds (and the incremental variants) under `out`; returns the manifest."""
    feeds = build(n_feeds, seed)
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    records = []
    for feed in feeds:
        (out / feed.path).write_bytes(render(feed))
        records.append({"index": feed.index, "path": feed.path, "format": feed.fmt, "language": feed.language,
                        "region": feed.region, "country": feed.country, "name": feed.name, "site": feed.site,
                        "items": len(feed.items)})  # fmt: skip
    manifest = {"seed": seed, "feeds": records, "items": sum(r["items"] for r in records),
                "anchor": ANCHOR.isoformat(), "incremental": None}  # fmt: skip
    if incremental_share:
        chosen, added = add_new_items(feeds, incremental_share, seed)
        (out / "incremental" / "feeds").mkdir(parents=True, exist_ok=True)
        for feed in chosen:
            (out / "incremental" / feed.path).write_bytes(render(feed))
        manifest["incremental"] = {"paths": [f.path for f in chosen], "new_items": added}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--incremental-share", type=float, default=0.1)
    args = ap.parse_args()
    m = write(args.feeds, args.out, args.seed, args.incremental_share)
    size = sum(p.stat().st_size for p in (args.out / "feeds").iterdir())
    print(f"{len(m['feeds'])} feeds, {m['items']} items, {size / 1e6:.1f} MB in {args.out}/feeds;"
          f" incremental: {m['incremental'] and m['incremental']['new_items']} new items")  # fmt: skip


if __name__ == "__main__":
    main()
