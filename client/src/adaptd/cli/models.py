"""`adaptd models` and `adaptd predict`."""

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands, UsageError
from adaptd.client import Client, Model

PREDICT_BATCH = 64


def register(commands: Commands) -> None:
    models = commands.group("models", "list and show models", default=_list)
    models.command("list", "the team's models", _list)
    show = models.command("show", "one model", _show)
    show.add_argument("model")
    download = models.command("download", "download a model's artifact", _download)
    download.add_argument("model")
    download.add_argument("directory", type=Path, nargs="?", default=Path("."))

    predict = commands.command(
        "predict", "predict labels for texts with a model or an alias", _predict
    )
    predict.add_argument("model", metavar="MODEL_OR_ALIAS")
    predict.add_argument("texts", nargs="*", metavar="TEXT")
    predict.set_defaults(trailing_positionals="texts")
    predict.add_argument(
        "--file",
        type=Path,
        help="texts to predict: one a line, or JSONL with a `text` field (- for stdin)",
    )
    predict.add_argument("--top-k", type=int, help="keep the k best labels of each text")


def _list(client: Client, _args: argparse.Namespace, out: Output) -> ExitCode:
    models = list(client.models.list())
    if out.json_mode:
        out.emit(models)
        return ExitCode.OK
    out.table(
        None,
        ["id", "strategy", "labels", "accuracy", "macro F1", "base model", "created"],
        [
            [
                m.id,
                m.strategy,
                len(m.labels),
                m.metrics.get("accuracy"),
                m.metrics.get("macro_f1"),
                m.base_model,
                m.created_at,
            ]
            for m in models
        ],
    )
    return ExitCode.OK


def _show(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    model = client.models.get(args.model)
    if out.json_mode:
        out.emit(model)
        return ExitCode.OK
    _describe(out, model)
    return ExitCode.OK


def _describe(out: Output, model: Model) -> None:
    out.line(f"{model.id}  {model.strategy} on {model.base_model}, from job {model.job_id}")
    out.line(f"labels ({len(model.labels)}): {', '.join(model.labels)}")
    if model.metrics:
        out.line("metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(model.metrics.items())))
    if model.acceleration:
        out.line(f"served with: {model.acceleration.method}")


def _download(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    folder = client.models.download(args.model, args.directory)
    if out.json_mode:
        out.emit({"model_id": args.model, "path": str(folder)})
    else:
        out.line(str(folder))
    return ExitCode.OK


def _predict(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    texts = list(args.texts)
    if args.file is not None:
        texts.extend(_read_texts(args.file))
    if not texts:
        raise UsageError("give texts to predict, or --file")
    rows: list[list[object]] = []
    for start in range(0, len(texts), PREDICT_BATCH):
        batch = texts[start : start + PREDICT_BATCH]
        answer = client.models.predict(args.model, batch, top_k=args.top_k)
        for text, prediction in zip(batch, answer.predictions, strict=True):
            if out.json_mode:
                out.emit_lines([{"text": text, **prediction.model_dump(mode="json")}])
                continue
            others = ", ".join(f"{s.label} {s.score:.2f}" for s in prediction.scores[1:3])
            label = prediction.label if not prediction.abstained else "(abstained)"
            rows.append([text, label, prediction.score, others])
    if not out.json_mode:
        out.table(None, ["text", "label", "score", "next best"], rows)
    return ExitCode.OK


def _read_texts(path: Path) -> Iterator[str]:
    lines = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UsageError(f"{path} line {number}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise UsageError(f"{path} line {number}: a JSON line needs a string `text` field")
            yield record["text"]
        else:
            yield line
