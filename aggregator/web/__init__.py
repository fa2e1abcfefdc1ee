"""The editors' desk and the readers' site (issue 12): a Flask app over the same database and
output directory as the cycle, served by waitress (`aggregator serve`).

Readers browse and search stories, and get an Atom feed of any list; editors log in, pick stories
for their section with a note, split wrongly merged copies (and undo it). It reads and writes only
through Store, renders feeds with atom.py, and republishes with publish.py under the cycle lock.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
