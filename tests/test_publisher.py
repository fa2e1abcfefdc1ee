"""The desk's publisher thread (aggregator/web/publisher.py): scopes merge, a cycle is waited out,
a failure is reported and retried by the next request, and close() publishes what is pending."""

from __future__ import annotations

import threading

from aggregator.lock import LockHeld
from aggregator.web.publisher import Publisher, merge

PICKS = frozenset({"picks"})
ATOM = frozenset({"atom"})


def test_scopes_merge_into_the_smallest_that_covers_both() -> None:
    assert merge(None, (PICKS, frozenset({"picks/a.atom"}))) == (PICKS, frozenset({"picks/a.atom"}))
    assert merge((PICKS, frozenset({"picks/a.atom"})), (PICKS, frozenset({"picks/b.atom"}))) == (
        PICKS, frozenset({"picks/a.atom", "picks/b.atom"}))  # fmt: skip
    assert merge((PICKS, frozenset({"picks/a.atom"})), (ATOM, None)) == (PICKS | ATOM, None)
    assert merge((PICKS, frozenset({"picks/a.atom"})), (None, None)) == (None, None)


def test_a_failed_publish_is_reported_and_the_next_request_tries_again() -> None:
    calls: list[tuple[object, object]] = []
    fail = threading.Event()
    fail.set()

    def publish(only: frozenset[str] | None, paths: frozenset[str] | None) -> list[str]:
        calls.append((only, paths))
        if fail.is_set():
            raise OSError("No space left on device")
        return ["picks.atom"]

    publisher = Publisher(publish, gather=0, retry=0.01)
    publisher.request(PICKS)
    assert publisher.wait(5)
    assert publisher.state().last_error == "No space left on device" and publisher.state().last_published is None
    fail.clear()
    publisher.request(PICKS)
    assert publisher.wait(5)
    state = publisher.state()
    assert state.last_error is None and state.last_changed == ("picks.atom",) and not state.pending
    assert calls == [(PICKS, None), (PICKS, None)]
    publisher.close()


def test_a_held_lock_is_waited_out_and_close_publishes_what_is_pending() -> None:
    held = threading.Event()
    held.set()
    published: list[tuple[object, object]] = []

    def publish(only: frozenset[str] | None, paths: frozenset[str] | None) -> list[str]:
        if held.is_set():
            raise LockHeld("another cycle is running")
        published.append((only, paths))
        return []

    publisher = Publisher(publish, gather=0, retry=0.01)
    publisher.request(PICKS, frozenset({"picks/a.atom"}))
    assert not publisher.wait(0.2)  # waiting for the cycle
    assert publisher.state().waiting_for_cycle and publisher.state().pending
    publisher.request(ATOM)  # joins the waiting publish
    closer = threading.Thread(target=publisher.close, args=(10,))
    closer.start()
    held.clear()  # the cycle ends
    closer.join(10)
    assert not closer.is_alive()
    assert published == [(PICKS | ATOM, None)]
    assert not publisher.state().pending and not publisher.state().waiting_for_cycle
