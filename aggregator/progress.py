"""The progress bar `aggregator fetch` shows on a terminal (rich); off a terminal it shows nothing.

It only displays FeedOutcome events it is handed; it never changes what a cycle does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cycle import FeedOutcome


@contextmanager
def cycle_progress(enabled: bool = True) -> Iterator[Callable[["FeedOutcome"], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def advance(outcome: "FeedOutcome") -> None:
            from .status import plain

            bar.update(task, advance=1, description=plain(f"{outcome.feed.name}: {outcome.status}", limit=120))

        yield advance
