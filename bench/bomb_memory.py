"""Peak memory and time of fetching 2 GiB compression bombs with max_bytes = 10 MB.

Each bomb runs in its own child process, so ru_maxrss (a lifetime high-water mark) belongs to it
alone. Usage: python bench/bomb_memory.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from aggregator.fetch import fetch_all  # noqa: E402
from aggregator.models import FetchRequest, FetchSettings  # noqa: E402
from feedserver import FeedServer, brotli_bomb, deflate_bomb  # noqa: E402

BOMB_SIZE = 2 << 30
SETTINGS = FetchSettings(timeout=30, max_bytes=10_000_000)
KINDS = {"gzip": "gzip", "deflate": "deflate", "br": "br"}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_one(kind: str) -> None:
    bomb = brotli_bomb(BOMB_SIZE) if kind == "br" else deflate_bomb(BOMB_SIZE, "gzip" if kind == "gzip" else "zlib")
    with FeedServer(poll_interval=0.05) as server:
        url = server.add("/bomb.xml", bomb, headers={"Content-Encoding": KINDS[kind]})
        before = peak_rss_mib()
        started = time.monotonic()
        result = fetch_all([FetchRequest(url)], SETTINGS)[0]
        wall = time.monotonic() - started
    print(
        f"{kind:8} {len(bomb):>10,} B on the wire -> {BOMB_SIZE >> 20:,} MiB decoded | "
        f"status={result.status} error={result.error!r} | fetch {result.elapsed:.3f} s (wall {wall:.3f} s) | "
        f"peak RSS {before:.1f} MiB before fetch, {peak_rss_mib():.1f} MiB after"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        run_one(sys.argv[2])
        return
    print(f"max_bytes={SETTINGS.max_bytes:,}  python {sys.version.split()[0]}")
    for kind in KINDS:
        subprocess.run([sys.executable, __file__, "--one", kind], check=True)


if __name__ == "__main__":
    main()
