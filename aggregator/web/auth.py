"""Editors' sign-in: argon2 password hashes, the session (a signed cookie: HttpOnly, SameSite=Lax,
Secure over https), a CSRF token on every state-changing form, and login rate limiting.

Passwords are only ever hashed here (argon2-cffi); the rows live in store/users.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, abort, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..store import Store, User

CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MIN_PASSWORD_CHARS = 8

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class LoginLimiter:
    """At most `limit` failed logins per address and per user name in `window` seconds; past that
    every attempt is refused (429) until the oldest failure ages out. In memory, per process: one
    `aggregator serve` is one process (waitress threads)."""

    def __init__(self, limit: int = 5, window: float = 15 * 60, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str, name: str) -> int | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        now = self._clock()
        with self._lock:
            waits = []
            for key in (f"addr:{address}", f"name:{name.casefold()}"):
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    waits.append(times[0] + self.window - now)
            return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, address: str, name: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (f"addr:{address}", f"name:{name.casefold()}"):
                self._recent(key, now).append(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name.casefold()}", None)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure exactly when the request came over https (as
    ProxyFix reports it behind a proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure) or bool(app.config.get("SESSION_COOKIE_SECURE"))


def _password_mark(user: User) -> str:
    """What the session keeps of the password hash: an HMAC of it under the session key, so a
    cookie (readable, only signed) reveals nothing of the hash, yet changes with the password."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form has expired or did not come from this site (CSRF token missing or "
                               "wrong). Reload the page and try again.")  # fmt: skip


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            abort(403, description="Editors only: log in first.")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def install(app: Flask, store: Store) -> None:
    app.session_interface = SessionInterface()

    @app.before_request
    def load_user() -> None:
        g.user = None
        name = session.get("user")
        if isinstance(name, str):
            user = store.user(name)
            # A removed editor's (or a changed password's) cookie no longer signs anyone in.
            if user is not None and hmac.compare_digest(str(session.get("pw", "")), _password_mark(user)):
                g.user = user
            else:
                session.pop("user", None)
                session.pop("pw", None)
        _check_csrf()

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user


def log_in(user: User) -> None:
    """A fresh session for this editor (a new CSRF token too)."""
    session.clear()
    session["user"] = user.name
    session["pw"] = _password_mark(user)
    session.permanent = True
    csrf_token()


def log_out() -> None:
    session.clear()
