"""The `reader` library (lemon24) peer of bench/peers.py; run with the bench venv's python.

    .bench-venv/bin/python bench/_reader_run.py DB MODE [URLS_FILE]

MODE: cold (add every feed of URLS_FILE to a new database, then update all), update (update every
feed: conditional GET with the stored ETag/Last-Modified), scheduled (update only the feeds that are
due, as reader's default does: the analogue of a start-up with nothing due), count (print entries).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reader import make_reader


def main() -> None:
    db, mode = sys.argv[1], sys.argv[2]
    reader = make_reader(db)
    if mode == "cold":
        for url in Path(sys.argv[3]).read_text().split():
            reader.add_feed(url)
    if mode in ("cold", "update"):
        reader.update_feeds(workers=8, scheduled=False)
    elif mode == "scheduled":
        reader.update_feeds(workers=8)
    elif mode == "count":
        counts = reader.get_entry_counts()
        broken = sum(1 for _ in reader.get_feeds(broken=True))
        print(counts.total, broken)
    reader.close()


if __name__ == "__main__":
    main()
