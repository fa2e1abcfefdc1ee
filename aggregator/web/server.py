"""`aggregator serve`: the web app in waitress, a production WSGI server in pure Python (threads,
no C extension, no separate process manager), on one Store opened read-write. The config is read
once at start and again when its file changes or on SIGHUP (config_watch.py), never per request.
Editors' changes are published by the app's publisher thread (publisher.py); stopping the server
(Ctrl-C, SIGTERM) publishes what is still pending first."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from ..models import Config
from ..store import Store

log = logging.getLogger("aggregator.web")


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, behind_proxy: bool = False,
          threads: int = 8) -> None:  # fmt: skip
    import waitress

    from .app import create_app

    with Store.open(config.database) as store:
        app = create_app(config, store, behind_proxy=behind_proxy)
        watch = app.extensions["aggregator"]["watch"]
        # SIGHUP: read the config now (it is also read again within a second of its file changing).
        signal.signal(signal.SIGHUP, lambda signum, frame: watch.reload())
        # SIGTERM (docker stop, systemctl stop) ends the server as Ctrl-C does, so what an editor
        # saved last is still published before the process exits.
        signal.signal(signal.SIGTERM, _exit)
        log.warning("serving %s on http://%s:%d/ (Ctrl-C stops)", config.title, host, port)
        try:
            waitress.serve(app, host=host, port=port, threads=threads, ident="aggregator",
                           clear_untrusted_proxy_headers=not behind_proxy)  # fmt: skip
        finally:
            app.extensions["aggregator"]["publisher"].close()


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
