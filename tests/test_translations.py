"""Translation links: the pure rules, no false link on the labelled dedupe set, and through real
feeds on 127.0.0.1: a copy linking to another in another language, hreflang alternates, a shared
original, the editor's link and an unlink that sticks, with Atom (jing) and JSON Feed outputs."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from aggregator import translations
from aggregator.models import ParsedEntry
from conftest import ATOM_NS, feed_entry, run_cli, write_config
from feedserver import FeedServer
from readers import validate_atom

PAIRS = Path(__file__).parent / "data" / "dedupe" / "pairs.jsonl"
SAMPLES = json.loads((Path(__file__).parent / "data" / "languages" / "samples.json").read_text(encoding="utf-8"))
EN_URL = "https://socialism.example/2026/02/joint-statement-kashmir"
UR_URL = "https://pakistan.example/2026/02/mushtarka-bayan"
HI_URL = "https://hindi.example/2026/02/sanyukt-bayan"


def _entry(link: str | None, html: str, alternates: tuple[tuple[str, str], ...] = ()) -> ParsedEntry:
    return ParsedEntry(key=link or html, key_source="link", original_id=None, link=link, title="t",
                       content_html=html, summary_html="", author=None, categories=(), published=None,
                       updated=None, alternates=alternates)  # fmt: skip


def test_references_keep_articles_and_mark_a_named_original() -> None:
    entry = _entry(UR_URL, f'<p>Read <a href="https://pakistan.example/">our site</a>, <a href="{UR_URL}">this</a>,'
                           f' <a href="https://x.example/2026/01/other">another article</a>.</p>'
                           f'<p>Originally published at: <a href="{EN_URL}?utm_source=rss">socialism.example</a></p>',
                   alternates=(("hi", HI_URL),))  # fmt: skip
    refs = translations.references(entry, UR_URL)
    assert [(r.url, r.kind) for r in refs] == [
        (HI_URL, "alternate"), ("https://x.example/2026/01/other", "link"), (EN_URL, "source"),
    ]


def test_two_entries_are_linked_only_by_a_pointer_between_two_languages() -> None:
    english = _entry(EN_URL, "<p>The statement.</p>")
    urdu = _entry(UR_URL, f'<p>بیان <a href="{EN_URL}">English</a></p>')
    assert translations.link_between(urdu, "ur", english, "en") == ("links to", EN_URL)
    assert translations.link_between(english, "en", urdu, "ur") == ("links to", EN_URL)
    # The same pointer between two copies in one language is a follow-up or a repost: no link.
    assert translations.link_between(urdu, "en-GB", english, "en") is None
    hindi = _entry(HI_URL, f'<p>स्रोत <a href="https://cwi.example/2026/02/original">मूल: CWI</a></p>')
    french = _entry("https://fr.example/a", '<p>Source : <a href="https://cwi.example/2026/02/original">CWI</a></p>')
    assert translations.link_between(hindi, "hi", french, "fr") == ("same original", "https://cwi.example/2026/02/original")
    # A plain link both make to one article (not named as their original) is not enough.
    a = _entry(HI_URL, '<p><a href="https://news.example/2026/02/report">a report</a></p>')
    b = _entry("https://fr.example/a", '<p><a href="https://news.example/2026/02/report">un rapport</a></p>')
    assert translations.link_between(a, "hi", b, "fr") is None


def test_no_false_link_on_the_labelled_dedupe_set() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(pairs) > 250
    false_links = []
    for pair in pairs:
        a, b = (_entry(pair[s]["link"], pair[s]["content_html"]) for s in ("a", "b"))
        # Even were every pair in two languages, no pair that is not a translation may be linked.
        for languages in ((pair["a"]["language"], pair["b"]["language"]), ("xa", "xb")):
            found = translations.link_between(a, languages[0], b, languages[1])
            if found and not pair["kind"].startswith("translation"):
                false_links.append((pair["id"], pair["kind"], found))
    assert false_links == []


def _rss(items: list[tuple[str, str, str, str]]) -> bytes:
    """(link, title, html, date) items."""
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{date}</pubDate><description>{escape(html)}</description></item>"
        for link, title, html, date in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
            f"<link>https://x.example/</link><description>x</description>{body}</channel></rss>").encode("utf-8")


def _atom_with_hreflang() -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="hi"><title>Hindi</title><id>https://hindi.example/</id>
<updated>2026-02-03T10:00:00Z</updated><author><name>h</name></author>
<entry><title>संयुक्त बयान</title><id>{HI_URL}</id><link rel="alternate" href="{HI_URL}"/>
<link rel="alternate" hreflang="en" href="{EN_URL}"/><updated>2026-02-03T10:00:00Z</updated>
<content type="html">{escape("<p>" + SAMPLES["hi"][1] + "</p>")}</content></entry></feed>""".encode("utf-8")


