"""`aggregator serve`: the web app in waitress, a production WSGI server in pure Python (threads,
no C extension, no separate process manager), on one Store opened read-write."""

from __future__ import annotations

import logging

from ..models import Config
from ..store import Store

log = logging.getLogger("aggregator.web")


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, behind_proxy: bool = False,
          threads: int = 8) -> None:  # fmt: skip
    import waitress

    from .app import create_app

    with Store.open(config.database) as store:
        app = create_app(config, store, behind_proxy=behind_proxy)
        log.warning("serving %s on http://%s:%d/ (Ctrl-C stops)", config.title, host, port)
        waitress.serve(app, host=host, port=port, threads=threads, ident="aggregator",
                       clear_untrusted_proxy_headers=not behind_proxy)  # fmt: skip
