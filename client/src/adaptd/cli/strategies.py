"""`adaptd strategies`: what each strategy does and the hyperparameters it takes."""

import argparse

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands
from adaptd.client import Client


def register(commands: Commands) -> None:
    commands.command("strategies", "the strategies and their hyperparameters", _strategies)


def _strategies(client: Client, _args: argparse.Namespace, out: Output) -> ExitCode:
    strategies = client.strategies.list()
    if out.json_mode:
        out.emit(strategies)
        return ExitCode.OK
    for strategy in strategies:
        properties = strategy.hyperparameters.get("properties", {})
        out.table(
            f"{strategy.strategy}: {strategy.summary}",
            ["hyperparameter", "default", "description"],
            [
                [name, spec.get("default"), spec.get("description", "")]
                for name, spec in properties.items()
            ],
        )
    return ExitCode.OK
