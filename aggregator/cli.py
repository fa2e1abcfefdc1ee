"""The `aggregator` command: fetch, publish, status, check, story, pick, unmerge, demo, run, opml.

It parses arguments, calls the library and turns known errors into messages and exit codes; it
holds no pipeline logic. Exit codes: 0 done, 1 fatal, 2 usage or config error, 75 lock held.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import DEFAULT_CONFIG, load_config
from .errors import EXIT_FATAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, AggregatorError, UsageError
from .times import utcnow
from .lock import CycleLock, DaemonLock
from .models import Config, Pick, StoryCursor, StoryQuery
from .store import Store

# Every fetched feed failed: the cycle ran, but nothing it should do was done (see README).
EXIT_ALL_FAILED = 3

log = logging.getLogger("aggregator")


class CommandError(AggregatorError):
    """A user-caused problem with a clear message; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_FATAL):
        super().__init__(message)
        self.exit_code = code


# --------------------------------------------------------------------------- helpers


def _load(args: argparse.Namespace, readonly: bool = False) -> Config:
    """The config; a command that only reads leaves no marker of its check behind."""
    return load_config(args.config, remember=not readonly)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _number(text: str, prefix: str, what: str) -> int | None:
    """A story (s12) or copy (c34) number as the commands print it; a bare number is accepted too."""
    body = text[1:] if text[:1].lower() == prefix else text
    if body.isascii() and body.isdigit():
        return int(body)
    if text[:1].lower() in ("s", "c") and text[1:].isdigit():
        other = "story" if text[:1].lower() == "s" else "copy"
        raise UsageError(f"{text} names a {other}, not a {what}")
    return None


def _copy_number(text: str) -> int:
    number = _number(text, "c", "copy")
    if number is None:
        raise UsageError(f"{text!r} is not a copy number such as c12 (see `aggregator story`)")
    return number


# --------------------------------------------------------------------------- commands


def cmd_fetch(args: argparse.Namespace) -> int:
    from .cycle import run_cycle
    from .interrupts import StopOnSignals
    from .progress import cycle_progress

    config = _load(args)
    only = set(args.feed) if args.feed else None
    if only:
        unknown = only - {f.url for f in config.feeds}
        if unknown:
            raise CommandError(f"not a feed of {config.path}: {', '.join(sorted(unknown))}", EXIT_USAGE)
    failures: list[str] = []
    errors: list[str] = []

    def note(outcome: Any) -> None:
        if outcome.status == "error" or outcome.status == "gone":
            failures.append(f"{outcome.feed.name} ({outcome.feed.url}): {outcome.status}: {outcome.error}")
            errors.append(str(outcome.error or ""))

    stop = threading.Event()
    with StopOnSignals(stop) as signals, cycle_progress(enabled=not args.quiet) as progress:

        def on_outcome(outcome: Any) -> None:
            note(outcome)
            if progress is not None:
                progress(outcome)

        report = run_cycle(config, force_all=args.all, only_urls=only, progress=on_outcome, stop=stop)
    if args.quiet:
        # Quiet is for cron: say only what needs a person, on stderr, so cron mails it.
        for line in failures:
            print(f"aggregator: failed: {line}", file=sys.stderr)
    else:
        print(report.summary())
    if signals.exit_code is not None:
        print("aggregator: interrupted: the feeds fetched so far are stored and published", file=sys.stderr)
        return signals.exit_code
    if report.all_failed:
        print(f"aggregator: every feed fetched failed ({report.failed}); see `aggregator status`", file=sys.stderr)
        if all("connection refused" in e for e in errors) and _is_demo_config(config.path):
            print("aggregator: hint: the demo's feeds are served only while `aggregator demo` runs;"
                  " run `aggregator demo` again to fetch them", file=sys.stderr)  # fmt: skip
        return EXIT_ALL_FAILED
    return EXIT_OK


