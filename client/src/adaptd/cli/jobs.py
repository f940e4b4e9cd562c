"""`adaptd train` and `adaptd jobs`: start a job, follow it live, cancel it on Ctrl-C."""

import argparse
import json
from typing import Any

from rich.prompt import Confirm

from adaptd.cli.evaluations import show_summary
from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.progress import JobProgressBar
from adaptd.cli.registry import Commands, UsageError
from adaptd.client import Client, Job, JobOptions

STRATEGIES = ["full", "lora", "frozen", "few_shot", "zero_shot", "auto"]


def register(commands: Commands) -> None:
    train = commands.command("train", "start a fine-tuning job on a dataset", _train)
    train.add_argument("dataset", help="the dataset id (optional for zero_shot: pass -)")
    train.add_argument("--strategy", choices=STRATEGIES, default="full")
    train.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a hyperparameter, e.g. -p epochs=10 -p learning_rate=1e-4 (repeatable; "
        "`adaptd strategies` lists them)",
    )
    train.add_argument("--budget", choices=["low", "standard", "high"])
    train.add_argument("--base-model")
    train.add_argument("--validation-split", type=float)
    train.add_argument("--validation-dataset")
    train.add_argument("--init-from-model")
    train.add_argument(
        "--describe",
        action="append",
        default=[],
        metavar="LABEL=TEXT",
        help="a label description for zero_shot and few_shot (repeatable)",
    )
    train.add_argument("--wait", action="store_true", help="follow the job until it ends")
    train.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the job id (with --wait: the model id, once the job has succeeded)",
    )
    train.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds")

    jobs = commands.group("jobs", "list, show, follow and cancel jobs", default=_list)
    listing = jobs.command("list", "the team's jobs, newest first", _list)
    listing.add_argument(
        "--status", choices=["queued", "running", "succeeded", "failed", "cancelled"]
    )
    show = jobs.command("show", "one job", _show)
    show.add_argument("job")
    wait = jobs.command("wait", "follow a job until it ends", _wait)
    wait.add_argument("job")
    wait.add_argument("--timeout", type=float)
    cancel = jobs.command("cancel", "cancel a queued or running job", _cancel)
    cancel.add_argument("job")
    events = jobs.command("events", "a job's event log", _events)
    events.add_argument("job")


def _train(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    options: JobOptions = {}
    if args.param:
        options["hyperparameters"] = dict(_assignment(item, "--param") for item in args.param)
    if args.describe:
        options["label_descriptions"] = {
            label: str(text)
            for label, text in (_assignment(d, "--describe", raw=True) for d in args.describe)
        }
    for name in ("budget", "base_model", "validation_split", "init_from_model"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.validation_dataset:
        options["validation_dataset_id"] = args.validation_dataset
    dataset = None if args.dataset == "-" else args.dataset
    job = client.jobs.create(dataset, strategy=args.strategy, **options)
    if not args.wait:
        if args.quiet:
            out.line(job.id)
        else:
            _describe(out, job)
        return ExitCode.OK
    out.note(f"job {job.id} queued ({job.requested_strategy}); Ctrl-C to stop following it")
    return _follow(client, job, out, args.timeout, quiet=args.quiet)


def _wait(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    return _follow(client, client.jobs.get(args.job), out, args.timeout)


def _follow(
    client: Client, job: Job, out: Output, timeout: float | None, *, quiet: bool = False
) -> ExitCode:
    try:
        if out.json_mode:
            ended = client.jobs.wait(job, timeout=timeout)
        else:
            with JobProgressBar(out.errors, job.id) as bar:
                ended = client.jobs.wait(job, on_progress=bar.update, timeout=timeout)
    except KeyboardInterrupt:
        return _interrupted(client, job, out)
    if quiet:
        if ended.status == "succeeded" and ended.model_id:
            out.line(ended.model_id)
        else:
            out.note(_ending(ended))
        return ExitCode.OK if ended.status == "succeeded" else ExitCode.JOB_FAILED
    _describe(out, ended)
    if ended.status != "succeeded":
        return ExitCode.JOB_FAILED
    if not out.json_mode and ended.model_id:
        show_summary(client, out, ended.model_id)
    return ExitCode.OK


def _interrupted(client: Client, job: Job, out: Output) -> ExitCode:
    try:
        cancel = Confirm.ask(f"\ncancel job {job.id}?", console=out.errors, default=False)
    except (EOFError, KeyboardInterrupt):
        cancel = False
    if cancel:
        cancelled = client.jobs.cancel(job)
        out.note(f"job {job.id}: cancel requested ({cancelled.status})")
    else:
        out.note(f"job {job.id} goes on; follow it again with: adaptd jobs wait {job.id}")
    return ExitCode.INTERRUPTED


def _list(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    jobs = list(client.jobs.list(status=getattr(args, "status", None)))
    if out.json_mode:
        out.emit(jobs)
        return ExitCode.OK
    out.table(
        None,
        ["id", "status", "kind", "strategy", "dataset", "model", "created"],
        [
            [j.id, j.status, j.kind, j.strategy, j.dataset_id, j.model_id, j.created_at]
            for j in jobs
        ],
    )
    return ExitCode.OK


def _show(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    _describe(out, client.jobs.get(args.job))
    return ExitCode.OK


def _cancel(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    _describe(out, client.jobs.cancel(args.job))
    return ExitCode.OK


def _events(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    events = list(client.jobs.events(args.job))
    if out.json_mode:
        out.emit(events)
        return ExitCode.OK
    out.table(
        None,
        ["#", "time", "type", "message"],
        [[e.sequence, e.created_at, e.type, e.message] for e in events],
    )
    return ExitCode.OK


def _describe(out: Output, job: Job) -> None:
    if out.json_mode:
        out.emit(job)
        return
    out.line(_ending(job))
    if job.strategy_reason:
        out.line(f"strategy: {job.strategy_reason}")
    if job.model_id:
        out.line(f"model: {job.model_id}")


def _ending(job: Job) -> str:
    work = job.strategy if job.kind == "train" else f"{job.kind} {job.model_id}"
    line = f"{job.id}  {job.status}  {work} on {job.dataset_id or '-'}"
    return f"{line}\nerror: {job.error.code}: {job.error.message}" if job.error else line


def _assignment(text: str, option: str, *, raw: bool = False) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise UsageError(f"{option} takes NAME=VALUE, got {text!r}")
    if raw:
        return name, value
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value
