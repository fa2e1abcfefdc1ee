"""The web app with 50,000 stories: median and p95 of the front page, a filtered page, a search,
a filtered Atom feed and a pick, through real waitress on 127.0.0.1, while cycles run on the same
database in another process (`aggregator fetch --all` back to back, as `aggregator run` beside
`aggregator serve` is deployed; --cycle-in-process runs them in the server's process); then picks with no cycle running, and how long a pick takes to
reach its section's feed file (the desk's publisher thread writes it after the answer).

Usage: python bench/web.py [--stories 50000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
import waitress  # noqa: E402

from aggregator.config import load_config  # noqa: E402
from aggregator.cycle import run_cycle  # noqa: E402
from aggregator.store import Store  # noqa: E402
from aggregator.times import to_db_time, utcnow  # noqa: E402
from aggregator.web import create_app  # noqa: E402
from feedserver import FeedServer  # noqa: E402
from websetup import EDITOR, PASSWORD, SECTION, build_site  # noqa: E402

WORDS = {
    "en": "strike workers union council rent wages rally cuts housing nurses dockers teachers transport".split(),
    "ur": "ہڑتال مزدور یونین اجرت ریلی کراچی لاہور کسان طلبہ مہنگائی".split(),
    "hi": "हड़ताल मज़दूर यूनियन वेतन रैली दिल्ली किसान छात्र महंगाई".split(),
    "ta": "வேலைநிறுத்தம் தொழிலாளர்கள் சம்பளம் ஆர்ப்பாட்டம் கொழும்பு மீனவர்கள்".split(),
}

PAIRS = [(a, b) for n, a in enumerate(WORDS["en"]) for b in WORDS["en"][n + 1:]]
ASIAN_WORDS = [w for language in ("ur", "hi", "ta") for w in WORDS[language]]
ASIAN_WORDS += [f"{a} {b}" for language in ("ur", "hi") for a, b in zip(WORDS[language], WORDS[language][1:])]


def fill(store: Store, count: int) -> None:
    """`count` synthetic stories of one copy each, spread over the configured feeds and a year."""
    feeds = [(r["url"], r["language"]) for r in store.db.query("SELECT url, language FROM feeds")]
    rng = random.Random(12)
    now = utcnow()
    with store.transaction():
        db = store.db
        next_id = int(db.execute("SELECT coalesce(max(id), 0) FROM stories").fetchone()[0]) + 1
        stories, entries = [], []
        for n in range(count):
            sid = next_id + n
            url, language = rng.choice(feeds)
            words = WORDS.get(language.split("-")[0], WORDS["en"])
            title = " ".join(rng.choice(words) for _ in range(6))
            body = "<p>" + " ".join(rng.choice(words) for _ in range(60)) + "</p>"
            published = to_db_time(now.replace(microsecond=0) - __import__("datetime").timedelta(seconds=rng.randrange(365 * 86400)))
            stories.append((sid, f"urn:bench:{sid}", published, published, published))
            entries.append((url, f"bench-{sid}", "id", f"urn:bench:{sid}", f"https://bench.example/{sid}", title, body,
                            body, published, published, published, published, f"c{sid}", f"h{sid}", f"t{sid}", sid))
        db.conn.executemany("INSERT INTO stories (id, atom_id, published, updated, created) VALUES (?, ?, ?, ?, ?)", stories)
        db.conn.executemany(
            "INSERT INTO entries (feed_url, key, key_source, original_id, link, title, content_html, summary_html,"
            " published, updated, first_seen, last_seen, change_hash, content_hash, title_key, story_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entries,
        )


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stories", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--cycle-in-process", action="store_true",
                        help="run the background cycles in the server's own process (sharing its GIL), a harsher case than deployment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as feeds:
        config = build_site(Path(tmp), feeds)
        config = load_config(config.path)
        with Store.open(config.database) as store:
            started = time.monotonic()
            fill(store, args.stories)
            print(f"{args.stories:,} stories stored and indexed in {time.monotonic() - started:.1f} s;"
                  f" database {config.database.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
            app = create_app(config, store)
            server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8, ident="aggregator")
            threading.Thread(target=server.run, daemon=True).start()
            base = f"http://127.0.0.1:{server.effective_port}"

            stop = threading.Event()
            cycles: list[float] = []

            def cycle_loop() -> None:
                while not stop.is_set():
                    t = time.monotonic()
                    if args.cycle_in_process:
                        run_cycle(config, force_all=True)
                    else:  # as deployed: `aggregator run` (or cron) in a process of its own
                        subprocess.run([sys.executable, "-m", "aggregator", "fetch", "--all", "--quiet",
                                        "-c", str(config.path)], cwd=ROOT, check=False)  # fmt: skip
                    cycles.append(time.monotonic() - t)

            background = threading.Thread(target=cycle_loop, daemon=True)
            background.start()
            client = httpx.Client(base_url=base, timeout=60)
            page = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            client.post("/login", data={"name": EDITOR, "password": PASSWORD, "csrf_token": token})
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/desk").text).group(1)  # type: ignore[union-attr]
            ids = [s["id"] for s in client.get("/api/stories?limit=100").json()["stories"]]

            cases = {
                "front page": lambda i: client.get("/"),
                "filtered page (asia, ur)": lambda i: client.get("/?region=asia&language=ur"),
                "filtered page, 5th page": lambda i: client.get("/?region=europe&after=" + after_token),
                "search (Urdu word)": lambda i: client.get("/search", params={"q": "ہڑتال"}),
                "search (two English words)": lambda i: client.get("/search", params={"q": "strike union"}),
                "filtered Atom (asia + q)": lambda i: client.get("/atom", params={"region": "asia", "q": "ہڑتال"}),
                # Each round a query not asked before: what the result cache (web/cache.py) cannot save.
                "search, new word pair": lambda i: client.get("/search", params={"q": " ".join(PAIRS[i % len(PAIRS)])}),
                "filtered Atom, new word": lambda i: client.get("/atom", params={
                    "region": "asia", "q": ASIAN_WORDS[i % len(ASIAN_WORDS)]}),
                "pick (cycle holds the lock)": lambda i: client.post("/desk/pick", data={
                    "story": ids[i % len(ids)], "note": f"note {i}", "csrf_token": token}),
            }  # fmt: skip
            url = "/?region=europe"
            for _ in range(4):
                after_token = client.get(url.replace("/?", "/api/stories?")).json()["next"]
                url = "/?region=europe&after=" + after_token
            lock_held = 0
            print(f"each case {args.rounds} times, while cycles run in the background:")
            for name, request in cases.items():
                times = []
                for i in range(args.rounds):
                    t = time.monotonic()
                    r = request(i)
                    times.append(time.monotonic() - t)
                    assert r.status_code in (200, 303), (name, r.status_code)
                    if name.startswith("pick") and "a cycle is running" in client.get("/desk").text:
                        lock_held += 1
                print(f"  {name:28} {percentiles(times)}")
            stop.set()
            background.join(120)
            publisher = app.extensions["aggregator"]["publisher"]
            publisher.wait(300)
            times, delays = [], []
            section_feed = config.output_dir / "picks" / f"{SECTION}.atom"
            for i in range(min(args.rounds, 20)):
                story = ids[(i + 50) % len(ids)]
                client.post("/desk/unpick", data={"story": story, "csrf_token": token})
                publisher.wait(60)
                t = time.monotonic()
                r = client.post("/desk/pick", data={"story": story, "note": f"note {i}", "csrf_token": token})
                times.append(time.monotonic() - t)
                assert r.status_code == 303
                marker = store.story(story).atom_id  # type: ignore[union-attr]
                while marker not in section_feed.read_text(encoding="utf-8"):
                    time.sleep(0.002)
                delays.append(time.monotonic() - t)
            print(f"  {'pick, no cycle':28} {percentiles(times)}")
            print(f"  {'  ... until in its feed file':28} {percentiles(delays)}")
            server.close()
            print(f"picks that found a cycle holding the lock (published after it): {lock_held} of {args.rounds}")
            if cycles:
                print(f"background cycles: {len(cycles)}, median {statistics.median(cycles):.1f} s")


if __name__ == "__main__":
    main()