def _is_demo_config(path: Path) -> bool:
    from .demo import is_demo_config

    return is_demo_config(path)


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import republish

    config = _load(args)
    with CycleLock(config.database), Store.open(config.database) as store:
        # The feeds' names, regions and flags from the config, then every output; the hub is told.
        report = republish(config, store)
    if not args.quiet:
        print(f"{len(report.written)} files written, {len(report.unchanged)} unchanged in {config.output_dir}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .config import parse_duration
    from .status import health_check, print_status_table, status_records

    if not args.check and (args.max_age is not None or args.max_failing is not None):
        raise UsageError("--max-age and --max-failing only apply with --check")
    max_age = args.max_age or "3h"
    max_failing = 0.5 if args.max_failing is None else args.max_failing
    if args.check:
        try:
            parse_duration(max_age)
        except ValueError as exc:
            raise UsageError(f"--max-age: {exc}") from None
        if not 0 <= max_failing <= 1:
            raise UsageError(f"--max-failing is a share of the feeds, from 0 to 1 (0.5 is half), not {max_failing:g}")
    config = _load(args, readonly=True)
    if not config.database.exists():  # nothing fetched yet: list the feeds, create nothing
        records = status_records(config, None)
        last_cycle = None
    else:
        with Store.open(config.database, readonly=True) as store:
            records = status_records(config, store)
            last_cycle = store.last_finished_cycle()
    if args.check:
        problems = health_check(records, last_cycle, max_age=max_age, max_failing=max_failing)
        for p in problems:
            print(f"UNHEALTHY: {p}", file=sys.stderr)
        if not problems and not args.quiet:
            print("healthy")
        return EXIT_FATAL if problems else EXIT_OK
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False, default=_json_default))
    else:
        print_status_table(records, last_cycle, wide=args.wide)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config, use_checked=False)  # raises ConfigError with every problem
    enabled = sum(1 for f in config.feeds if f.enabled)
    print(
        f"{config.path}: OK: {_plural(len(config.feeds), 'feed')} ({enabled} enabled) in"
        f" {_plural(len(config.regions), 'region')}; database {config.database}; outputs in {config.output_dir}"
    )
    return EXIT_OK


def _find_story(store: Store, text: str) -> int:
    """A story named by its number (s12, or 12) or by the URL of one of its articles."""
    number = _number(text, "s", "story")
    if number is not None:
        return number
    found = store.stories_with_link(text)
    if not found:
        raise UsageError(f"no stored copy links to {text}")
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} stories hold a copy linking to {text}: " + ", ".join(f"s{i}" for i in found) + "; name one"
        )
    return int(found[0])


def _republish(config: Config, store: Store, only: frozenset[str] | None = None) -> None:
    """Publish every output (or those named in `only`) and tell the WebSub hub what changed."""
    from .publish import republish

    republish(config, store, only)


def cmd_pick(args: argparse.Namespace) -> int:
    config = _load(args)
    section = args.section or ""
    with CycleLock(config.database), Store.open(config.database) as store:
        story_id = _find_story(store, args.story)
        if args.undo:
            if not store.unpick(story_id, section):
                raise UsageError(f"story s{story_id} is not picked" + (f" for {section}" if section else ""))
        elif not store.pick(Pick(story_id, section, args.editor, utcnow(), args.note)):
            raise UsageError(f"no story s{story_id}")
        from .outputs import PICK_OUTPUTS

        _republish(config, store, PICK_OUTPUTS)  # a pick changes the picks feeds; the cycle does the rest
    if not args.quiet:
        where = f" for {section}" if section else ""
        if args.undo:
            print(f"story s{story_id} is no longer picked{where}")
        else:
            print(f"story s{story_id} is picked{where} by {args.editor}: it is kept past retention")
    return EXIT_OK


def cmd_story(args: argparse.Namespace) -> int:
    config = _load(args, readonly=True)
    with Store.open(config.database, readonly=True) as store:
        story_id = _find_story(store, args.story)
        explanations = store.explain_story(story_id)
        picks = store.story_picks(story_id)
        story = store.story(story_id)
    if not explanations:
        raise UsageError(f"no story s{story_id}")
    linked = story.translations if story is not None else ()
    if args.json:
        print(json.dumps(
            {"story": story_id, "name": f"s{story_id}", "picked": bool(picks),
             "picks": [dataclasses.asdict(p) for p in picks],
             "translations": [dataclasses.asdict(t) for t in linked],
             "copies": [{"name": f"c{e.copy_id}", **dataclasses.asdict(e)} for e in explanations]},
            default=_json_default, ensure_ascii=False, indent=2,
        ))  # fmt: skip
        return EXIT_OK
    count = _plural(len(explanations), "copy", "copies")
    print(f"story s{story_id}: {count}")
    for p in picks:
        where = f" for {p.section}" if p.section else ""
        note = f": {p.note}" if p.note else ""
        print(f"  picked{where} by {p.editor} on {p.picked_at:%Y-%m-%d %H:%M} UTC (kept past retention){note}")
    for e in explanations:
        if e.rule == "rejoined":
            why = "put back by an editor (a split undone)"
        elif e.rule is not None:
            score = f", similarity {e.score:.2f}" if e.score is not None else ""
            why = f"merged by rule {e.rule}{score} with copy c{e.matched_copy_id}"
        elif e.split_at is not None:
            origin = f" of story s{e.split_from}" if e.split_from else ""
            why = f"split out{origin} by an editor on {e.split_at:%Y-%m-%d %H:%M} UTC; never merged again"
        else:
            why = "first copy stored: the story began with it"
        print(f"  copy c{e.copy_id}: {e.feed_name} · {e.published:%Y-%m-%d %H:%M} · {why}")
        print(f"      {e.title}")
        if e.link:
            print(f"      {e.link}")
    for t in linked:
        why = f"linked by rule {t.rule!r}: {t.evidence}" if t.rule != "editor" else t.evidence
        print(f"  translation s{t.story_id} ({t.language}): {why}")
        if t.url:
            print(f"      {t.url}")
    return EXIT_OK