def _setup(tmp_path: Path, server: FeedServer) -> Path:
    en = server.add("/en.xml", _rss([(EN_URL, "Joint statement on Kashmir", f"<p>{SAMPLES['en'][2]}</p>",
                                      "Sun, 01 Feb 2026 10:00:00 GMT")]), content_type="application/rss+xml")
    ur_html = f'<p>{SAMPLES["ur"][1]}</p><p>انگریزی میں: <a href="{EN_URL}">English</a></p>'
    ur = server.add("/ur.xml", _rss([(UR_URL, "مشترکہ بیان", ur_html, "Mon, 02 Feb 2026 10:00:00 GMT")]),
                    content_type="application/rss+xml")
    hi = server.add("/hi.atom", _atom_with_hreflang(), content_type="application/atom+xml")
    return write_config(tmp_path, [
        feed_entry(en, "NSA", region="asia", country="IN", language="en-IN"),
        feed_entry(ur, "SMP", region="asia", country="PK", language="ur"),
        feed_entry(hi, "NSA Hindi", region="asia", country="IN", language="hi"),
    ])  # fmt: skip


def _alternates(public: Path) -> dict[str, dict[str, str]]:
    root = etree.parse(str(public / "feed.atom")).getroot()
    out = {}
    for e in root.findall(f"{ATOM_NS}entry"):
        out[e.find(f"{ATOM_NS}link[@rel='alternate']").get("href")] = {
            link.get("hreflang"): link.get("href") for link in e.findall(f"{ATOM_NS}link[@hreflang]")
        }
    return out


