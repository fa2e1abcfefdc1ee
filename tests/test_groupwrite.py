"""groupwrite.GroupWriter on a real store: calls in quick succession share a transaction, a result
comes back only once it is committed, a call that raises rolls back its group and only its group."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.groupwrite import GroupWriter
from aggregator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "aggregator.db") as store:
        store.db.execute("CREATE TABLE written (n INTEGER PRIMARY KEY)")
        yield store


def committed(store: Store) -> list[int]:
    """What another connection sees (only committed rows)."""
    with sqlite3.connect(store.path) as conn:
        return [n for (n,) in conn.execute("SELECT n FROM written ORDER BY n")]


def insert(store: Store, n: int) -> int:
    with store.transaction():  # joins the group's transaction, as Store.apply does
        store.db.execute("INSERT INTO written (n) VALUES (?)", (n,))
    return n * 10


def test_calls_in_quick_succession_share_one_transaction_and_return_after_the_commit(store: Store) -> None:
    gate = threading.Event()
    seen_before_commit: list[list[int]] = []

    def first(n: int) -> int:
        gate.wait(5)  # the others are queued by now
        return insert(store, n)

    def last(n: int) -> int:
        result = insert(store, n)
        seen_before_commit.append(committed(store))
        return result

    with GroupWriter(store.transaction, max_calls=16, linger=1.0) as writer:
        futures = [writer.submit(first, 1)] + [writer.submit(insert, store, n) for n in (2, 3, 4)]
        futures.append(writer.submit(last, 5))
        gate.set()
        assert [f.result(10) for f in futures] == [10, 20, 30, 40, 50]
        assert committed(store) == [1, 2, 3, 4, 5]
    assert writer.transactions == 1
    assert seen_before_commit == [[]]  # inside the group nothing was visible to other connections


def test_a_group_has_at_most_max_calls(store: Store) -> None:
    with GroupWriter(store.transaction, max_calls=2, linger=1.0) as writer:
        futures = [writer.submit(insert, store, n) for n in range(5)]
        assert [f.result(10) for f in futures] == [0, 10, 20, 30, 40]
    assert writer.transactions == 3
    assert committed(store) == [0, 1, 2, 3, 4]


def test_a_transaction_ends_when_no_call_comes_within_linger(store: Store) -> None:
    with GroupWriter(store.transaction, linger=0.05) as writer:
        assert writer.submit(insert, store, 1).result(10) == 10
        assert committed(store) == [1]  # committed although the writer is still open
        time.sleep(0.2)
        assert writer.submit(insert, store, 2).result(10) == 20
    assert writer.transactions == 2


def test_a_transaction_is_held_at_most_max_seconds(store: Store) -> None:
    def slow(n: int) -> int:
        time.sleep(0.15)
        return insert(store, n)

    with GroupWriter(store.transaction, linger=1.0, max_seconds=0.2) as writer:
        futures = [writer.submit(slow, n) for n in range(6)]
        for f in futures:
            f.result(10)
    assert 2 <= writer.transactions <= 4  # about 0.2 s of calls each, never all six in one


def test_a_call_that_raises_fails_its_group_and_only_its_group(store: Store) -> None:
    gate = threading.Event()

    def first(n: int) -> int:
        gate.wait(5)
        return insert(store, n)

    def broken() -> None:
        insert(store, 99)
        raise ValueError("a bug in one feed's write")

    with GroupWriter(store.transaction, max_calls=3, linger=1.0) as writer:
        group = [writer.submit(first, 1), writer.submit(broken)]
        after = [writer.submit(insert, store, n) for n in (3, 4, 5)]
        gate.set()
        for future in group:
            with pytest.raises(ValueError, match="a bug in one feed's write"):
                future.result(10)
        assert [f.result(10) for f in after] == [30, 40, 50]
    assert committed(store) == [3, 4, 5]  # 1 and 99 were rolled back with their group
    assert writer.transactions == 2  # the calls after the failed one start the next


def test_close_commits_what_was_submitted_and_refuses_more(store: Store) -> None:
    writer = GroupWriter(store.transaction, linger=5.0)
    futures = [writer.submit(insert, store, n) for n in (1, 2)]
    started = time.monotonic()
    writer.close()
    assert time.monotonic() - started < 2  # no lingering for calls that cannot come
    assert [f.result(0) for f in futures] == [10, 20]
    assert committed(store) == [1, 2]
    with pytest.raises(RuntimeError):
        writer.submit(insert, store, 3)


def test_a_call_cancelled_before_it_ran_writes_nothing(store: Store) -> None:
    gate = threading.Event()

    def first(n: int) -> int:
        gate.wait(5)
        return insert(store, n)

    with GroupWriter(store.transaction, linger=1.0) as writer:
        running = writer.submit(first, 1)
        time.sleep(0.05)
        cancelled = writer.submit(insert, store, 2)
        assert cancelled.cancel()
        kept = writer.submit(insert, store, 3)
        gate.set()
        assert running.result(10) == 10 and kept.result(10) == 30
    assert committed(store) == [1, 3]


def test_flush_commits_at_once_instead_of_lingering(store: Store) -> None:
    with GroupWriter(store.transaction, linger=5.0) as writer:
        writer.flush()  # nothing open: nothing happens
        started = time.monotonic()
        first = writer.submit(insert, store, 1)
        writer.flush()
        assert first.result(10) == 10
        assert time.monotonic() - started < 2  # not the 5 s linger
        assert committed(store) == [1]
        second = writer.submit(insert, store, 2)
        writer.flush()
        assert second.result(10) == 20
    assert writer.transactions == 2
