"""`adaptd aliases`: point a name at a model, move it, roll it back, read its history."""

import argparse

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands
from adaptd.client import Alias, Client


def register(commands: Commands) -> None:
    aliases = commands.group("aliases", "set, roll back and list aliases", default=_list)
    aliases.command("list", "the team's aliases", _list)
    put = aliases.command("set", "point an alias at a model (creates it, or moves it)", _set)
    put.add_argument("name")
    put.add_argument("model")
    put.add_argument("--reason", help="kept in the alias's history")
    rollback = aliases.command("rollback", "move an alias back one step", _rollback)
    rollback.add_argument("name")
    rollback.add_argument("--reason")
    history = aliases.command("history", "every move of an alias, newest first", _history)
    history.add_argument("name")


def _list(client: Client, _args: argparse.Namespace, out: Output) -> ExitCode:
    aliases = list(client.aliases.list())
    if out.json_mode:
        out.emit(aliases)
        return ExitCode.OK
    out.table(
        None,
        ["alias", "model", "moves", "updated"],
        [[a.name, a.model_id, len(a.history), a.updated_at] for a in aliases],
    )
    return ExitCode.OK


def _set(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    _moved(out, client.aliases.set(args.name, args.model, reason=args.reason))
    return ExitCode.OK


def _rollback(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    _moved(out, client.aliases.rollback(args.name, reason=args.reason))
    return ExitCode.OK


def _history(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    alias = client.aliases.get(args.name)
    if out.json_mode:
        out.emit(alias.history)
        return ExitCode.OK
    out.table(
        f"{alias.name} → {alias.model_id}",
        ["when", "from", "to", "by", "rollback", "undone", "reason"],
        [
            [
                m.created_at,
                m.from_model_id,
                m.to_model_id,
                m.actor,
                m.is_rollback,
                m.rolled_back,
                m.reason,
            ]
            for m in alias.history
        ],
    )
    return ExitCode.OK


def _moved(out: Output, alias: Alias) -> None:
    if out.json_mode:
        out.emit(alias)
        return
    latest = alias.history[0] if alias.history else None
    before = latest.from_model_id if latest else None
    out.line(f"{alias.name} → {alias.model_id}" + (f" (was {before})" if before else ""))
