"""``intake rules check|explain|test|replay``: the administrator's commands for routing rules.

Each takes ``--rules NEW.toml`` to try a rules file before it goes live (in place of the
configured one); nothing here queues or sends anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from intake import config as configuration
from intake.config import Config
from intake.errors import ExitCode
from intake.routing.templates import Template, load_templates


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _setup(args: argparse.Namespace) -> tuple[Config, tuple[Template, ...]]:
    from intake import preflight

    configuration.require(args.config)
    rules = Path(args.rules) if getattr(args, "rules", None) else None
    config = configuration.load(args.config, rules=rules)
    preflight.check_rules(config)
    return config, load_templates(config.routing.templates)


def cmd_check(args: argparse.Namespace) -> ExitCode:
    from intake.routing.check import check, coverage

    config, templates = _setup(args)
    day = args.date or dt.date.today()
    findings = check(config, templates, day)
    for finding in findings:
        print(finding)
    if args.coverage:
        print(f"\nwhere each form goes on {day}:")
        for item in coverage(config, templates, day):
            went = ", ".join(f"{name} ({n})" for name, n in sorted(item.destinations.items())) or "nowhere"
            print(f"  {item.form:<18} {went}")
            for reason, names in item.unrouted.items():
                shown = ", ".join(names[:8]) + (f" … ({len(names)})" if len(names) > 8 else "")
                print(f"  {'':<18} held: {reason}: {shown}")
    errors = sum(finding.severity == "error" for finding in findings)
    print(f"{len(config.routing.rules)} rules, {len(config.destinations)} destinations: "
          f"{errors} error(s), {len(findings) - errors} warning(s)")  # fmt: skip
    return ExitCode.RULES if errors else ExitCode.OK


def cmd_explain(args: argparse.Namespace) -> ExitCode:
    from intake.pipeline import process
    from intake.routing.documents import decide
    from intake.routing.rules import explain

    config, templates = _setup(args)
    with tempfile.TemporaryDirectory(prefix="intake-explain-") as tmp:
        for result in process([Path(f) for f in args.files], config, dispatcher=None, work=Path(tmp)):
            if result.rejection is not None:
                print(f"{result.path.name}: rejected ({result.rejection.reason})")
            for document in result.documents:
                if args.date or args.municipality:  # decide again as the administrator asks
                    document.scanned = args.date or document.scanned
                    document.place_override = args.municipality or document.place_override
                    decide(document, templates, config)
                _explain_one(document, explain(document, config))
    return ExitCode.OK


def _explain_one(document: object, verdicts: list) -> None:
    from intake.models import Document

    assert isinstance(document, Document)
    pages = ",".join(map(str, document.page_numbers)) or "-"
    print(f"{document.source.path.name} pages {pages}: {document.form_id or 'no known form'} "
          f"({document.authority or '-'}, {document.language or '-'}), scanned {document.scan_date}")  # fmt: skip
    for match in verdicts:
        print(f"  {match.verdict:<8} {match.rule:<24} {match.reason}")
    if document.route is not None:
        print(f"  => {document.route.target} <{document.route.destination}> by rule {document.route.rule}")
    else:
        print(f"  => held: {document.reason}")


def cmd_test(args: argparse.Namespace) -> ExitCode:
    from intake.routing.cases import load_cases, run_cases

    config, templates = _setup(args)
    cases = load_cases(Path(args.cases), templates)
    outcomes = run_cases(cases, config, templates, args.date or dt.date.today())
    for outcome in outcomes:
        wanted = f"-> {outcome.case.expect}" if outcome.case.expect else f"held: {outcome.case.hold}"
        if outcome.passed:
            print(f"PASS  {outcome.case.id}  {outcome.got}")
        else:
            print(f"FAIL  {outcome.case.id}  expected {wanted}, got {outcome.got}")
    failed = [o for o in outcomes if not o.passed]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print(f"rules test: {len(failed)} case(s) FAILED: {', '.join(o.case.id for o in failed)}", file=sys.stderr)
    return ExitCode.RULES if failed else ExitCode.OK


def cmd_replay(args: argparse.Namespace) -> ExitCode:
    from intake.routing.cases import replay

    config, _ = _setup(args)
    current = configuration.load(args.config)
    past, where = _past(current, args.since)
    changes = replay(past, config)
    for change in changes:
        item = change.past
        print(f"{item.label}  scanned {item.document.scan_date}  {item.document.form_id}: was {item.was}, "
              f"now {change.now}")  # fmt: skip
    print(f"{len(past)} document(s) since {args.since} ({where}): {len(changes)} would be decided differently")
    return ExitCode.OK


def _past(config: Config, since: dt.date) -> tuple[list, str]:
    """Documents decided since ``since``: from the document store when there is one, else the register."""
    from intake.routing.cases import Past, from_register

    if config.store.database is not None or (_store_folder(config) / "store.sqlite").is_file():
        from intake.store import open_store

        store = open_store(config)
        from intake.store.models import State

        past = []
        start = dt.datetime.combine(since, dt.time()).astimezone()
        for stored in store.find(since=start).exclude(state=State.REJECTED).order_by("created"):
            went = stored.destination if stored.state == State.QUEUED else None
            was = f"-> <{went}> (rule {stored.rule})" if went else f"held: {stored.reason}"
            past.append(Past(stored.package_id or str(stored.id), store.rebuild(stored), went, was))
        return past, "the document store"
    from intake.register import Register

    return [from_register(e) for e in Register(config.transport.spool).since(since)], "the outbox's register"


def _store_folder(config: Config) -> Path:
    from intake.store.setup import store_folder

    return store_folder(config)


def arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """The arguments of one ``rules`` command."""
    new_rules = "a rules file to use instead of the configured one (try it before it goes live)"
    if name == "replay":
        parser.add_argument("--since", type=_date, required=True, metavar="DATE", help="queued on or after this day")
        parser.add_argument("--rules", required=True, metavar="NEW.toml", help="the new rules file")
        return
    parser.add_argument("--rules", metavar="NEW.toml", help=new_rules)
    parser.add_argument("--date", type=_date, metavar="DATE", help="decide as on this scan date (default: today)")
    if name == "check":
        parser.add_argument("--coverage", action="store_true", help="list where each form goes, place by place")
    elif name == "explain":
        parser.add_argument("files", nargs="+", metavar="FILE", help="scans to explain (nothing is queued)")
        parser.add_argument("--municipality", help="the customer's municipality, as the advisor gives it")
    elif name == "test":
        parser.add_argument("cases", metavar="CASES.toml", help="the table of expected routings")


COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], ExitCode], str], ...] = (
    ("check", cmd_check, "Is every known form routable today? Shadowed rules, dated gaps, bad certificates."),
    ("explain", cmd_explain, "Each rule in order for each document of the scans: matched or not, why, and where."),
    ("test", cmd_test, "Run the administrator's table of expected routings like a test suite."),
    ("replay", cmd_replay, "Decide documents since DATE again under new rules (the store, else the register)."),
)
