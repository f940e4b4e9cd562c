"""Hyperparameter search on request: Optuna trials over a strategy's important hyperparameters,
pruned on their per-epoch validation scores, the best trial's model kept on disk as the search
goes so that a crash loses at most the running trial."""

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from app.ml.data import TrainingDataError
from app.ml.plan import RunContext, StrategyPlan, TrainedClassifier
from app.ml.progress import Callbacks, EpochReport, TrainingPaused
from app.ml.recipes import DataShape
from app.ml.strategies import Strategy, run, spec_of

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACES: dict[Strategy, dict[str, BaseDistribution]] = {
    Strategy.full: {
        "learning_rate": FloatDistribution(1e-5, 2e-4, log=True),
        "head_learning_rate_factor": CategoricalDistribution([1.0, 5.0, 20.0, 50.0]),
        "weight_decay": FloatDistribution(0.0, 0.1),
        "label_smoothing": FloatDistribution(0.0, 0.2),
    },
    Strategy.lora: {
        "learning_rate": FloatDistribution(1e-4, 3e-3, log=True),
        "head_learning_rate_factor": CategoricalDistribution([1.0, 4.0, 20.0]),
        "r": CategoricalDistribution([4, 8, 16, 32]),
        "weight_decay": FloatDistribution(0.0, 0.1),
    },
    Strategy.frozen: {
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
        "hidden_size": CategoricalDistribution([0, 512, 1024, 2048]),
        "dropout": FloatDistribution(0.0, 0.3),
        "weight_decay": FloatDistribution(0.0, 0.1),
    },
    Strategy.few_shot: {
        "contrastive_learning_rate": FloatDistribution(5e-6, 1e-4, log=True),
        "contrastive_epochs": IntDistribution(2, 16),
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    },
}


@dataclass(frozen=True)
class SearchRequest:
    trials: int
    budget_seconds: float | None = None


@dataclass(frozen=True)
class TrialResult:
    """One trial: the hyperparameters it sampled, its validation score (the last reported
    epoch's for a pruned trial), its seconds and how it ended."""

    number: int
    params: dict[str, Any]
    state: str
    seconds: float
    validation_score: float | None = None
    epochs: int | None = None


TrialSink = Callable[[list[TrialResult]], None]


def searchable(strategy: Strategy) -> bool:
    return strategy in SPACES


class _Pruning:
    """Reports each epoch's validation score to the trial and pauses the run once the pruner
    says it is behind."""

    def __init__(self, trial: optuna.Trial, outer: Callbacks, metric: str) -> None:
        self.trial, self.outer, self.metric = trial, outer, metric
        self.pruned = False
        self.last_score: float | None = None
        self.epochs = 0

    def callbacks(self) -> Callbacks:
        return Callbacks(self.outer.on_progress, self.on_epoch, self.should_pause)

    def on_epoch(self, report: EpochReport) -> None:
        self.outer.on_epoch(report)
        score = report.validation.get(self.metric)
        if report.resumed_at_step is not None or score is None:
            return
        self.last_score, self.epochs = float(score), report.epoch
        self.trial.report(float(score), report.epoch)
        self.pruned = self.trial.should_prune()

    def should_pause(self) -> bool:
        return self.outer.should_pause() or self.pruned