def test_translations_are_linked_published_explained_and_an_unlink_sticks(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _setup(tmp_path, feed_server)
    result = run_cli("fetch", "-c", config)
    assert result.code == 0, result.err
    public = tmp_path / "public"
    validate_atom(public / "feed.atom")
    index = (public / "index.html").read_text(encoding="utf-8")
    assert f'hreflang="ur" dir="auto" rel="noopener">اردو</a>' in index and ">हिन्दी</a>" in index
    assert _alternates(public) == {
        EN_URL: {"ur": UR_URL, "hi": HI_URL},
        UR_URL: {"en-IN": EN_URL},
        HI_URL: {"en-IN": EN_URL},
    }
    import jsonschema

    document = json.loads((public / "feed.json").read_text(encoding="utf-8"))
    schema = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    items = {i["url"]: i for i in document["items"]}
    assert [(t["language"], t["url"]) for t in items[EN_URL]["_aggregator"]["translations"]] == [
        ("hi", HI_URL), ("ur", UR_URL),
    ]
    english_story = items[EN_URL]["_aggregator"]["story"]
    urdu_story = items[UR_URL]["_aggregator"]["story"]
    hindi_story = items[HI_URL]["_aggregator"]["story"]

    shown = run_cli("story", "-c", config, f"s{english_story}")
    assert shown.code == 0, shown.err
    assert f"translation s{urdu_story} (ur): linked by rule 'links to': {EN_URL}" in shown.out
    assert f"translation s{hindi_story} (hi): linked by rule 'hreflang': {EN_URL}" in shown.out

    undone = run_cli("translation", "-c", config, "unlink", f"s{english_story}", f"s{urdu_story}")
    assert undone.code == 0, undone.err
    assert _alternates(public)[EN_URL] == {"hi": HI_URL}
    # The Urdu party posts the statement again (a new article, the same link in its text), and a
    # mirror of its site republishes the first one (a copy that joins the Urdu story and points at
    # the English article once more): the editor's unlink holds against the rule.
    feeds = _setup(tmp_path, feed_server)  # the same config, to which the mirror is added
    again = f'<p>{SAMPLES["ur"][0]}</p><p><a href="{EN_URL}">English</a></p>'
    feed_server.add("/ur.xml", _rss([(UR_URL + "-2", "دوبارہ", again, "Tue, 03 Feb 2026 10:00:00 GMT"),
                                     (UR_URL, "مشترکہ بیان", again, "Mon, 02 Feb 2026 10:00:00 GMT")]),
                    content_type="application/rss+xml")  # fmt: skip
    mirror_html = f'<p>{SAMPLES["ur"][1]}</p><p>انگریزی میں: <a href="{EN_URL}">English</a></p>'
    mirror = feed_server.add("/mirror.xml", _rss([(UR_URL, "مشترکہ بیان", mirror_html, "Mon, 02 Feb 2026 11:00:00 GMT")]),
                             content_type="application/rss+xml")  # fmt: skip
    from ruamel.yaml import YAML

    data = YAML().load(feeds.read_text(encoding="utf-8"))
    data["feeds"].append(feed_entry(mirror, "SMP mirror", region="asia", country="PK", language="ur"))
    with feeds.open("w", encoding="utf-8") as out:
        YAML().dump(data, out)
    assert run_cli("fetch", "-c", config, "--all").code == 0
    assert "2 copies" in run_cli("story", "-c", config, f"s{urdu_story}").out
    after = _alternates(public)
    assert after[EN_URL].get("ur") == UR_URL + "-2" and after[UR_URL] == {}

    relinked = run_cli("translation", "-c", config, "link", f"s{urdu_story}", f"s{hindi_story}")
    assert relinked.code == 0, relinked.err
    assert _alternates(public)[UR_URL] == {"hi": HI_URL}
    validate_atom(public / "feed.atom")
    shown = run_cli("story", "-c", config, f"s{urdu_story}")
    assert f"translation s{hindi_story} (hi): linked by cli" in shown.out
    refused = run_cli("translation", "-c", config, "unlink", f"s{urdu_story}", f"s{english_story}")
    assert refused.code == 2 and "are not linked as translations" in refused.err


def test_the_story_page_links_and_unlinks_for_editors_only(tmp_path: Path) -> None:
    import re

    from aggregator.models import StoryQuery
    from aggregator.store import Store
    from aggregator.web import create_app
    from websetup import EDITOR, PASSWORD, build_site

    with FeedServer() as server:
        config = build_site(tmp_path, server)
    with Store.open(config.database) as store:
        client = create_app(config, store).test_client()
        first, second = store.stories(StoryQuery(limit=2)).stories

        def token() -> str:
            found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
            assert found
            return found.group(1)

        data = {"story": first.id, "other": f"s{second.id}"}
        for url in ("/desk/translation/link", "/desk/translation/unlink"):
            assert client.post(url, data=data).status_code == 400  # no CSRF token
            assert client.post(url, data={**data, "csrf_token": token()}).status_code == 403  # no session
        client.post("/login", data={"name": EDITOR, "password": PASSWORD, "csrf_token": token()})
        assert client.post("/desk/translation/link", data={**data, "csrf_token": "forged"}).status_code == 400
        store_story = store.story(first.id)
        assert store_story is not None and store_story.translations == ()

        page = client.get(f"/story/{first.id}").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf and 'action="/desk/translation/link"' in page
        assert client.post("/desk/translation/link", data={**data, "csrf_token": csrf.group(1)}).status_code == 303
        linked = store.story(first.id)
        assert linked is not None and [t.story_id for t in linked.translations] == [second.id]
        assert [a.action for a in store.editor_actions(first.id)][:1] == ["translation link"]
        page = client.get(f"/story/{first.id}").get_data(as_text=True)
        assert "Also in:" in page and f'href="/story/{second.id}"' in page
        api = client.get(f"/api/stories/{first.id}").get_json()["translations"]
        assert [(t["id"], t["rule"]) for t in api] == [(second.id, "editor")]
        assert api[0]["url"].endswith(f"/story/{second.id}") and api[0]["language"] == second.primary.language
        assert client.post("/desk/translation/unlink", data={**data, "csrf_token": csrf.group(1)}).status_code == 303
        unlinked = store.story(first.id)
        assert unlinked is not None and unlinked.translations == ()