def cmd_translation(args: argparse.Namespace) -> int:
    config = _load(args)
    with CycleLock(config.database), Store.open(config.database) as store:
        a, b = _find_story(store, args.a), _find_story(store, args.b)
        if a == b:
            raise UsageError(f"s{a} and s{b} are one story")
        for story_id in (a, b):
            if store.story(story_id) is None:
                raise UsageError(f"no story s{story_id}")
        if args.action == "link":
            store.link_translations(a, b, args.editor)
        elif not store.unlink_translations(a, b, args.editor):
            raise UsageError(f"s{a} and s{b} are not linked as translations (they will not be linked automatically)")
        _republish(config, store)
    if not args.quiet:
        if args.action == "link":
            print(f"s{a} and s{b} are linked as translations by {args.editor}")
        else:
            print(f"s{a} and s{b} are no longer linked as translations; they will not be linked again automatically")
    return EXIT_OK


def cmd_stories(args: argparse.Namespace) -> int:
    config = _load(args, readonly=True)
    try:
        after = StoryCursor.from_token(args.after) if args.after else None
    except ValueError:
        raise UsageError(f"--after {args.after!r} is not a position printed by `aggregator stories`") from None
    feed_url = args.feed
    if feed_url is not None and feed_url not in {f.url for f in config.feeds}:
        raise UsageError(f"--feed {feed_url} is not a feed of {config.path}")
    query = StoryQuery(
        limit=args.limit, region=args.region, country=args.country, language=args.language, feed_url=feed_url,
        picked=True if args.picked else None, section=args.section, search=args.search, after=after,
    )  # fmt: skip
    if not config.database.exists():
        raise CommandError(f"there is no database at {config.database} yet: run `aggregator fetch` first")
    with Store.open(config.database, readonly=True) as store:
        page = store.stories(query)
    if args.json:
        print(json.dumps(
            {"stories": [_story_json(s) for s in page.stories], "next": page.next.token() if page.next else None},
            default=_json_default, ensure_ascii=False, indent=2,
        ))  # fmt: skip
        return EXIT_OK
    if not page.stories:
        print("no stories match")
    for story in page.stories:
        p = story.primary
        picked = " [picked]" if story.picks else ""
        parties = ", ".join(dict.fromkeys(c.feed_name for c in story.copies))
        print(f"s{story.id}  {story.published:%Y-%m-%d %H:%M}  [{', '.join(story.regions)}] {p.language}"
              f"  {p.title}{picked}")  # fmt: skip
        print(f"      {parties}" + (f" · {p.link}" if p.link else ""))
    if page.next:
        print(f"more: aggregator stories --after {page.next.token()}")
    return EXIT_OK


def _story_json(story: Any) -> dict[str, Any]:
    p = story.primary
    return {
        "story": story.id, "name": f"s{story.id}", "atom_id": story.atom_id, "title": p.title, "link": p.link,
        "published": story.published, "updated": story.updated, "regions": list(story.regions),
        "countries": list(story.countries), "language": p.language,
        "picks": [dataclasses.asdict(pk) for pk in story.picks],
        "copies": [{"copy": c.id, "name": f"c{c.id}", "feed": c.feed_name, "feed_url": c.feed_url, "link": c.link,
                    "published": c.published} for c in story.copies],
    }  # fmt: skip


