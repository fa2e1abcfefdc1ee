"""One full cycle against a local server serving the whole hostile set at once, as a subprocess:
prints the cycle's wall time and the peak RSS of the cycle process (and its parse workers).

    /work/venv/bin/python bench/hostile_cycle.py [--bomb-gib 2]

Fetch settings: timeout 5 s, max_bytes 10 MB. Must not be run against anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
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
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bomb-gib", type=float, default=2.0, help="decompressed size of each bomb (GiB)")
    args = parser.parse_args()
    bomb_size = int(args.bomb_gib * 1024) << 20

    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as tmp, FeedServer(poll_interval=0.05) as server:
        built = time.monotonic()
        urls = hostile_set(server, bomb_size)
        print(f"hostile set: {len(urls)} feeds (bombs of {args.bomb_gib:g} GiB built in {time.monotonic() - built:.1f} s)")
        config = write_config(
            Path(tmp), [feed_entry(u, f"Feed {i}") for i, u in enumerate(urls)],
            fetch={"timeout": 5, "max_bytes": 10_000_000, "concurrency": 16, "per_host": 64},
        )  # fmt: skip
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "aggregator", "fetch", "-c", str(config)], capture_output=True, text=True
        )
        wall = time.monotonic() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(proc.stdout.strip())
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        status = subprocess.run(
            [sys.executable, "-m", "aggregator", "status", "-c", str(config)], capture_output=True, text=True
        )
        print(status.stdout)
        print(f"cycle wall time: {wall:.2f} s (fetch timeout 5 s, max_bytes 10 MB)")
        print(f"peak RSS of the cycle (largest of the cycle process and its parse workers): "
              f"{children.ru_maxrss / 1024:.0f} MiB")  # fmt: skip
        print(f"peak RSS of this bench process (server + bombs in memory): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")  # fmt: skip
        print(f"measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
