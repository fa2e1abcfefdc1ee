"""One full cycle against a local server serving the whole hostile set at once, as a subprocess:
prints the cycle's wall time, the peak memory of the whole process tree (the cycle process and
all its parse workers, summed, sampled from /proc every 20 ms), and whether every benign feed
was published.

    .venv/bin/python bench/hostile_cycle.py [--bomb-gib 2]

Fetch settings: timeout 5 s, max_bytes 10 MB; parse limits at their defaults (parse_timeout 30 s,
max_entries_per_feed 1,000, max_entry_html 256,000). Must not be run against anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import FEED_DATA, feed_entry, write_config  # noqa: E402
from feedserver import (  # noqa: E402
    FeedServer,
    RawHandler,
    brotli_bomb,
    deflate_bomb,
    drip,
    reset_connection,
    send,
    wait_for_disconnect,
    write_head,
)

RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://p.example/</link>'


def rss_items(count: int, body_words: int = 30) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    items = "".join(
        f"<item><title>Story {i}</title><link>https://p.example/{i}</link><guid>g{i}</guid>"
        f"<pubDate>{(now - dt.timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{' '.join(f'word{(i * 7 + k) % 997}' for k in range(body_words))}</description></item>"
        for i in range(count)
    )
    return (RSS_HEAD + items + "</channel></rss>").encode()


def hostile_set(server: FeedServer, bomb_size: int) -> list[str]:
    urls: list[str] = []

    def add(path: str, body: bytes, **kw: object) -> None:
        urls.append(server.add(path, body, **kw))

    def handler(path: str, fn) -> None:  # type: ignore[no-untyped-def]
        urls.append(server.add_handler(path, fn))

    # Decompression bombs (2 GiB each by default).
    add("/bomb-gzip.xml", deflate_bomb(bomb_size, "gzip"), headers={"Content-Encoding": "gzip"})
    add("/bomb-deflate.xml", deflate_bomb(bomb_size, "zlib"), headers={"Content-Encoding": "deflate"})
    add("/bomb-br.xml", brotli_bomb(bomb_size), headers={"Content-Encoding": "br"})
    # A gzip body without Content-Encoding: only the parser's own bounded gunzip sees it.
    add("/bomb-body.xml.gz", deflate_bomb(64 << 20, "gzip"))

    # Time: silence, drips, endless bodies, resets.
    handler("/silent.xml", wait_for_disconnect)

    def drip_body(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        drip(h, rss_items(10), interval=1.0)

    handler("/drip.xml", drip_body)

    def drip_head(h: RawHandler) -> None:
        drip(h, b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 1000 + b"\r\n\r\n", interval=0.2)

    handler("/drip-headers.xml", drip_head)

    def endless(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml"})
        send(h, RSS_HEAD.encode())
        deadline = time.monotonic() + 10
        chunk = b"<item><title>x</title></item>" * 2000
        while time.monotonic() < deadline and send(h, chunk):
            pass

    handler("/endless.xml", endless)

    def reset(h: RawHandler) -> None:
        write_head(h, 200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        send(h, rss_items(5)[:300])
        reset_connection(h)

    handler("/reset.xml", reset)

    # HTTP misbehaviour.
    add("/loop-a.xml", b"", status=302, headers={"Location": "/loop-b.xml"})
    server.add("/loop-b.xml", b"", status=301, headers={"Location": "/loop-a.xml"})
    add("/to-file.xml", b"", status=301, headers={"Location": "file:///etc/passwd"})
    add("/gone.xml", b"gone", status=410)
    add("/busy.xml", b"busy", status=503, headers={"Retry-After": "120"})
    add("/html.xml", FEED_DATA / "html_page.html", content_type="text/html")
    add("/empty.xml", b"")
    add("/binary.xml", os.urandom(100_000), content_type="application/octet-stream")

    # Size: 10,000 entries (about 3 MB), and a feed just under max_bytes.
    add("/10k.xml", rss_items(10_000))
    add("/9mb.xml", rss_items(12_000, body_words=100)[:9_500_000] + b"</channel></rss>")

    # XML attacks.
    laughs = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    add("/laughs.xml", f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>'
        f"<rss version=\"2.0\"><channel><title>&l9;</title><item><title>&l9;</title></item></channel></rss>".encode())  # fmt: skip
    add("/quadratic.xml", ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "a" * 100_000 + '">]>'
        '<rss version="2.0"><channel><item><title>' + "&a;" * 50_000 + "</title></item></channel></rss>").encode())  # fmt: skip
    add("/xxe.xml", b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><item><title>&x;</title><guid>x</guid></item></channel></rss>')  # fmt: skip

    # Encodings.
    add("/utf16.xml", rss_items(20).decode().replace("utf-8", "utf-16").encode("utf-16"))
    add("/cp1252.xml", FEED_DATA / "windows1252.xml")
    add("/latin1.xml", FEED_DATA / "latin1_http_charset.xml", content_type="application/rss+xml; charset=iso-8859-1")
    add("/wrong-charset.xml", "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item>"
        "<title>Gr\xfc\xdfe</title><guid>w</guid></item></channel></rss>".encode("latin-1"))  # fmt: skip

    # Content injection, and a normal feed that must still come through.
    add("/inject.xml", (RSS_HEAD + "<item><title>&lt;script&gt;alert(1)&lt;/script&gt;</title><guid>i</guid>"
        "<link>javascript:alert(1)</link><description><![CDATA[<img src=x onerror=alert(1)><svg onload=alert(1)>"
        "<a href='&#106;avascript:alert(1)'>x</a>]]></description></item></channel></rss>").encode())  # fmt: skip
    add("/normal.xml", FEED_DATA / "wordpress_rss2.xml")

    # Issue 14: quadratic HTML, entity expansion past a prolog-only DTD filter, huge entry counts.
    def one_item(description: str, cdata: bool = True) -> bytes:
        body = f"<![CDATA[{description}]]>" if cdata else description
        return (RSS_HEAD + f"<item><title>x</title><guid>q</guid><description>{body}</description></item></channel></rss>").encode()

    add("/nested-divs.xml", one_item("<div>" * 400_000 + "x"))  # 2 MB
    add("/many-attributes.xml", one_item("<p " + "a " * 400_000 + ">x</p>"))
    add("/escaped-nested.xml", one_item("&lt;div&gt;" * 400_000, cdata=False))  # 4.4 MB; feedparser's Python HTML passes
    entity = '<!DOCTYPE rss [<!ENTITY a "' + "A" * 100_000 + '">]>'
    refs = RSS_HEAD + "<item><title>" + "&a;" * 3000 + "</title><guid>e</guid></item></channel></rss>"
    decl = '<?xml version="1.0" encoding="utf-8"?>\n'
    add("/entity-junk-line.xml", (decl + "Warning: junk\n" + entity + refs.split("?>", 1)[1]).encode())
    add("/entity-64k-junk.xml", ("Deprecated: junk\n" * 5000 + decl + entity + refs.split("?>", 1)[1]).encode())
    add("/entity-ebcdic.xml", ('<?xml version="1.0" encoding="cp037"?>\n' + entity + refs.split("?>", 1)[1]).encode("cp037"))
    add("/entity-utf16-junk.xml", b"\xff\xfe" + ('<?xml version="1.0" encoding="utf-16"?>\njunk\n' + entity
        + refs.split("?>", 1)[1]).encode("utf-16-le"))  # fmt: skip
    add("/1.4m-items.xml", (RSS_HEAD + "<item/>" * 1_400_000 + "</channel></rss>").encode())
    add("/310k-guids.xml", (RSS_HEAD + "".join(f"<item><guid>{i}</guid></item>" for i in range(310_000)) + "</channel></rss>").encode())
    add("/etag-cafe.xml", rss_items(3), etag=False, headers={"ETag": '"caf\xe9"'})

    def markup_reason(h: RawHandler) -> None:
        write_head(h, 500, {"Content-Length": "0"}, reason="[bold red]PWNED[/bold red] [link=http://e.x/]go[/link]")

    handler("/markup-reason.xml", markup_reason)
    add("/escaped-title.xml", (RSS_HEAD + "<item><title>&amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;T</title>"
        "<guid>t</guid></item></channel></rss>").encode())  # fmt: skip
    return urls


# Feeds that must come through the hostile cycle and be published.
BENIGN = {
    "/normal.xml": FEED_DATA / "wordpress_rss2.xml",
    "/benign-atom.xml": FEED_DATA / "blogger_atom.xml",
    "/benign-rdf.xml": FEED_DATA / "rss10_rdf.xml",
    "/benign-php-notices.xml": FEED_DATA / "php_notices.xml",
    "/benign-hindi.xml": FEED_DATA / "hindi.xml",
}


class TreeMemory:
    """Peak summed memory of a process and all its descendants, sampled from /proc: RSS (counts
    pages shared between the forked parse workers once per process, so it over-counts) and PSS
    (shares them out; what the tree really holds)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.most_processes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    parents[int(entry)] = int(fields[1])
                except (OSError, IndexError, ValueError):
                    continue
        tree, changed = {self.pid}, True
        while changed:
            changed = False
            for pid, ppid in parents.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        return list(tree)

    @staticmethod
    def _kib(path: str, key: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def _run(self) -> None:
        while not self._done.is_set():
            tree = self._tree()
            rss = sum(self._kib(f"/proc/{p}/status", "VmRSS:") for p in tree)
            pss = sum(self._kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.most_processes = max(self.most_processes, len(tree))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bomb-gib", type=float, default=2.0, help="decompressed size of each bomb (GiB)")
    args = parser.parse_args()
    bomb_size = int(args.bomb_gib * 1024) << 20

    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as tmp, FeedServer(poll_interval=0.05) as server:
        built = time.monotonic()
        urls = hostile_set(server, bomb_size)
        benign = [server.add(path, body) for path, body in BENIGN.items() if path != "/normal.xml"]
        benign.append(server.url("/normal.xml"))
        urls += [u for u in benign if u not in urls]
        print(f"hostile set: {len(urls)} feeds, {len(benign)} of them benign"
              f" (bombs of {args.bomb_gib:g} GiB built in {time.monotonic() - built:.1f} s)")  # fmt: skip
        config = write_config(
            Path(tmp), [feed_entry(u, f"Feed {i}") for i, u in enumerate(urls)],
            fetch={"timeout": 5, "max_bytes": 10_000_000, "concurrency": 16, "per_host": 64},
        )  # fmt: skip
        cycles = []
        for n in (1, 2):  # the second cycle re-sends stored validators (a stored "café" ETag)
            started = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "fetch", "--all", "-c", str(config)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            memory = TreeMemory(proc.pid)
            out, err = proc.communicate()
            wall = time.monotonic() - started
            memory.stop()
            print(f"cycle {n}: {out.strip()}")
            if proc.returncode != 0:
                print(err, file=sys.stderr)
                return 1
            cycles.append((wall, memory))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        status = subprocess.run(
            [sys.executable, "-m", "aggregator", "status", "-c", str(config)], capture_output=True, text=True
        )
        print(status.stdout)
        database = Path(tmp) / "aggregator.db"
        conn = sqlite3.connect(database)
        try:
            published = (Path(tmp) / "public" / "feed.atom").read_text(encoding="utf-8")
            missing = []
            for url in benign:
                row = conn.execute("SELECT last_status, last_error FROM feeds WHERE url = ?", [url]).fetchone()
                titles = [t for (t,) in conn.execute("SELECT title FROM entries WHERE feed_url = ? LIMIT 3", [url])]
                if row is None or row[0] not in ("ok", "unchanged", "not_modified") or not titles:
                    missing.append(f"{url}: {row}")
            etag = conn.execute("SELECT last_status, etag FROM feeds WHERE url = ?", [server.url("/etag-cafe.xml")]).fetchone()
        except sqlite3.Error as exc:
            print(f"could not check the database ({exc})")
            missing, etag = ["?"], None
        finally:
            conn.close()
        for n, (wall, memory) in enumerate(cycles, 1):
            print(f"cycle {n} wall time: {wall:.2f} s (fetch timeout 5 s: target under 65 s)")
            print(f"cycle {n} peak memory of the whole process tree ({memory.most_processes} processes at most):"
                  f" RSS summed {memory.peak_rss / 1024:.0f} MiB, PSS summed {memory.peak_pss / 1024:.0f} MiB"
                  " (target under 600 MB)")  # fmt: skip
        print(f"largest single process (ru_maxrss of RUSAGE_CHILDREN): {children.ru_maxrss / 1024:.0f} MiB")
        print(f"benign feeds published: {len(benign) - len(missing)} of {len(benign)}"
              + ("" if not missing else "; missing: " + "; ".join(missing)))
        print(f"feed.atom: {published.count('<entry')} entries; non-ASCII ETag feed after two cycles: {etag}")
        print(f"peak RSS of this bench process (server + bombs in memory): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")  # fmt: skip
        print(f"measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores,"
              f" load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
