"""httpx, imported without its command-line client.

`import httpx` also imports `httpx._main` (its `httpx` command) whenever click and rich are
installed, and here they are (Flask needs click, the progress bar rich): 110 ms of click, rich and
pygments in every cycle, which never runs that command. A stand-in for `httpx._main` is put in
place for the import and removed after it, so httpx itself is the real one and `httpx.main` tells
whoever calls it to run httpx's own command instead. Every module of ours imports httpx from here.
"""

from __future__ import annotations

import sys
import types


def _import_without_cli() -> None:
    if "httpx" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main")

    def main(*args: object, **kwargs: object) -> None:
        raise RuntimeError("httpx's command line is not loaded by aggregator; run the `httpx` command")

    stand_in.main = main  # type: ignore[attr-defined]
    placed = sys.modules.setdefault("httpx._main", stand_in) is stand_in
    try:
        import httpx  # noqa: F401  (loaded into sys.modules, imported below for everyone)
    finally:
        if placed and sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]  # an explicit `import httpx._main` later gets the real one


_import_without_cli()

import httpx  # noqa: E402  (the module just loaded)

__all__ = ["httpx"]
