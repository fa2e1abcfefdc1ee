"""The fetch floor of bench/peers.py: conditional GET of every URL with 8 threads, no parsing.

    .venv/bin/python bench/_floor.py URLS_FILE STATE_JSON

Sends If-None-Match / If-Modified-Since from STATE_JSON (when it exists), reads every body to the
end, stores the new validators back. Prints "200: n, 304: m".
"""

from __future__ import annotations

import concurrent.futures
import json
import sys
from collections import Counter
from pathlib import Path

import httpx


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    state_path = Path(sys.argv[2])
    state: dict[str, dict[str, str]] = json.loads(state_path.read_text()) if state_path.exists() else {}
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    with httpx.Client(limits=limits, timeout=60) as client:

        def get(url: str) -> tuple[str, int, dict[str, str]]:
            old = state.get(url, {})
            headers = {}
            if "etag" in old:
                headers["If-None-Match"] = old["etag"]
            if "last_modified" in old:
                headers["If-Modified-Since"] = old["last_modified"]
            with client.stream("GET", url, headers=headers) as r:
                for _ in r.iter_bytes():
                    pass
                new = dict(old)
                if r.status_code == 200:
                    new = {k: v for k, v in (("etag", r.headers.get("etag")),
                                             ("last_modified", r.headers.get("last-modified"))) if v}
                return url, r.status_code, new

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(get, urls))
    codes = Counter(code for _, code, _ in results)
    state_path.write_text(json.dumps({url: new for url, _, new in results}))
    print(", ".join(f"{k}: {v}" for k, v in sorted(codes.items())))
    if set(codes) - {200, 304}:
        sys.exit(1)


if __name__ == "__main__":
    main()
