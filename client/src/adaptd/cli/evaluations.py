"""`adaptd evaluation`: a model's per-label scores and the confusions that matter."""

import argparse
from typing import Any

from adaptd.cli.exit_codes import ExitCode
from adaptd.cli.output import Output
from adaptd.cli.registry import Commands
from adaptd.client import Client, Evaluation

SUMMARY_LABELS = 5


def register(commands: Commands) -> None:
    evaluation = commands.command(
        "evaluation", "a model's evaluation: per-label table and top confusions", _evaluation
    )
    evaluation.add_argument("model")
    evaluation.add_argument("--dataset", help="the report on this dataset (default: validation)")
    evaluation.add_argument(
        "--evaluate", action="store_true", help="score the model on --dataset now"
    )


def _evaluation(client: Client, args: argparse.Namespace, out: Output) -> ExitCode:
    if args.evaluate:
        if not args.dataset:
            out.note("adaptd: --evaluate needs --dataset")
            return ExitCode.USAGE
        evaluation = client.models.evaluate(args.model, args.dataset)
    else:
        evaluation = client.models.evaluation(args.model, dataset=args.dataset)
    if out.json_mode:
        out.emit(evaluation)
        return ExitCode.OK
    _headline(out, evaluation)
    report = evaluation.report
    out.table(
        "per label (worst F1 first)",
        ["label", "precision", "recall", "F1", "support"],
        [[label, *scores] for label, scores in _per_label(report)],
    )
    _confusions(out, report)
    return ExitCode.OK


def show_summary(client: Client, out: Output, model_id: str) -> None:
    """After training: the headline scores and the weakest labels."""
    evaluation = client.models.evaluation(model_id)
    _headline(out, evaluation)
    weakest = _per_label(evaluation.report)[:SUMMARY_LABELS]
    out.table(
        f"weakest {len(weakest)} labels",
        ["label", "precision", "recall", "F1", "support"],
        [[label, *scores] for label, scores in weakest],
    )
    _confusions(out, evaluation.report, limit=SUMMARY_LABELS)
    out.line(f"full report: adaptd evaluation {model_id}")


def _headline(out: Output, evaluation: Evaluation) -> None:
    report = evaluation.report
    source = evaluation.dataset_id or "validation data"
    scores = ", ".join(
        f"{name} {report[name]:.3f}"
        for name in ("accuracy", "macro_f1", "micro_f1", "expected_calibration_error")
        if isinstance(report.get(name), int | float)
    )
    out.line(
        f"{evaluation.model_id} on {source} ({report.get('num_examples', '?')} examples): {scores}"
    )


def _per_label(report: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    rows = [
        (label, [s.get("precision"), s.get("recall"), s.get("f1"), s.get("support")])
        for label, s in (report.get("per_label") or {}).items()
    ]
    return sorted(rows, key=lambda row: (row[1][2] if row[1][2] is not None else 0.0, row[0]))


def _confusions(out: Output, report: dict[str, Any], limit: int | None = None) -> None:
    pairs = report.get("top_confusions") or []
    if pairs:
        out.table(
            "most confused (true → predicted)",
            ["true", "predicted", "count"],
            [[p.get("true"), p.get("predicted"), p.get("count")] for p in pairs[:limit]],
        )
        return
    per_label = report.get("label_confusion") or {}
    if per_label:
        rows = sorted(
            per_label.items(),
            key=lambda item: -(item[1].get("false_positive", 0) + item[1].get("false_negative", 0)),
        )
        out.table(
            "labels most often wrong",
            ["label", "false positives", "false negatives"],
            [
                [label, c.get("false_positive"), c.get("false_negative")]
                for label, c in rows[:limit]
            ],
        )