class SearchRun:
    """Runs `request.trials` trials of `plan`'s strategy (fewer when `budget_seconds` runs
    out), the given hyperparameters fixed and the rest of the strategy's space searched."""

    def __init__(
        self,
        plan: StrategyPlan,
        context: RunContext,
        *,
        request: SearchRequest,
        given: Mapping[str, Any],
        shape: DataShape,
        on_trials: TrialSink,
        pruner: optuna.pruners.BasePruner | None = None,
        seed: int = 0,
    ) -> None:
        if context.checkpoint_dir is None:
            raise ValueError("a search keeps its best model under the checkpoint directory")
        self.plan, self.context, self.request = plan, context, request
        self.given, self.shape, self.on_trials = dict(given), shape, on_trials
        self.strategy = Strategy(plan.strategy)
        self.space = {k: v for k, v in SPACES[self.strategy].items() if k not in self.given}
        self.metric = plan.decision_metric
        self.root = context.checkpoint_dir / "search"
        self.study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        )

    def run(self, earlier: list[TrialResult]) -> tuple[StrategyPlan, TrainedClassifier]:
        if not earlier:
            shutil.rmtree(self.root, ignore_errors=True)
        results = self._restore(earlier)
        started = time.monotonic()
        while len(results) < self.request.trials:
            budget = self.request.budget_seconds
            if budget is not None and time.monotonic() - started >= budget:
                break
            results.append(self._trial())
            self.on_trials(results)
        return self._best(results)

    def _restore(self, earlier: list[TrialResult]) -> list[TrialResult]:
        for result in earlier:
            state = TrialState.COMPLETE if result.state == "complete" else TrialState.PRUNED
            self.study.add_trial(
                optuna.trial.create_trial(
                    params=result.params,
                    distributions=self.space,
                    value=result.validation_score if state == TrialState.COMPLETE else None,
                    state=state,
                )
            )
        return list(earlier)

    def _trial(self) -> TrialResult:
        trial = self.study.ask(self.space)
        plan = self._plan_with(trial.params)
        pruning = _Pruning(trial, self.context.callbacks, self.metric)
        checkpoints = self.root / f"trial-{trial.number}"
        shutil.rmtree(checkpoints, ignore_errors=True)
        context = replace(self.context, callbacks=pruning.callbacks(), checkpoint_dir=checkpoints)
        started = time.monotonic()
        try:
            trained = run(plan, context)
        except TrainingPaused:
            if not pruning.pruned:
                raise
            self.study.tell(trial, state=TrialState.PRUNED)
            seconds = time.monotonic() - started
            return TrialResult(
                trial.number, trial.params, "pruned", seconds, pruning.last_score, pruning.epochs
            )
        finally:
            shutil.rmtree(checkpoints, ignore_errors=True)
        score = float(trained.metrics.get(self.metric, 0.0))
        self.study.tell(trial, score)
        result = TrialResult(
            trial.number,
            trial.params,
            "complete",
            time.monotonic() - started,
            score,
            int(trained.metrics.get("epochs_trained", 0)) or None,
        )
        if self._is_best(result):
            self._keep(result, trained)
        return result

    def _plan_with(self, params: Mapping[str, Any]) -> StrategyPlan:
        chosen = {**self.given, **params}
        if self.strategy == Strategy.lora and "r" in params and "alpha" not in self.given:
            chosen["alpha"] = 2 * int(params["r"])
        arguments = spec_of(self.strategy).arguments_of(chosen, self.shape)
        return replace(self.plan, arguments=arguments)

    def _is_best(self, result: TrialResult) -> bool:
        kept = self._kept()
        return kept is None or (result.validation_score or 0.0) > kept["validation_score"]

    def _keep(self, result: TrialResult, trained: TrainedClassifier) -> None:
        """Write the trial's model beside the search, then its record: a reader that finds
        the record finds the whole model."""
        staging = self.root / "best.writing"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "model").mkdir(parents=True)
        trained.save(staging / "model")
        record = {
            **asdict(result),
            "labels": trained.labels,
            "metrics": trained.metrics,
            "multi_label": trained.multi_label,
            "thresholds": trained.thresholds,
            "pooling": trained.pooling,
        }
        (staging / "record.json").write_text(json.dumps(record))
        shutil.rmtree(self.root / "best", ignore_errors=True)
        staging.rename(self.root / "best")

    def _kept(self) -> dict[str, Any] | None:
        path = self.root / "best" / "record.json"
        if not path.is_file():
            return None
        kept: dict[str, Any] = json.loads(path.read_text())
        return kept

    def _best(self, results: list[TrialResult]) -> tuple[StrategyPlan, TrainedClassifier]:
        kept = self._kept()
        if kept is None:
            raise TrainingDataError(
                f"none of the {len(results)} search trials finished (every one was pruned or "
                "the budget ran out first); raise search.trials or search.budget_seconds"
            )
        model = self.root / "best" / "model"

        def save(directory: Path) -> None:
            shutil.copytree(model, directory, dirs_exist_ok=True)

        trained = TrainedClassifier(
            kept["labels"],
            kept["metrics"] | {"search_trials": float(len(results))},
            kept["multi_label"],
            kept["thresholds"],
            save,
            kept["pooling"],
        )
        return self._plan_with(kept["params"]), trained
