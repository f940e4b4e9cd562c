import argparse
import logging
import os
import sys
from collections.abc import Callable

import uvicorn

from app.commands import add_commands
from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.logs import FORMAT, queued_logging
from app.core.migrate import upgrade_database
from app.core.queue import TRAINING_QUEUE
from app.main import create_app
from app.ml.loading import BaseModelError
from app.models import Model
from app.services import bootstrap, teams
from app.services.model_exports import NotExportable, export_standalone
from app.services.teams import SCOPES
from workers.celery_worker import run_worker
from workers.devices import DeviceSpecError, gpus_present, parse_devices
from workers.supervisor import RunnerSupervisor
from workers.worker_pool import WorkerPool


def main(argv: list[str] | None = None) -> None:
    """The server's commands alone (`python -m app.cli serve`); the `adaptd` command line
    offers them beside the client's."""
    parser = argparse.ArgumentParser(prog="adaptd", description=__doc__)
    add_commands(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    args.server_command(args)


def run(name: str, args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    try:
        settings = get_settings()
    except ValueError as error:
        sys.exit(f"adaptd: invalid configuration:\n{error}")
    HANDLERS[name](settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.migrate_on_start:
        upgrade_database(settings)
    _bootstrap(settings)
    runner = RunnerSupervisor(settings) if settings.uses_embedded_runner else None
    if runner is not None:
        runner.start()
    try:
        with queued_logging():
            uvicorn.run(
                create_app(settings, components=runner.checks if runner else None),
                host=args.host,
                port=args.port,
                log_config=None,
                access_log=settings.access_log,
            )
    finally:
        if runner is not None:
            runner.stop()


def _bootstrap(settings: Settings) -> None:
    given = settings.bootstrap_api_key
    with session_scope(settings) as session:
        secret = bootstrap.create_first_team(
            session, secret=given.get_secret_value() if given else None
        )
    if secret is None:
        return
    bootstrap.write_secret_file(settings.api_key_file, secret)
    shown = "from ADAPTD_BOOTSTRAP_API_KEY" if given else secret
    print(
        f"adaptd: first start: created team 'default' with API key {shown}\n"
        f"adaptd: the key is saved in {settings.api_key_file} (mode 0600); it is not shown again",
        flush=True,
    )


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.broker_url:
        sys.exit("adaptd worker: set ADAPTD_BROKER_URL (e.g. redis://localhost:6379/0)")
    trains = TRAINING_QUEUE in args.queues.split(",")
    try:
        devices = parse_devices(args.devices if trains else "cpu", gpus_present() if trains else 0)
    except DeviceSpecError as error:
        sys.exit(f"adaptd worker: {error}")
    if len(devices) > 1:
        WorkerPool(devices, queues=args.queues, loglevel=args.loglevel).run()
        return
    [device] = devices
    os.environ.update(device.environment())  # for the training processes the worker spawns
    run_worker(
        settings.model_copy(update={"device": device.setting}),
        queues=args.queues,
        loglevel=args.loglevel,
        hostname=args.hostname or f"{device.name}@%h",
    )


def _create_team(settings: Settings, args: argparse.Namespace) -> None:
    with session_scope(settings) as session:
        if teams.get_by_name(session, name=args.name):
            sys.exit(f"adaptd: a team named {args.name!r} already exists")
        team = teams.create(session, name=args.name)
    print(team.id)


def _create_key(settings: Settings, args: argparse.Namespace) -> None:
    scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        sys.exit(f"adaptd: unknown scopes {unknown}; choose from {','.join(SCOPES)}")
    with session_scope(settings) as session:
        team = teams.get(session, team_id=args.team) or teams.get_by_name(session, name=args.team)
        if team is None:
            sys.exit(f"adaptd: no team with id or name {args.team!r}")
        _, secret = teams.create_key(session, team_id=team.id, name=args.name, scopes=scopes)
    print(secret)


def _export_model(settings: Settings, args: argparse.Namespace) -> None:
    with session_scope(settings) as session:
        model = session.get(Model, args.model_id)
        if model is None:
            sys.exit(f"adaptd: no model {args.model_id!r}")
        try:
            export_standalone(settings, model, args.out)
        except (NotExportable, BaseModelError) as error:
            sys.exit(f"adaptd: {error}")
    print(args.out)


HANDLERS: dict[str, Callable[[Settings, argparse.Namespace], None]] = {
    "serve": _serve,
    "worker": _worker,
    "migrate": lambda settings, _args: upgrade_database(settings),
    "create-team": _create_team,
    "create-key": _create_key,
    "export-model": _export_model,
}


if __name__ == "__main__":
    main()
