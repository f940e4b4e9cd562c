"""The command tree: client commands take the connection options and `--json`, and run with a
`Client`; their handlers answer with an exit code."""

import argparse
from collections.abc import Callable
from typing import Any, Protocol

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.client import Client

Handler = Callable[[Client, argparse.Namespace, Output], ExitCode]


class SubParsers(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection and output")
    # SUPPRESS: an option given before a subcommand is not reset by the subcommand's default.
    group.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="the service (default: $ADAPTD_URL, else http://127.0.0.1:8000)",
    )
    group.add_argument(
        "--api-key", default=argparse.SUPPRESS, help="the API key (default: $ADAPTD_API_KEY)"
    )
    group.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts"
    )
    return options


class Commands:
    """One level of subcommands."""

    def __init__(self, subparsers: SubParsers, options: argparse.ArgumentParser) -> None:
        self.subparsers = subparsers
        self.options = options

    def group(self, name: str, help: str, default: Handler | None = None) -> "Commands":
        """A command with subcommands of its own (`adaptd aliases set ...`); with `default`,
        the bare command runs it (`adaptd aliases` lists)."""
        parser = self.subparsers.add_parser(
            name, help=help, description=help, parents=[self.options] if default else []
        )
        nested = parser.add_subparsers(metavar="SUBCOMMAND", required=default is None)
        if default is not None:
            parser.set_defaults(client_handler=default)
        return Commands(nested, self.options)

    def command(self, name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
        parser = self.subparsers.add_parser(
            name, help=help, description=help, parents=[self.options]
        )
        parser.set_defaults(client_handler=handler)
        return parser


class UsageError(Exception):
    """The command line asks for something the command cannot do; exit code 2."""
