"""The desk's commands: ``intake review list|show|release|reject``, ``intake serve`` and ``intake users add``.

The same actions as the web desk, for scripts; ``intake.cli`` maps their errors to exit codes.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from intake import config as configuration
from intake.errors import ExitCode, ReviewError

Handler = Callable[[argparse.Namespace], int]
Adder = Callable[[str, Handler, str], argparse.ArgumentParser]


def _desk(args: argparse.Namespace, *, sending: bool = False) -> Any:
    from intake.delivery import Dispatcher
    from intake.store import open_store

    config = configuration.load(args.config)
    store = open_store(config)
    from intake.store.resolve import Desk  # the store's models exist once Django is set up

    return Desk(store, config, dispatcher=Dispatcher(config) if sending else None)


def _who(args: argparse.Namespace) -> str:
    return args.who or getpass.getuser()


def cmd_review_list(args: argparse.Namespace) -> int:
    desk = _desk(args)
    from intake.store.models import State

    found = desk.store.find(state=None if args.all else State.HELD, since=desk.store.today() if args.all else None)
    for stored in found:
        row = {"id": str(stored.id), "state": stored.state, "created": stored.created.isoformat(timespec="seconds"),
               "form": stored.form_id, "pages": stored.source_pages, "package": stored.package_id}  # fmt: skip
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['id']}  {row['state']:<8}  {row['created']}  {row['form'] or '-'}  "
                  f"pages {','.join(map(str, row['pages'])) or '-'}  {row['package'] or ''}".rstrip())  # fmt: skip
    return ExitCode.OK


def _show(desk: Any, stored: Any) -> dict[str, Any]:
    from intake.store.reasons import doubtful_fields, held_reasons

    config = desk.config
    reasons = held_reasons(stored, desk.store, desk.templates, config)
    return {
        "id": str(stored.id), "state": stored.state, "form": stored.form_id, "authority": stored.authority,
        "code": stored.code, "language": stored.language, "confidence": round(stored.confidence, 3),
        "municipality": stored.municipality, "package": stored.package_id, "destination": stored.destination,
        "reasons": [reason.describe() for reason in reasons],
        "doubtful": doubtful_fields(stored, config.routing.field_threshold),
        "fields": {f.name: {"value": f.value, "confidence": round(f.confidence, 3), "valid": f.valid,
                            "candidates": f.candidates} for f in stored.fields.all()},
        "pages": [{"page": p.position, "source_page": p.number, "rotation": p.rotation}
                  for p in stored.pages.filter(dropped=False)],
        "history": [{"at": e.at.isoformat(timespec="seconds"), "who": e.who, "action": e.action, **e.detail}
                    for e in stored.events.all()],
    }  # fmt: skip


def cmd_review_show(args: argparse.Namespace) -> int:
    desk = _desk(args)
    shown = _show(desk, desk.store.get(args.document))
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
        return ExitCode.OK
    form = f"{shown['authority'] or '-'} {shown['code'] or ''}  ({shown['form'] or '-'})"
    print(f"{shown['id']}  {shown['state']}  {form}")
    for reason in shown["reasons"]:
        print(f"  held: {reason}")
    for name, value in shown["fields"].items():
        mark = "  <- check" if name in shown["doubtful"] else ""
        options = "  candidates: " + ", ".join(f"{i}) {c}" for i, c in enumerate(value["candidates"], 1)) \
            if value["candidates"] else ""  # fmt: skip
        print(f"  {name:<28} {value['value'] or '-':<30} {value['confidence']:.2f}{options}{mark}")
    for event in shown["history"]:
        print(f"  {event['at']}  {event['who']}  {event['action']}")
    return ExitCode.OK


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ReviewError(f"{option} takes NAME=VALUE, not {item!r}")
        pairs.append((name.strip(), value))
    return pairs


def cmd_review_release(args: argparse.Namespace) -> int:
    desk = _desk(args, sending=True)
    who = _who(args)
    if args.form:
        desk.set_form(args.document, args.form, who=who)
    for name, value in _pairs(args.field, "--field"):
        desk.set_field(args.document, name, value, who=who)
    for name, choice in _pairs(args.pick, "--pick"):
        desk.pick(args.document, name, choice, who=who)
    if args.municipality:
        desk.set_municipality(args.document, args.municipality, who=who)
    released = desk.release(args.document, who=who)
    print(f"{released.document_id}  queued  package {released.package_id}  {released.route.destination}  "
          f"({released.route.reason})")  # fmt: skip
    if not args.no_send:
        report = desk.dispatcher.flush()
        return ExitCode.DELIVERY if report.deferred or report.failed else ExitCode.OK
    return ExitCode.OK


def cmd_review_reject(args: argparse.Namespace) -> int:
    desk = _desk(args)
    desk.reject(args.document, args.reason, who=_who(args))
    print(f"{args.document}  rejected")
    return ExitCode.OK


def cmd_review_purge(args: argparse.Namespace) -> int:
    desk = _desk(args, sending=True)
    print(f"purged {desk.purge()} finished document(s) older than {desk.config.store.keep_days} days")
    return ExitCode.OK


def cmd_serve(args: argparse.Namespace) -> int:
    from intake.desk.server import serve

    config = configuration.load(args.config)
    serve(config, host=args.host, port=args.port)
    return ExitCode.OK


def cmd_users_add(args: argparse.Namespace) -> int:
    from intake.store import open_store

    config = configuration.load(args.config)
    open_store(config)
    from intake.desk.users import add_user  # Django's user model exists once the store is set up

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    add_user(args.name, password, role=args.role, language=args.language)
    print(f"{args.name}  {args.role}  {args.language}")
    return ExitCode.OK


def add_commands(sub: Any, add: Adder, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The review, serve and users commands, on the ``intake`` parser."""
    review = sub.add_parser("review", help="Documents held for the advisor: list, show, release, reject.")
    actions = review.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help, description=help)
        common(parser)
        parser.set_defaults(handler=handler)
        if name not in ("list", "purge"):
            parser.add_argument("document", metavar="ID", help="the document's id, as 'intake review list' shows it")
        if name in ("release", "reject"):
            parser.add_argument("--as", dest="who", metavar="NAME", help="who does this (default: your login)")
        return parser

    listing = action("list", cmd_review_list, "List held documents (with --all: every document of today).")
    listing.add_argument("--all", action="store_true", help="today's documents, whatever their state")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = action("show", cmd_review_show, "Show what intake read, why the document is held, and its history.")
    show.add_argument("--json", action="store_true", help="one JSON object")
    release = action("release", cmd_review_release, "Correct a held document and release it to its agency.")
    release.add_argument("--form", metavar="FORM", help="the form it is (id, as 'intake templates check' lists)")
    release.add_argument("--field", action="append", default=[], metavar="NAME=VALUE", help="type a field's value")
    release.add_argument("--pick", action="append", default=[], metavar="NAME=N", help="pick a field's candidate N")
    release.add_argument("--municipality", metavar="NAME", help="the customer's municipality (fi or sv name)")
    release.add_argument("--no-send", action="store_true", help="queue in the outbox, do not send now")
    reject = action("reject", cmd_review_reject, "Reject a held document: it will not be sent.")
    reject.add_argument("--reason", required=True, help="why (kept in the document's history)")
    action("purge", cmd_review_purge, "Delete pages and readings of documents sent or rejected [store] keep_days ago.")
    serve = add("serve", cmd_serve, "Run the advisor's desk: a local web application (127.0.0.1).")
    serve.add_argument("--host", help="listen address (default: [desk] host)")
    serve.add_argument("--port", type=int, help="port (default: [desk] port)")
    users = sub.add_parser("users", help="Desk users.")
    users_actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    user_add = users_actions.add_parser("add", help="Add a desk user (or set a user's password, role and language).")
    common(user_add)
    user_add.set_defaults(handler=cmd_users_add)
    user_add.add_argument("name", help="sign-in name")
    user_add.add_argument("--role", choices=("advisor", "administrator"), default="advisor")
    user_add.add_argument("--language", choices=("fi", "sv", "en"), default="fi")
    user_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
