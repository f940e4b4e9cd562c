import argparse
import logging
import multiprocessing
import os
import sys
from pathlib import Path

import uvicorn

from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.logs import FORMAT, queued_logging
from app.core.migrate import upgrade_database
from app.main import create_app
from app.ml.loading import BaseModelError
from app.models import Model
from app.services import bootstrap, teams
from app.services.model_exports import NotExportable, export_standalone
from app.services.teams import SCOPES
from workers.celery_worker import run_worker
from workers.runner import run_forever

RUNNER_STOP_SECONDS = 60


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    try:
        settings = get_settings()
    except ValueError as error:
        sys.exit(f"adaptd: invalid configuration:\n{error}")
    args.handler(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaptd", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the API (and the embedded job runner)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser("worker", help="run a Celery worker for training jobs")
    worker.add_argument("--queues", default="training")
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser("migrate", help="upgrade the database schema to the newest")
    migrate.set_defaults(handler=lambda settings, _args: upgrade_database(settings))
    team = commands.add_parser("create-team", help="create a team and print its id")
    team.add_argument("name")
    team.set_defaults(handler=_create_team)
    key = commands.add_parser("create-key", help="create an API key and print it once")
    key.add_argument("--team", required=True, help="team id or name")
    key.add_argument("--name", default="api key")
    key.add_argument("--scopes", default="read,write", help=f"comma-separated: {','.join(SCOPES)}")
    key.set_defaults(handler=_create_key)
    export = commands.add_parser(
        "export-model",
        help="write a full or lora model as a standalone Hugging Face directory (lora merged)",
    )
    export.add_argument("model_id")
    export.add_argument("out", type=Path)
    export.set_defaults(handler=_export_model)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.migrate_on_start:
        upgrade_database(settings)
    _bootstrap(settings)
    runner = None
    if settings.uses_embedded_runner:
        runner = multiprocessing.get_context("spawn").Process(
            target=run_forever, args=(settings, os.getpid()), name="adaptd-runner"
        )
        runner.start()
    try:
        with queued_logging():
            uvicorn.run(
                create_app(settings),
                host=args.host,
                port=args.port,
                log_config=None,
                access_log=settings.access_log,
            )
    finally:
        if runner is not None:
            runner.terminate()
            runner.join(RUNNER_STOP_SECONDS)
            if runner.is_alive():
                runner.kill()


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
    run_worker(settings, queues=args.queues, loglevel=args.loglevel)


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


if __name__ == "__main__":
    main()
