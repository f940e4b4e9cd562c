"""`adaptd keys`: the team's API keys, for a key with the `admin` scope."""

import argparse

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands
from adaptd.client import Client

SCOPES = ("read", "write", "admin")


def register(commands: Commands) -> None:
    keys = commands.group("keys", "make, list and revoke the team's API keys", default=_list)
    keys.command("list", "the team's keys (never their secrets)", _list)
    create = keys.command("create", "a new key; its secret is printed this once", _create)
    create.add_argument("name")
    create.add_argument(
        "--scopes",
        default="read,write",
        help=f"comma-separated, of {','.join(SCOPES)} (default: read,write)",
    )
    revoke = keys.command("revoke", "revoke one of the team's other keys", _revoke)
    revoke.add_argument("key")


def _list(client: Client, _args: argparse.Namespace, out: Output) -> ExitCode:
    keys = list(client.keys.list())
    if out.json_mode:
        out.emit(keys)
        return ExitCode.OK
    out.table(
        None,
        ["id", "name", "prefix", "scopes", "created", "revoked"],
        [[k.id, k.name, k.prefix, ",".join(k.scopes), k.created_at, k.revoked_at] for k in keys],
    )
    return ExitCode.OK


def _create(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
    made = client.keys.create(args.name, scopes=scopes)
    if out.json_mode:
        out.emit(made)
        return ExitCode.OK
    out.note(f"key {made.id} ({','.join(made.scopes)}); its secret is shown only now:")
    out.line(made.key or "")
    return ExitCode.OK


def _revoke(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    client.keys.revoke(args.key)
    out.note(f"key {args.key} revoked")
    return ExitCode.OK
