"""The server's subcommands of `adaptd`: serve, worker, migrate, create-team, create-key and
export-model. They are registered through the `adaptd.commands` entry point, so the command
line lists them without importing the server; a handler imports it when it runs."""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

SCOPE_CHOICES = "read,write,admin"


class SubParsers(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def add_commands(commands: SubParsers) -> None:
    serve = _command(commands, "serve", "run the API (and the embedded job runner)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    worker = _command(commands, "worker", "run a Celery worker for training jobs")
    worker.add_argument("--queues", default="training")
    worker.add_argument("--loglevel", default="INFO")
    worker.add_argument(
        "--devices",
        default="auto",
        help="GPU indexes and `cpu`, comma-separated: one training process each "
        "(default auto: every GPU, else the CPU)",
    )
    worker.add_argument("--hostname", default=None, help="Celery node name (default DEVICE@%%h)")
    _command(commands, "migrate", "upgrade the database schema to the newest")
    team = _command(commands, "create-team", "create a team and print its id")
    team.add_argument("name")
    key = _command(commands, "create-key", "create an API key and print it once")
    key.add_argument("--team", required=True, help="team id or name")
    key.add_argument("--name", default="api key")
    key.add_argument("--scopes", default="read,write", help=f"comma-separated: {SCOPE_CHOICES}")
    export = _command(
        commands,
        "export-model",
        "write a full or lora model as a standalone Hugging Face directory (lora merged)",
    )
    export.add_argument("model_id")
    export.add_argument("out", type=Path)


def _command(commands: SubParsers, name: str, help: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=f"{help} [server]", description=help)
    parser.set_defaults(server_command=_run(name))
    return parser


def _run(name: str) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        from app import cli

        cli.run(name, args)

    return run
