"""The Flask app: one Store for the app (a connection per thread), the config it was started with,
and the routes of readers.py, desk.py, api.py and files.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix

from ..locales import country_name, language_autonym
from ..models import Config
from ..store import Store
from . import api, auth, desk, files, http, readers
from .auth import LoginLimiter
from .cache import ResultCache
from .config_watch import ConfigWatch
from .publisher import publisher_for
from .common import config as current_config
from .common import article_html, display_language, plain_snippet, safe_url

HERE = Path(__file__).resolve().parent
SESSION_DAYS = 14


def create_app(config: Config, store: Store, behind_proxy: bool = False, limiter: LoginLimiter | None = None,
               watch_config: bool = True) -> Flask:  # fmt: skip
    """The app for this config and store. `behind_proxy`: trust one proxy's X-Forwarded-For,
    -Proto and -Host (werkzeug ProxyFix), so addresses, https and URLs are the client's.
    `watch_config`: read the config file again when it changes (config_watch.py)."""
    app = Flask("aggregator.web", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=store.secret("session-key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="aggregator_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=SESSION_DAYS),
        MAX_CONTENT_LENGTH=64 * 1024,  # forms are small
        JSON_SORT_KEYS=False,
    )
    watch = ConfigWatch(config, watch_config)
    app.extensions["aggregator"] = {"watch": watch, "store": store, "limiter": limiter or LoginLimiter(),
                                     "cache": ResultCache(), "publisher": publisher_for(watch, store)}
    if behind_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    app.jinja_env.autoescape = True  # every template, whatever its name
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # A proxy: the templates (and the macros they import, which see only globals) read the
    # config in use when they render, also after a reload.
    app.jinja_env.globals.update(config=LocalProxy(current_config), country_name=country_name,
                                 display_language=display_language, language_autonym=language_autonym)  # fmt: skip
    app.jinja_env.filters.update(snippet=plain_snippet, safe_url=safe_url, article_html=article_html)
    http.install(app)
    auth.install(app, store)
    app.register_blueprint(readers.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(files.bp)  # last: its catch-all path must not shadow the others

    @app.errorhandler(HTTPException)
    def error_page(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", error=exc), exc.code or 500

    return app
