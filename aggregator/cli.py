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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import DEFAULT_CONFIG, ConfigError, load_config
from .lock import CycleLock, DaemonLock, LockHeld, LockUnavailable
from .models import Config, CycleReport
from .opml import OpmlError
from .publish import PublishError
from .store import Store, StoreError

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later

log = logging.getLogger("aggregator")


class CommandError(Exception):
    """A user-caused problem with a clear message; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_FATAL):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- helpers


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def summary_line(report: CycleReport) -> str:
    parts = [f"{report.ok} ok", f"{report.not_modified + report.unchanged} not modified", f"{report.failed} failed"]
    if report.skipped:
        parts.append(f"{report.skipped} not due")
    line = (
        f"feeds: {', '.join(parts)}; entries: {report.new_entries} new, {report.updated_entries} updated;"
        f" {report.seconds:.1f} s"
    )
    if report.interrupted:
        line += " (interrupted)"
    return line


def _fmt_time(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


# --------------------------------------------------------------------------- commands


def cmd_fetch(args: argparse.Namespace) -> int:
    from .cycle import run_cycle
    from .progress import cycle_progress

    config = _load(args)
    only = set(args.feed) if args.feed else None
    if only:
        unknown = only - {f.url for f in config.feeds}
        if unknown:
            raise CommandError(f"not a feed of {config.path}: {', '.join(sorted(unknown))}", EXIT_USAGE)
    with cycle_progress(enabled=not args.quiet) as progress:
        report = run_cycle(config, force_all=args.all, only_urls=only, progress=progress)
    if not args.quiet:
        print(summary_line(report))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import publish

    config = _load(args)
    with CycleLock(config.database), Store.open(config.database) as store:
        store.sync_feeds(config.feeds)  # names, regions and enabled flags come from the config
        report = publish(config, store)
    if not args.quiet:
        print(f"{len(report.written)} files written, {len(report.unchanged)} unchanged in {config.output_dir}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .status import health_check, print_status_table, status_records

    config = _load(args)
    if not config.database.exists():  # nothing fetched yet: list the feeds, create nothing
        records = status_records(config, None)
        last_cycle = None
    else:
        with Store.open(config.database) as store:
            records = status_records(config, store)
            last_cycle = store.last_finished_cycle()
    if args.check:
        from .config import parse_duration

        try:
            parse_duration(args.max_age)
        except ValueError as exc:
            raise CommandError(f"--max-age: {exc}", EXIT_USAGE) from None
        problems = health_check(records, last_cycle, max_age=args.max_age, max_failing=args.max_failing)
        for p in problems:
            print(f"UNHEALTHY: {p}", file=sys.stderr)
        if not problems and not args.quiet:
            print("healthy")
        return EXIT_FATAL if problems else EXIT_OK
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False, default=_json_default))
    else:
        print_status_table(records, last_cycle)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args)  # raises ConfigError with every problem
    enabled = sum(1 for f in config.feeds if f.enabled)
    print(
        f"{config.path}: OK: {len(config.feeds)} feeds ({enabled} enabled) in {len(config.regions)} regions;"
        f" database {config.database}; outputs in {config.output_dir}"
    )
    return EXIT_OK


def _find_story(store: Store, text: str) -> int:
    """A story named by its number or by the URL of one of its articles."""
    if text.isascii() and text.isdigit():
        return int(text)
    found = store.stories_with_link(text)
    if not found:
        raise CommandError(f"no stored copy links to {text}", EXIT_USAGE)
    if len(found) > 1:
        raise CommandError(
            f"{len(found)} stories hold a copy linking to {text}: " + ", ".join(map(str, found)) + "; name one by number",
            EXIT_USAGE,
        )
    return int(found[0])


def cmd_pick(args: argparse.Namespace) -> int:
    config = _load(args)
    with Store.open(config.database) as store:
        story_id = _find_story(store, args.story)
        if not store.set_picked(story_id, not args.undo):
            raise CommandError(f"no story {story_id}", EXIT_USAGE)
    if not args.quiet:
        print(f"story {story_id} is {'no longer ' if args.undo else ''}picked"
              + ("" if args.undo else ": it is kept past retention_days"))  # fmt: skip
    return EXIT_OK


def cmd_story(args: argparse.Namespace) -> int:
    config = _load(args)
    with Store.open(config.database) as store:
        story_id = _find_story(store, args.story)
        explanations = store.explain_story(story_id)
        picked = store.is_picked(story_id)
    if not explanations:
        raise CommandError(f"no story {story_id}", EXIT_USAGE)
    if args.json:
        print(json.dumps(
            {"story": story_id, "picked": picked, "copies": [dataclasses.asdict(e) for e in explanations]},
            default=_json_default, ensure_ascii=False, indent=2,
        ))  # fmt: skip
        return EXIT_OK
    count = f"{len(explanations)} cop{'y' if len(explanations) == 1 else 'ies'}"
    print(f"story {story_id}: {count}" + ("; picked by an editor (kept past retention)" if picked else ""))
    for e in explanations:
        if e.rule is not None:
            score = f", similarity {e.score:.2f}" if e.score is not None else ""
            why = f"merged by rule {e.rule}{score} with copy {e.matched_copy_id}"
        elif e.split_at is not None:
            why = f"split out by an editor on {e.split_at:%Y-%m-%d %H:%M} UTC; never merged again"
        else:
            why = "first copy stored: the story began with it"
        print(f"  copy {e.copy_id}: {e.feed_name} · {e.published:%Y-%m-%d %H:%M} · {why}")
        print(f"      {e.title}")
        if e.link:
            print(f"      {e.link}")
    return EXIT_OK


def cmd_unmerge(args: argparse.Namespace) -> int:
    from .publish import publish

    config = _load(args)
    with CycleLock(config.database), Store.open(config.database) as store:
        try:
            new_story = store.unmerge(args.copy_id)
        except KeyError:
            raise CommandError(f"no copy {args.copy_id}", EXIT_USAGE) from None
        store.sync_feeds(config.feeds)
        publish(config, store)
    print(f"copy {args.copy_id} is now story {new_story}; it will not be merged again")
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
        from .publish import write_atomically

        write_atomically(Path(args.output), data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_opml_import(args: argparse.Namespace) -> int:
    from .opml import import_opml

    added = import_opml(Path(args.config), Path(args.file), region=args.region, country=args.country,
                        language=args.language)  # fmt: skip
    print(f"added {added} feed(s) to {args.config}")
    return EXIT_OK


# --------------------------------------------------------------------------- argument parsing


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes. Given before the command they keep their defaults; the
    command's copies have none (SUPPRESS), else they would undo `aggregator -v --log-json fetch`."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

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


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)

    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Fetch the sister parties' feeds, deduplicate them, publish combined Atom feeds.",
        parents=[_common_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fetch", parents=[common], help="run one cycle: fetch due feeds, store, publish")
    p.add_argument("--all", action="store_true", help="fetch every enabled feed, ignoring backoff and due times")
    p.add_argument("--feed", action="append", metavar="URL", help="fetch only this feed (repeatable)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("publish", parents=[common], help="rebuild every output file from the database")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("status", parents=[common], help="per-feed health")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--check", action="store_true", help="exit 1 if the service is unhealthy (for monitoring)")
    p.add_argument("--max-age", default="3h", help="with --check: the last cycle must be newer (default 3h)")
    p.add_argument(
        "--max-failing", type=float, default=0.5,
        help="with --check: the largest share of enabled feeds that may be failing (default 0.5)",
    )  # fmt: skip
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", parents=[common], help="validate the config and print every problem")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("story", parents=[common], help="show a story's copies and why they were merged")
    p.add_argument("story", metavar="ID_OR_URL", help="a story number, or the URL of one of its articles")
    p.add_argument("--json", action="store_true", help="print the copies as JSON")
    p.set_defaults(func=cmd_story)

    p = sub.add_parser("pick", parents=[common], help="mark a story as picked by an editor: kept past retention")
    p.add_argument("story", metavar="ID_OR_URL", help="a story number, or the URL of one of its articles")
    p.add_argument("--undo", action="store_true", help="unpick it: retention applies again")
    p.set_defaults(func=cmd_pick)

    p = sub.add_parser("unmerge", parents=[common], help="split a wrongly merged copy into its own story")
    p.add_argument("copy_id", type=int, help="the copy's number, as shown by `aggregator story`")
    p.set_defaults(func=cmd_unmerge)

    p = sub.add_parser("demo", parents=[common], help="run a full cycle on bundled sample feeds (no internet)")
    p.add_argument("--dir", default="aggregator-demo", help="where to put the demo (default ./aggregator-demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", parents=[common], help="run cycles on the config's schedule until stopped")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("opml", parents=[common], help="export or import the feed list as OPML")
    opml_sub = p.add_subparsers(dest="opml_command", required=True, metavar="ACTION")
    e = opml_sub.add_parser("export", parents=[common], help="print the enabled feeds as OPML 2.0")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.set_defaults(func=cmd_opml_export)
    i = opml_sub.add_parser("import", parents=[common], help="append an OPML file's feeds to the config")
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
    except ConfigError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OpmlError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LockHeld as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except CommandError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return exc.code
    except (StoreError, PublishError, LockUnavailable) as exc:
        if args.debug:
            raise
        print(f"aggregator: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("aggregator: interrupted", file=sys.stderr)
        return 130
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
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
