"""The editors' desk: log in and out, pick and unpick a story for one's section with a note, split a
wrongly merged copy out of its story and undo it; each action is logged (editor_actions) and
published by the app's publisher thread (publisher.py), which waits out a running cycle."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..errors import UsageError
from ..models import Pick
from ..outputs import PICK_OUTPUTS, pick_paths
from ..times import utcnow
from .auth import current_user, log_in, log_out, login_required, verify_password
from .common import config, limiter, publisher, store

bp = Blueprint("desk", __name__)
log = logging.getLogger("aggregator.web")
MAX_NOTE_CHARS = 1000


def republish(only: frozenset[str] | None = None, paths: frozenset[str] | None = None) -> str:
    """Ask the app's publisher (publisher.py) to publish these outputs (every output, or those named
    in `only`, or only their files at `paths`) off the request; says so."""
    publisher().request(only, paths)
    return "The feeds are being republished."


def _back(default: str) -> BaseResponse:
    """Back to the page the form was on (a path on this site only)."""
    target = request.form.get("next") or default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = default
    return redirect(target, code=303)


def _story_id() -> int:
    try:
        return int(request.form.get("story", ""))
    except ValueError:
        abort(400, description="No story given.")


def _copy_id() -> int:
    try:
        return int(request.form.get("copy", ""))
    except ValueError:
        abort(400, description="No copy given.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        return render_template("login.html", name="", error=None)
    name = (request.form.get("name") or "").strip()[:100]
    password = request.form.get("password") or ""
    address = request.remote_addr or "?"
    wait = limiter().retry_after(address, name)
    if wait is not None:
        log.warning("login refused (rate limit): %r from %s", name, address)
        error = f"Too many failed logins. Try again in {max(1, wait // 60)} minute(s)."
        return render_template("login.html", name=name, error=error), 429, {"Retry-After": str(wait)}
    user = store().user(name) if name else None
    if not verify_password(user, password) or user is None:
        limiter().failed(address, name)
        log.warning("login failed: %r from %s", name, address)
        return render_template("login.html", name=name, error="Wrong name or password."), 401, {}
    limiter().succeeded(address, name)
    log_in(user)
    log.info("login: %s from %s", user.name, address)
    return _back(url_for("desk.desk"))


@bp.post("/logout")
def logout() -> BaseResponse:
    log_out()
    return redirect(url_for("readers.front"), code=303)


@bp.get("/desk")
def desk() -> str | BaseResponse:
    user = current_user()
    if user is None:
        return redirect(url_for("desk.login", next="/desk"))
    st = store()
    return render_template(
        "desk.html", user=user, section_label=config().sections.get(user.section, user.section),
        picks=st.picked_stories(user.section, limit=100), actions=st.editor_actions(limit=50),
        publishing=publisher().state(),
    )  # fmt: skip


@bp.post("/desk/pick")
@login_required
def pick() -> BaseResponse:
    user = current_user()
    assert user is not None
    story_id = _story_id()
    note = " ".join((request.form.get("note") or "").split())[:MAX_NOTE_CHARS] or None
    if not store().pick(Pick(story_id, user.section, user.name, utcnow(), note)):
        abort(404, description=f"There is no story s{story_id}.")
    flash(f"Story s{story_id} picked for {user.section}. " + republish(PICK_OUTPUTS, pick_paths(user.section)))
    return _back(url_for("readers.story", story_id=story_id))


@bp.post("/desk/unpick")
@login_required
def unpick() -> BaseResponse:
    user = current_user()
    assert user is not None
    story_id = _story_id()
    if store().unpick(story_id, user.section, editor=user.name):
        flash(f"Story s{story_id} is no longer picked for {user.section}. "
              + republish(PICK_OUTPUTS, pick_paths(user.section)))
    else:
        flash(f"Story s{story_id} was not picked for {user.section}.")
    return _back(url_for("readers.story", story_id=story_id))


@bp.post("/desk/unmerge")
@login_required
def unmerge() -> BaseResponse:
    user = current_user()
    assert user is not None
    copy_id = _copy_id()
    try:
        new_story = store().unmerge(copy_id, editor=user.name)
    except KeyError:
        abort(404, description=f"There is no copy c{copy_id}.")
    except UsageError as exc:
        abort(409, description=str(exc))
    flash(f"Copy c{copy_id} is now story s{new_story}; it will not be merged again. " + republish())
    return redirect(url_for("readers.story", story_id=new_story), code=303)


@bp.post("/desk/undo-unmerge")
@login_required
def undo_unmerge() -> BaseResponse:
    user = current_user()
    assert user is not None
    copy_id = _copy_id()
    try:
        story_id = store().undo_unmerge(copy_id, editor=user.name)
    except KeyError:
        abort(404, description=f"There is no copy c{copy_id}.")
    except UsageError as exc:
        abort(409, description=str(exc))
    flash(f"Copy c{copy_id} is back in story s{story_id}. " + republish())
    return redirect(url_for("readers.story", story_id=story_id), code=303)


def _other_story() -> int:
    text = (request.form.get("other") or "").strip().lstrip("sS")
    try:
        return int(text)
    except ValueError:
        abort(400, description="Name the other story by its number (s12).")


@bp.post("/desk/translation/link")
@login_required
def link_translation() -> BaseResponse:
    user = current_user()
    assert user is not None
    story_id, other = _story_id(), _other_story()
    st = store()
    if story_id == other or st.story(story_id) is None or st.story(other) is None:
        abort(404, description=f"Stories s{story_id} and s{other} cannot be linked.")
    st.link_translations(story_id, other, user.name)
    flash(f"Stories s{story_id} and s{other} are linked as translations. " + republish())
    return _back(url_for("readers.story", story_id=story_id))


@bp.post("/desk/translation/unlink")
@login_required
def unlink_translation() -> BaseResponse:
    user = current_user()
    assert user is not None
    story_id, other = _story_id(), _other_story()
    if store().unlink_translations(story_id, other, user.name):
        flash(f"Stories s{story_id} and s{other} are no longer linked; they will not be linked again automatically. "
              + republish())
    else:
        flash(f"Stories s{story_id} and s{other} were not linked; they will not be linked automatically.")
    return _back(url_for("readers.story", story_id=story_id))

