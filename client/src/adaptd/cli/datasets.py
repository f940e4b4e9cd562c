"""`adaptd datasets`: upload a file and see what was stored, or every bad row."""

import argparse
from pathlib import Path

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands
from adaptd.client import Client, Dataset, ValidationError


def register(commands: Commands) -> None:
    datasets = commands.group("datasets", "upload, list, show and delete labeled datasets")
    upload = datasets.command("upload", "upload a .csv or .jsonl file", _upload)
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", help="a name for the dataset (default: the file name)")
    upload.add_argument("--text-column", help="the column holding the text (default: text)")
    upload.add_argument("--label-column", help="the column holding the label (default: label)")
    upload.add_argument("-q", "--quiet", action="store_true", help="print only the dataset id")
    datasets.command("list", "every dataset of the team", _list)
    show = datasets.command("show", "one dataset and its per-label counts", _show)
    show.add_argument("dataset")
    delete = datasets.command("delete", "delete a dataset", _delete)
    delete.add_argument("dataset")


def _upload(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    if not args.file.is_file():
        out.note(f"adaptd: no such file: {args.file}")
        return ExitCode.USAGE
    try:
        dataset = client.datasets.upload(
            args.file,
            name=args.name,
            text_column=args.text_column,
            label_column=args.label_column,
        )
    except ValidationError as error:
        show_invalid(out, error)
        return ExitCode.INVALID
    if args.quiet:
        out.line(dataset.id)
        return ExitCode.OK
    _report(out, dataset)
    return ExitCode.OK


def _list(client: Client, _args: argparse.Namespace, out: Output) -> ExitCode:
    datasets = list(client.datasets.list())
    if out.json_mode:
        out.emit(datasets)
        return ExitCode.OK
    out.table(
        None,
        ["id", "name", "examples", "labels", "multi-label", "created"],
        [
            [d.id, d.name, d.num_examples, len(d.labels), d.multi_label, d.created_at]
            for d in datasets
        ],
    )
    return ExitCode.OK


def _show(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    _report(out, client.datasets.get(args.dataset))
    return ExitCode.OK


def _delete(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    client.datasets.delete(args.dataset)
    out.note(f"deleted {args.dataset}")
    return ExitCode.OK


def _report(out: Output, dataset: Dataset) -> None:
    if out.json_mode:
        out.emit(dataset)
        return
    kind = "multi-label" if dataset.multi_label else "single-label"
    out.line(f"{dataset.id}  {dataset.name}: {dataset.num_examples} examples, {kind}")
    counts = sorted(dataset.labels.items(), key=lambda item: (-item[1], item[0]))
    share = max(dataset.num_examples, 1)
    out.table(
        None,
        ["label", "examples", "share"],
        [[label, count, f"{count / share:.1%}"] for label, count in counts],
    )
    for warning in dataset.warnings:
        out.line(f"warning: {warning}")


def show_invalid(out: Output, error: ValidationError) -> None:
    """A 422 as a table of every bad field, row or line."""
    if out.json_mode:
        out.emit(error.problem)
        return
    out.note(f"adaptd: {error.detail}")
    out.table(
        None,
        ["where", "what is wrong"],
        [[item.location, item.message] for item in error.errors],
        to_errors=True,
    )
    if error.total_errors > len(error.errors):
        out.note(f"... and {error.total_errors - len(error.errors)} more")
