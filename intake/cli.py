"""The ``intake`` command: one handler turns exceptions into messages and exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from intake import __version__
from intake import config as configuration
from intake.desk.commands import add_commands
from intake.errors import ConfigError, ExitCode, IntakeError, TemplateError, UsageError
from intake.logs import setup_logging
from intake.models import Document, Status
from intake.names import shown

if TYPE_CHECKING:
    from intake.pipeline import FileResult

log = logging.getLogger("intake")


EPILOG = (
    "exit codes:\n"
    + "\n".join(
        f"  {code.value:>3}  {code.name.lower()}: {_doc}"
        for code, _doc in (
            (ExitCode.OK, "every document queued or delivered"),
            (ExitCode.SOFTWARE, "internal error (a bug)"),
            (ExitCode.USAGE, "wrong arguments"),
            (ExitCode.CONFIG, "invalid configuration or template"),
            (ExitCode.ENVIRONMENT, "missing program, language pack or key"),
            (ExitCode.REVIEW, "some documents held for review"),
            (ExitCode.REJECTED, "some files rejected and quarantined (receive: messages rejected)"),
            (ExitCode.DELIVERY, "some messages not delivered yet (still in the outbox)"),
            (ExitCode.AUDIT, "audit log not writable, or its chain broken at the line named"),
            (ExitCode.RULES, "rules check found a problem, or a rules test case failed"),
            (ExitCode.INTERRUPTED, "stopped by Ctrl-C (finished work is kept)"),
            (ExitCode.BROKEN_PIPE, "the reader of the output went away (e.g. | head)"),
        )
    )
    + "\nwhen several outcomes apply: 11 before 12 before 10."
)


def _load_config(args: argparse.Namespace, *, required: bool = True) -> configuration.Config:
    """The configuration named by --config or $INTAKE_CONFIG; commands that route or send need one."""
    if required:
        configuration.require(args.config)
    return configuration.load(args.config)


def _input_files(arguments: list[str]) -> list[Path]:
    """The files to process: each FILE argument, or the files in a folder argument."""
    files: list[Path] = []
    for number, argument in enumerate(arguments, start=1):
        path = Path(argument)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            # The path itself may carry a customer's name: say which argument, not what it says.
            raise UsageError(f"FILE argument {number} is neither a file nor a folder that exists")
    return files


def _preflight(config: configuration.Config, *, sending: bool = True) -> None:
    from intake import preflight

    preflight.check(config, sending=sending)


def _line(doc: Document) -> str:
    destination = doc.route.destination if doc.route else "-"
    pages = ",".join(str(n) for n in doc.page_numbers) or "-"
    reason = f"  ({doc.reason})" if doc.reason else ""
    return (
        f"{shown(doc.source.path.name)}  pages {pages}  {doc.authority or '-'}  {doc.form_id or '-'}  "
        f"{doc.confidence:.2f}  {destination}  {doc.status}{reason}"
    )


def _report(result: FileResult, *, as_json: bool) -> None:
    """One line (or JSON object) per document of a file, or for the file if rejected."""
    if result.rejection is not None:
        rejection = result.rejection
        line = json.dumps(rejection.to_json(), ensure_ascii=False) if as_json else (
            f"{shown(rejection.path.name)}  rejected  ({rejection.code}: {rejection.reason})")  # fmt: skip
        sys.stdout.write(line + "\n")
    for doc in result.documents:
        sys.stdout.write((json.dumps(doc.to_json(), ensure_ascii=False) if as_json else _line(doc)) + "\n")
    sys.stdout.flush()


def cmd_process(args: argparse.Namespace) -> ExitCode:
    from intake import spool
    from intake.delivery import Dispatcher
    from intake.pipeline import process
    from intake.progress import ProgressLine
    from intake.store import open_store

    files = _input_files(args.files)
    config = _load_config(args)
    _preflight(config, sending=not args.dry_run)
    dispatcher = None if args.dry_run else Dispatcher(config)
    store = None if args.dry_run else open_store(config)
    keep = Path(args.keep_work) if args.keep_work else None
    rejected = held = failed = 0
    if not args.dry_run:  # a dry run leaves the spool untouched
        spool.clean_at_start(config.transport.spool)
    work = spool.work_dir(None if args.dry_run else config.transport.spool)
    with work as tmp, ProgressLine(enabled=sys.stderr.isatty()) as bar:
        for result in process(
            files, config, dispatcher=dispatcher, work=tmp, keep_work=keep, progress=bar.update,
            quarantine=not args.dry_run, store=store,
        ):  # fmt: skip
            bar.clear()
            _report(result, as_json=args.json)
            bar.redraw()
            rejected += result.rejection is not None
            held += sum(doc.status is Status.REVIEW for doc in result.documents)
            failed += sum(doc.status is Status.FAILED for doc in result.documents)
    undelivered = 0
    if dispatcher is not None and not args.no_send:
        report = dispatcher.flush()
        undelivered = len(report.deferred) + len(report.failed)
    return ExitCode.for_outcome(rejected=rejected, undelivered=undelivered + failed, held=held)


def cmd_watch(args: argparse.Namespace) -> ExitCode:
    from intake.delivery import Dispatcher
    from intake.store import open_store
    from intake.watch import watch

    config = _load_config(args)
    _preflight(config)
    # No --dry-run here: a hot folder that moved files to done/ without queueing them
    # would lose them (use 'intake process --dry-run' on copies instead).
    dispatcher = Dispatcher(config)
    interval = args.interval if args.interval is not None else config.watch.interval_s
    summary = watch(Path(args.folder), config, dispatcher=dispatcher, interval=interval,
                    once=args.once, send=not args.no_send, store=open_store(config))  # fmt: skip
    print(", ".join(f"{state} {count}" for state, count in sorted(summary.states.items())) or "no files")
    return ExitCode.for_outcome(rejected=summary.states["quarantine"], held=summary.states["review"])


def cmd_send(args: argparse.Namespace) -> ExitCode:
    from intake import preflight
    from intake.delivery import Dispatcher

    config = _load_config(args)
    preflight.check_sending(config)  # no tesseract needed here, but every certificate and key
    dispatcher = Dispatcher(config)
    report = dispatcher.flush()
    print(f"sent {len(report.sent)}, deferred {len(report.deferred)}, failed {len(report.failed)}")
    return ExitCode.DELIVERY if report.deferred or report.failed else ExitCode.OK


def cmd_outbox(args: argparse.Namespace) -> ExitCode:
    from intake.delivery import Dispatcher

    for line in Dispatcher(_load_config(args)).lines():
        print(line)
    return ExitCode.OK


def cmd_retry(args: argparse.Namespace) -> ExitCode:
    from intake.delivery import Dispatcher

    if bool(args.items) == args.all:
        raise UsageError("intake retry: give outbox ITEM ids, or --all (not both)")
    dispatcher = Dispatcher(_load_config(args))
    for item_id in dispatcher.retry(None if args.all else args.items):
        print(f"{item_id}  queued again")
    return ExitCode.OK


def cmd_retention_run(args: argparse.Namespace) -> ExitCode:
    import datetime as dt

    from intake import retention

    config = _load_config(args)
    folder = Path(args.folder) if args.folder else None
    report = retention.run(config, hot_folder=folder, now=dt.datetime.now(dt.UTC), dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in report.scans:
        print(f"{verb}  {path}")
    for item_id in report.messages:
        print(f"{verb}  outbox message of item {item_id}")
    print(f"{verb} {len(report.scans)} file(s) of handled scans, {len(report.messages)} sent message(s)")
    return ExitCode.OK


def cmd_config_check(args: argparse.Namespace) -> ExitCode:
    config = _load_config(args)
    _preflight(config)
    where = args.config or os.environ[configuration.ENV_VAR]
    print(f"{where}: OK ({len(config.routing.rules)} rules, {len(config.destinations)} destinations, "
          f"{len(config.agencies)} agencies, {len(config.authorities)} authorities)")  # fmt: skip
    return ExitCode.OK


def cmd_templates_check(args: argparse.Namespace) -> ExitCode:
    from intake.routing.templates import load_templates

    config = _load_config(args, required=False)  # the bundled templates need no configuration
    templates = load_templates(config.routing.templates)
    for template in templates:
        print(f"{template.id}  {template.authority}  {template.code}  {template.language}  "
              f"{template.pages} page(s)  {len(template.zones)} zones  OK")  # fmt: skip
    return ExitCode.OK


def cmd_templates_add(args: argparse.Namespace) -> ExitCode:
    from intake.routing.authoring import detect_template, existing_ids, write_template

    config = _load_config(args, required=args.out is None)
    folder = Path(args.out) if args.out else config.routing.templates
    if folder is None:
        raise ConfigError(
            'where should the template go? set [routing] templates = "FOLDER" in the configuration or pass --out'
        )
    if args.authority not in config.authorities:
        raise ConfigError(f"unknown authority {args.authority!r} (known: {', '.join(config.authorities)}; "
                          "a new one goes in [authorities] of the configuration)")  # fmt: skip
    template = detect_template(
        Path(args.blank), authority=args.authority, code=args.code, language=args.language,
        form_id=args.id, title=args.title,
    )  # fmt: skip
    if template.id in existing_ids(folder) and not args.replace:
        raise TemplateError(f"a form with id {template.id!r} exists already: pass --replace to replace it, "
                            "or --id to give the new form an id of its own")  # fmt: skip
    target = write_template(template, folder)
    print(f"{template.id}  {template.authority}  {template.code}  {template.language}  {template.title!r}  -> {target}")
    print(f"{'name':<32} {'kind':<10} {'page':>4}  box (x, y, w, h mm)   label")
    for zone in template.zones:
        cells = f" cells {zone.cells}" if zone.cells else ""
        box = ", ".join(f"{v:.1f}" for v in zone.box)
        print(f"{zone.name:<32} {zone.kind:<10} {zone.page:>4}  ({box}){cells}  {zone.label}")
    print(f"{len(template.zones)} zones: review the names and kinds in {target}, then run 'intake templates check'")
    return ExitCode.OK


def cmd_receive(args: argparse.Namespace) -> ExitCode:
    from collections import Counter

    from intake.receive import Verdict, receive

    keys = [{"certificate": args.cert, "key": args.key}] if args.key or args.cert else None
    config = configuration.load_receive(
        args.config, addresses=args.address, keys=keys, trust=args.trust, signers=args.signer, output=args.out
    )
    sources = [Path(source) for source in args.sources] or config.sources
    if not sources:
        raise ConfigError("where is the mail? give SOURCE arguments or 'sources' in the receiving configuration")
    counts: Counter[str] = Counter()
    attention = 0
    for outcome in receive(config, sources):
        counts[outcome.label] += 1
        attention += outcome.needs_a_person
        if outcome.verdict is Verdict.SEEN and not args.verbose:
            continue
        line = "  ".join((outcome.location, outcome.label, outcome.package_id or "-", outcome.detail)).rstrip()
        print(json.dumps(outcome.to_json()) if args.json else line)
    seen = counts.pop(str(Verdict.SEEN), 0)
    found = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"{found or 'nothing new'}; already handled {seen}", file=sys.stderr)
    return ExitCode.REJECTED if attention else ExitCode.OK


def cmd_audit_verify(args: argparse.Namespace) -> ExitCode:
    from intake import audit

    path = Path(args.log) if args.log else audit.AuditLog.for_config(_load_config(args).transport).path
    verdict = audit.verify(path)
    if not verdict.ok:
        log.error("%s line %s: %s (the %s entries before it hold)", path, verdict.broken_line, verdict.problem,
                  (verdict.broken_line or 1) - 1)  # fmt: skip
        return ExitCode.AUDIT
    print(f"{path}: {verdict.entries} entries, chain intact; last hash {verdict.last_hash}")
    return ExitCode.OK


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help=f"configuration file (default: ${configuration.ENV_VAR})")
    parser.add_argument("--log-json", action="store_true", help="log as JSON lines instead of text")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")


def _add_receive(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Not _common(): --config here is the agency's own file, not the service point's.
    rx = sub.add_parser(
        "receive", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        help="The agency's side: check received packages and file them (see docs/agencies.md).",
        description="Decrypt, verify and file received packages; reject the rest with the reason.",
    )  # fmt: skip
    rx.set_defaults(handler=cmd_receive)
    rx.add_argument("sources", nargs="*", metavar="SOURCE", help="Maildir, mbox, .eml file or folder of .eml files")
    env = configuration.RECEIVE_ENV_VAR
    rx.add_argument("--config", metavar="FILE", help=f"receiving configuration (default: ${env})")
    rx.add_argument("--address", action="append", help="this agency's address (repeatable; replaces 'addresses')")
    rx.add_argument("--cert", metavar="PEM", help="the agency's S/MIME certificate (with --key; replaces 'keys')")
    rx.add_argument("--key", metavar="PEM", help="the agency's private key (with --cert)")
    rx.add_argument("--trust", action="append", metavar="PEM", help="trusted CA or service-point certificates")
    rx.add_argument("--signer", action="append", metavar="PEM", help="accept only these signing certificates")
    rx.add_argument("--out", metavar="DIR", help="output folder (accepted/, rejected/; replaces 'output')")
    rx.add_argument("--json", action="store_true", help="one JSON object per message per line")
    rx.add_argument("--log-json", action="store_true", help="log as JSON lines instead of text")
    rx.add_argument("-v", "--verbose", action="count", default=0, help="also list messages already handled; more log")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake",
        description="Scanned forms in, signed and encrypted packages out, to the right agency.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"intake {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        _common(command)
        command.set_defaults(handler=handler)
        return command

    process = add("process", cmd_process, "Process scanned files: one line (or JSON object) per document.")
    process.add_argument("files", nargs="+", metavar="FILE", help="PDF, TIFF, JPEG or PNG files")
    process.add_argument("--json", action="store_true", help="one JSON object per document per line")
    process.add_argument("--dry-run", action="store_true", help="do everything except queue and send")
    process.add_argument("--no-send", action="store_true", help="queue in the outbox, do not send now")
    process.add_argument("--keep-work", metavar="DIR", help="keep every capture stage's image per page in DIR")
    hot = add("watch", cmd_watch, "Process files as the scanner drops them into a folder (polled).")
    hot.add_argument("folder", metavar="DIR", help="the folder the scanner writes to")
    hot.add_argument("--interval", type=float, metavar="S", help="seconds between polls (default: [watch] interval_s)")
    hot.add_argument("--once", action="store_true", help="handle what is there now, then exit")
    hot.add_argument("--no-send", action="store_true", help="queue in the outbox, do not send now")
    add("send", cmd_send, "Deliver what is due in the outbox.")
    add("outbox", cmd_outbox, "List the outbox: what waits, what was sent, what failed.")
    retry = add("retry", cmd_retry, "Queue failed or deferred outbox items again, due now (after the cause was fixed).")
    retry.add_argument("items", nargs="*", metavar="ITEM", help="outbox item ids, as 'intake outbox' lists them")
    retry.add_argument("--all", action="store_true", help="every failed and deferred item")
    keep = sub.add_parser("retention", help="Retention commands.")
    keep_sub = keep.add_subparsers(dest="action", required=True, metavar="ACTION")
    keep_help = "Delete handled scans and sent messages older than [retention]; held ones stay."
    keep_run = keep_sub.add_parser("run", help=keep_help, description=keep_help)
    _common(keep_run)
    keep_run.add_argument("folder", nargs="?", metavar="DIR", help="the hot folder whose done/ to clean")
    keep_run.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    keep_run.set_defaults(handler=cmd_retention_run)
    config = sub.add_parser("config", help="Configuration commands.")
    config_sub = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="Validate the configuration and the machine, without running.")
    _common(check)
    check.set_defaults(handler=cmd_config_check)
    templates = sub.add_parser("templates", help="Form template commands.")
    templates_sub = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    tcheck = templates_sub.add_parser("check", help="Validate every form template and list them.")
    _common(tcheck)
    tcheck.set_defaults(handler=cmd_templates_check)
    tadd = templates_sub.add_parser("add", help="Build a form template from a blank PDF, zones found in its layout.")
    _common(tadd)
    tadd.add_argument("blank", metavar="BLANK.pdf", help="the blank form")
    tadd.add_argument("--authority", required=True, help="authority code, e.g. KELA")
    tadd.add_argument("--code", required=True, help="the form's printed code, e.g. 'SV 8'")
    tadd.add_argument("--language", choices=("fi", "sv"), help="default: detected from the printed text")
    tadd.add_argument("--replace", action="store_true", help="replace an existing form with the same id")
    tadd.add_argument("--id", help="template id (default: from authority, code and language)")
    tadd.add_argument("--title", help="form title (default: the widest line of the printed header)")
    tadd.add_argument("--out", metavar="DIR", help="template folder (default: the configuration's [routing] templates)")
    tadd.set_defaults(handler=cmd_templates_add)
    _rules_parser(sub)
    _add_receive(sub)
    audit = sub.add_parser("audit", help="Audit log commands.")
    audit_sub = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    averify = audit_sub.add_parser("verify", help="Check the audit log's hash chain; names the first broken entry.")
    _common(averify)
    averify.add_argument("log", nargs="?", metavar="FILE", help="the log (default: <spool>/audit.log of the config)")
    averify.set_defaults(handler=cmd_audit_verify)
    add_commands(sub, add, _common)
    return parser


def _rules_parser(sub: argparse._SubParsersAction) -> None:
    from intake import rules_cli

    rules = sub.add_parser("rules", help="Routing rules: check, explain, test and replay them before they go live.")
    rules_sub = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, help in rules_cli.COMMANDS:
        command = rules_sub.add_parser(name, help=help, description=help, epilog=EPILOG,
                                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        _common(command)
        rules_cli.arguments(name, command)
        command.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(json_lines=args.log_json, verbosity=args.verbose)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return exc.exit_code
    except IntakeError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted: files not yet processed are untouched; queued documents stay in the outbox")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader (| head) went away: say nothing more, and keep Python's exit-time
        # flush of stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except Exception:  # a bug: say so plainly, with the traceback for the report
        log.exception("internal error (please report it); queued documents stay in the outbox")
        return ExitCode.SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
