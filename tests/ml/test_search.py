from pathlib import Path
from typing import Any

import optuna
import pytest

from app.ml.plan import RunContext
from app.ml.progress import Callbacks, TrainingPaused
from app.ml.recipes import DataShape
from app.ml.search import SearchRequest, SearchRun, TrialResult
from tests.strategy_models import CPU, ROWS, plan_for, saved_predictor

SHAPE = DataShape(examples=len(ROWS), labels=2)


class PruneAfterTheFirst(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number >= 1


def search(
    strategy: str,
    tmp_path: Path,
    base: str,
    trials: int,
    *,
    given: dict[str, Any] | None = None,
    recorded: list[list[TrialResult]] | None = None,
    callbacks: Callbacks | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> SearchRun:
    fixed = given or {}
    plan = plan_for(strategy, base, ROWS, **fixed)
    sink = recorded if recorded is not None else []
    return SearchRun(
        plan,
        RunContext(CPU, callbacks or Callbacks(), checkpoint_dir=tmp_path / "checkpoint"),
        request=SearchRequest(trials),
        given=fixed,
        shape=SHAPE,
        on_trials=lambda results: sink.append(list(results)),
        pruner=pruner,
    )


def test_search_tries_settings_and_keeps_the_best_trials_model(
    tiny_model_path: str, tmp_path: Path
) -> None:
    recorded: list[list[TrialResult]] = []

    plan, trained = search(
        "frozen", tmp_path, tiny_model_path, 3, given={"epochs": 5}, recorded=recorded
    ).run([])

    results = recorded[-1]
    assert [r.number for r in results] == [0, 1, 2]
    assert len({r.params["learning_rate"] for r in results}) == 3
    assert all(r.state == "complete" and r.validation_score is not None for r in results)
    best = max(results, key=lambda r: r.validation_score or 0.0)
    assert trained.metrics["accuracy"] == best.validation_score
    assert trained.metrics["search_trials"] == 3
    assert plan.arguments.epochs == 5
    assert plan.arguments.learning_rate == best.params["learning_rate"]
    predictor = saved_predictor(trained, plan, tmp_path / "model")
    assert len(predictor.predict([row.text for row in ROWS])) == len(ROWS)


def test_trials_behind_are_pruned_at_an_epoch(tiny_model_path: str, tmp_path: Path) -> None:
    recorded: list[list[TrialResult]] = []
    given = {"epochs": 3, "batch_size": 2, "early_stopping_patience": None}

    _, trained = search(
        "full",
        tmp_path,
        tiny_model_path,
        3,
        given=given,
        recorded=recorded,
        pruner=PruneAfterTheFirst(),
    ).run([])

    states = [(r.state, r.epochs) for r in recorded[-1]]
    assert states == [("complete", 3), ("pruned", 1), ("pruned", 1)]
    assert trained.metrics["accuracy"] == recorded[-1][0].validation_score


def test_a_crash_loses_only_the_running_trial(tiny_model_path: str, tmp_path: Path) -> None:
    recorded: list[list[TrialResult]] = []
    epochs: list[int] = []

    def shutdown_in_the_second_trial() -> bool:
        return len(recorded) == 1 and len(epochs) > 0

    crashing = Callbacks(
        on_epoch=lambda report: epochs.append(report.epoch),
        should_pause=shutdown_in_the_second_trial,
    )
    given = {"epochs": 3, "batch_size": 2}
    with pytest.raises(TrainingPaused):
        search(
            "full", tmp_path, tiny_model_path, 3, given=given, recorded=recorded, callbacks=crashing
        ).run([])
    first = recorded[-1]
    assert len(first) == 1

    again: list[list[TrialResult]] = []
    _, trained = search("full", tmp_path, tiny_model_path, 3, given=given, recorded=again).run(
        first
    )

    assert [r.number for r in again[-1]] == [0, 1, 2]
    assert again[-1][0] == first[0]
    best = max(again[-1], key=lambda r: r.validation_score or 0.0)
    assert trained.metrics["accuracy"] == best.validation_score
