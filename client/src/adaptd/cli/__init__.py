"""adaptd: adapt pre-trained language models into text classifiers and serve them.

Client commands call a running service (--url / $ADAPTD_URL, --api-key / $ADAPTD_API_KEY);
server commands (marked [server]) need the server installed beside this client."""

import argparse
import sys
from importlib.metadata import entry_points

from adaptd.cli import aliases, datasets, evaluations, jobs, keys, models, strategies
from adaptd.cli.exit_codes import ExitCode, exit_code_for
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands, UsageError, connection_options
from adaptd.client import AdaptdError, Client, ValidationError

SERVER_COMMANDS = "adaptd.commands"


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    trailing = getattr(args, "trailing_positionals", None)
    if extras and (trailing is None or any(extra.startswith("-") for extra in extras)):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if extras and trailing:
        # `adaptd predict MODEL --top-k 1 "text"`: texts after options are texts too.
        getattr(args, trailing).extend(extras)
    if server_command := getattr(args, "server_command", None):
        server_command(args)
        return ExitCode.OK
    out = Output.create(json_mode=getattr(args, "json", False))
    try:
        with Client(getattr(args, "url", None), getattr(args, "api_key", None)) as client:
            return int(args.client_handler(client, args, out))
    except UsageError as error:
        out.note(f"adaptd: {error}")
        return ExitCode.USAGE
    except ValidationError as error:
        datasets.show_invalid(out, error)
        return ExitCode.INVALID
    except AdaptdError as error:
        if out.json_mode and hasattr(error, "problem"):
            out.emit(error.problem)
        out.note(f"adaptd: {error}")
        return exit_code_for(error)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adaptd",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_exit_codes_help(),
    )
    subparsers = parser.add_subparsers(required=True, metavar="COMMAND")
    commands = Commands(subparsers, connection_options())
    for module in (datasets, jobs, models, evaluations, aliases, keys, strategies):
        module.register(commands)
    for entry in entry_points(group=SERVER_COMMANDS):
        entry.load()(subparsers)
    return parser


def _exit_codes_help() -> str:
    return "exit codes: " + ", ".join(f"{code.value} {code.name.lower()}" for code in ExitCode)