def cmd_unmerge(args: argparse.Namespace) -> int:
    config = _load(args)
    copy_id = _copy_number(args.copy_id)
    with CycleLock(config.database), Store.open(config.database) as store:
        try:
            story = store.undo_unmerge(copy_id) if args.undo else store.unmerge(copy_id)
        except KeyError:
            raise UsageError(f"no copy c{copy_id}") from None
        _republish(config, store)
    if not args.quiet:
        if args.undo:
            print(f"copy c{copy_id} is back in story s{story}")
        else:
            print(f"copy c{copy_id} is now story s{story}; it will not be merged again"
                  f" (undo: aggregator unmerge --undo c{copy_id})")  # fmt: skip
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.dir), quiet=args.quiet)


def cmd_run(args: argparse.Namespace) -> int:
    from .schedule import run_scheduler

    config = _load(args)
    with DaemonLock(config.database):  # LockHeld: exit 75, like a second cycle
        return run_scheduler(config, config_path=Path(args.config))


def cmd_opml_export(args: argparse.Namespace) -> int:
    from .opml import sources_opml

    config = _load(args)
    data = sources_opml(config)
    if args.output and args.output != "-":
        from .files import write_atomically

        write_atomically(Path(args.output), data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_opml_import(args: argparse.Namespace) -> int:
    from .feedlist import import_opml

    report = import_opml(Path(args.config), Path(args.file), region=args.region, country=args.country,
                         language=args.language)  # fmt: skip
    for line in report.skipped:
        print(f"skipped {line}")
    print(f"added {_plural(report.added, 'feed')} to {args.config}"
          + (f"; skipped {len(report.skipped)} (see above)" if report.skipped else ""))  # fmt: skip
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.server import serve

    config = _load(args)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")
    serve(config, host=args.host, port=args.port, behind_proxy=args.behind_proxy, threads=args.threads)
    return EXIT_OK


def cmd_user(args: argparse.Namespace) -> int:
    import getpass

    from .web.auth import MIN_PASSWORD_CHARS, hash_password

    config = _load(args)
    with Store.open(config.database) as store:
        if args.user_command == "list":
            users = store.users()
            for u in users:
                print(f"{u.name}\t{u.section}\t{config.sections.get(u.section, '(section not in the config)')}"
                      f"\tsince {u.created:%Y-%m-%d}")  # fmt: skip
            if not users and not args.quiet:
                print("no editors yet: aggregator user add NAME --section SLUG")
            return EXIT_OK
        if args.user_command == "remove":
            if not store.remove_user(args.name):
                raise UsageError(f"there is no editor {args.name!r}")
            if not args.quiet:
                print(f"removed editor {args.name}; their sessions end at their next request")
            return EXIT_OK
        if not config.sections:
            raise UsageError(f"{config.path} has no sections: add `sections:` (slug: label) for editors to pick for")
        if args.section not in config.sections:
            raise UsageError(f"--section {args.section!r} is not one of {', '.join(config.sections)}")
        name = args.name.strip()
        if not name or len(name) > 64 or any(ch.isspace() or not ch.isprintable() for ch in name):
            raise UsageError("a user name is 1 to 64 printable characters without spaces")
        if store.user(name) is not None:
            raise UsageError(f"there is already an editor {name!r} (aggregator user remove {name} first)")
        if sys.stdin.isatty():
            password = getpass.getpass(f"password for {name}: ")
            if getpass.getpass("again: ") != password:
                raise UsageError("the two passwords differ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UsageError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        store.add_user(name, args.section, hash_password(password))
    if not args.quiet:
        print(f"added editor {name} for section {args.section} ({config.sections[args.section]})")
    return EXIT_OK


# --------------------------------------------------------------------------- argument parsing


def _common_options(defaults: bool, with_config: bool = True) -> argparse.ArgumentParser:
    """The options every command takes. Given before the command they keep their defaults; the
    command's copies have none (SUPPRESS), else they would undo `aggregator -v --log-json fetch`."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    if with_config:
        common.add_argument(
            "-c", "--config", default=default(str(DEFAULT_CONFIG)), help="config file (default: ./feeds.yaml)"
        )
    common.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks and debug logs")
    common.add_argument("-v", "--verbose", action="store_true", default=default(False), help="log every feed (INFO)")
    common.add_argument("-q", "--quiet", action="store_true", default=default(False),
                        help="print only warnings and errors")  # fmt: skip
    common.add_argument("--log-json", action="store_true", default=default(False),
                        help="log lines as JSON objects (for log shippers)")  # fmt: skip
    return common


def _command(
    sub: Any, name: str, parents: list[argparse.ArgumentParser], summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A subcommand whose --help page says what it does (the summary, then any detail)."""
    return sub.add_parser(
        name, parents=parents, help=summary, description=summary[0].upper() + summary[1:] + "." + (
            "\n\n" + description if description else ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)
    # The demo writes its own config: -c would be ignored, so it is not offered.
    no_config = _common_options(defaults=False, with_config=False)

    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Fetch the sister parties' feeds, deduplicate them, publish combined Atom feeds.",
        parents=[_common_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "fetch", [common], "run one cycle: fetch due feeds, store, publish",
                 "Prints a one-line summary (with --quiet: only failures, on stderr). Exit codes: 0 the cycle\n"
                 "completed; 3 every feed fetched failed; 130/143 stopped by Ctrl-C/SIGTERM after storing and\n"
                 "publishing what was fetched; 75 another cycle runs; 1 fatal; 2 config error.")  # fmt: skip
    p.add_argument("--all", action="store_true", help="fetch every enabled feed, ignoring backoff and due times")
    p.add_argument("--feed", action="append", metavar="URL", help="fetch only this feed (repeatable)")
    p.set_defaults(func=cmd_fetch)

    p = _command(sub, "publish", [common], "rebuild every output file from the database (no network)")
    p.set_defaults(func=cmd_publish)

    p = _command(sub, "status", [common], "per-feed health",
                 "Opens the database read-only. --check exits 1 when the last cycle is older than --max-age\n"
                 "or more than --max-failing (a share, 0 to 1) of the enabled feeds fail.")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--wide", action="store_true", help="every column, however wide the terminal")
    p.add_argument("--check", action="store_true", help="exit 1 if the service is unhealthy (for monitoring)")
    p.add_argument("--max-age", help="with --check: the last cycle must be newer (default 3h)")
    p.add_argument(
        "--max-failing", type=float,
        help="with --check: the largest share (0 to 1) of enabled feeds that may be failing (default 0.5)",
    )  # fmt: skip
    p.set_defaults(func=cmd_status)

    p = _command(sub, "check", [common], "validate the config and print every problem with its field")
    p.set_defaults(func=cmd_check)

    p = _command(sub, "stories", [common], "list stored stories, newest first",
                 "Stories are numbered s1, s2...; their copies (one per party) c1, c2... Filters combine.")
    p.add_argument("--region", help="only stories with a copy from this region (slug)")
    p.add_argument("--country", help="only stories with a copy from this country (ISO code)")
    p.add_argument("--language", help="only stories with a copy in this language (en matches en-GB)")
    p.add_argument("--feed", metavar="URL", help="only stories with a copy from this feed")
    p.add_argument("--picked", action="store_true", help="only stories an editor picked")
    p.add_argument("--section", help="with --picked: picked for this section")
    p.add_argument("--search", metavar="WORDS", help="only stories whose title or text has every word")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    p.add_argument("--after", metavar="POSITION", help="the next page: the position the last page printed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stories)

    p = _command(sub, "story", [common], "show a story's copies and why they were merged")
    p.add_argument("story", metavar="ID_OR_URL", help="a story number (s12), or the URL of one of its articles")
    p.add_argument("--json", action="store_true", help="print the copies as JSON")
    p.set_defaults(func=cmd_story)

    p = _command(sub, "pick", [common], "record an editor's pick of a story: it is kept past retention")
    p.add_argument("story", metavar="ID_OR_URL", help="a story number (s12), or the URL of one of its articles")
    p.add_argument("--note", help="why it was picked, shown with the pick")
    p.add_argument("--section", help="the section (party site) it is picked for")
    p.add_argument("--editor", default="cli", help="who picks it (default: cli)")
    p.add_argument("--undo", action="store_true", help="unpick it: retention applies again")
    p.set_defaults(func=cmd_pick)

    p = _command(sub, "unmerge", [common], "split a wrongly merged copy into a story of its own",
                 "The copy is never merged automatically again; --undo puts it back.")
    p.add_argument("copy_id", metavar="COPY", help="the copy's number (c34), as `aggregator story` shows it")
    p.add_argument("--undo", action="store_true", help="put a split-out copy back into its story")
    p.set_defaults(func=cmd_unmerge)

    p = _command(sub, "translation", [common], "link two stories as translations of each other, or unlink them",
                 "An unlink sticks: the automatic rules never link the two stories again (link undoes it).")
    p.add_argument("action", choices=["link", "unlink"])
    p.add_argument("a", metavar="A", help="a story number (s12), or the URL of one of its articles")
    p.add_argument("b", metavar="B", help="the other story")
    p.add_argument("--editor", default="cli", help="who links them (default: cli)")
    p.set_defaults(func=cmd_translation)

    p = _command(sub, "demo", [no_config], "run a full cycle on bundled sample feeds (no internet)",
                 "Writes a config, a database and public/ into --dir, which must be new, empty or an earlier\n"
                 "demo's directory: it never touches anything it did not create.")  # fmt: skip
    p.add_argument("--dir", default="aggregator-demo", help="where to put the demo (default ./aggregator-demo)")
    p.set_defaults(func=cmd_demo)

    p = _command(sub, "run", [common], "run cycles on the config's schedule until stopped",
                 "The schedule is the config's `schedule:` (every: 1h, or cron: \"*/30 * * * *\"); the first\n"
                 "cycle starts at once, and the config is re-read before each cycle. SIGTERM or Ctrl-C lets\n"
                 "the running cycle store and publish what it fetched, then exits 0; a second one stops at\n"
                 "once. An unusable database or output directory stops the daemon with exit 1.")  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = _command(sub, "serve", [common], "serve the readers' site and the editors' desk over HTTP (waitress)",
                 "Serves the output files, the story pages, search, the JSON API and the editors' desk.\n"
                 "Run it beside `aggregator run` on the same database; see docs/deploy.md.")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--behind-proxy", action="store_true",
                   help="trust one reverse proxy's X-Forwarded-For/-Proto/-Host (nginx in front)")  # fmt: skip
    p.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    p.set_defaults(func=cmd_serve)

    p = _command(sub, "user", [common], "add, list or remove the editors who log in to the desk")
    user_sub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    u = _command(user_sub, "add", [common], "add an editor for a section; the password is asked for",
                 "The password is prompted for (twice) on a terminal, else read as one line of standard input.")
    u.add_argument("name", metavar="NAME")
    u.add_argument("--section", required=True, help="the section (a slug of the config's sections:) they pick for")
    u.set_defaults(func=cmd_user)
    u = _command(user_sub, "list", [common], "list the editors and their sections")
    u.set_defaults(func=cmd_user)
    u = _command(user_sub, "remove", [common], "remove an editor (their sessions end)")
    u.add_argument("name", metavar="NAME")
    u.set_defaults(func=cmd_user)

    p = _command(sub, "opml", [common], "export or import the feed list as OPML")
    opml_sub = p.add_subparsers(dest="opml_command", required=True, metavar="ACTION")
    e = _command(opml_sub, "export", [common], "print the enabled feeds as OPML 2.0")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.set_defaults(func=cmd_opml_export)
    i = _command(opml_sub, "import", [common], "append an OPML file's feeds to the config",
                 "Feeds the config already has are skipped and named; the file keeps its comments.")
    i.add_argument("file", help="OPML file")
    i.add_argument("--region", required=True, help="region slug for the imported feeds")
    i.add_argument("--country", help="ISO 3166-1 code for the imported feeds")
    i.add_argument("--language", help="BCP 47 language for feeds whose outline has none")
    i.set_defaults(func=cmd_opml_import)
    return parser


def setup_logging(args: argparse.Namespace) -> None:
    from .logs import configure_logging

    # The daemon's one line per feed per cycle is its record: INFO unless asked to be quiet.
    chatty = args.verbose or getattr(args, "func", None) is cmd_run
    level = logging.DEBUG if args.debug else logging.INFO if chatty else logging.WARNING
    if args.quiet:
        level = logging.WARNING
    configure_logging(level, json_lines=args.log_json)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    setup_logging(args)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AggregatorError as exc:
        if args.debug and exc.operational:
            raise
        print(f"aggregator: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("aggregator: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and the like: the reader left, which is not our error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        print(f"aggregator: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)  # fmt: skip
        return EXIT_FATAL


def entry_point() -> None:
    exit_process(main())


def exit_process(code: int) -> None:
    """End the process with `code` once the exit handlers have run (atexit: the locales' kept
    answers written, logs flushed), without tearing the interpreter down: freeing every object
    and module one by one took 0.05-0.06 s after a cycle, a twentieth of one in which a few
    feeds changed. With a thread still running (none should be) it exits as usual, waiting for it."""
    import atexit
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader left (main told), or the stream is closed
            pass
    os._exit(code)


if __name__ == "__main__":
    entry_point()
