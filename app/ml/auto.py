"""`auto`: measure before choosing, within a budget of seconds.

`frozen` is fitted first (a head on cached embeddings: seconds) and is the floor. Every costlier
contestant then starts for real: after a few optimizer steps its whole run is projected from
their pace and dropped if it cannot finish within the budget; `few_shot` runs to the end; the
fine-tuning strategies (`lora`, `full`) run their first epoch, then each finishes from its
checkpoint, the better after that epoch first, as long as the rest of it fits what is left of
the budget (one epoch ranks them by how fast they start, not by where they end). The job
publishes whichever run scores best on validation, so `auto` never does worse there than
`frozen`. Every measurement, projection and the reason for the winner are kept in a `Decision`,
which also lets a retried job resume the finishing run instead of measuring again.
"""

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app.ml.plan import RunContext, StrategyPlan, TrainedClassifier
from app.ml.progress import Callbacks, EpochReport, TrainingPaused, TrainingProgress
from app.ml.strategies import Strategy, run, spec_of

PROBE_STEPS = 8
EVALUATION_OVERHEAD = 1.1
BUDGET_PRESETS = {"low": 300, "standard": 1800, "high": 7200}
FLOOR = Strategy.frozen
COST_ORDER = (Strategy.zero_shot, Strategy.frozen, Strategy.few_shot, Strategy.lora, Strategy.full)


@dataclass(frozen=True)
class Trial:
    """What one contestant was measured to do: its validation score and log-loss (after
    `epochs_measured` epochs when it was raced and not finished), the seconds it took and the
    seconds its whole run was projected to take."""

    strategy: str
    outcome: str
    seconds: float
    validation_score: float | None = None
    projected_seconds: float | None = None
    epochs_measured: int | None = None
    validation_loss: float | None = None


@dataclass
class Decision:
    budget_seconds: float
    metric: str
    trials: list[Trial] = field(default_factory=list)
    finishing: str | None = None
    chosen: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        trials = [Trial(**trial) for trial in data.get("trials", [])]
        return cls(**{**data, "trials": trials})

    def complete(self) -> list[Trial]:
        scored = (t for t in self.trials if t.validation_score is not None)
        return [t for t in scored if t.outcome == "complete"]


CallbacksFor = Callable[[Strategy], Callbacks]
DecisionSink = Callable[[Decision], None]


@dataclass(frozen=True)
class AutoOutcome:
    plan: StrategyPlan
    trained: TrainedClassifier
    decision: Decision


class _OverBudget(Exception):
    def __init__(self, projected: float) -> None:
        super().__init__(f"projected {projected:.0f} s")
        self.projected = projected


class _Pace:
    """Watches one contestant's run: projects its length after `PROBE_STEPS` steps, stops it
    when that cannot fit, and with `stop_after_epoch` pauses it once its first epoch is scored."""

    def __init__(
        self,
        outer: Callbacks,
        seconds_left: float,
        *,
        stop_after_epoch: bool,
        extra_seconds: float = 0.0,
    ) -> None:
        self.outer, self.seconds_left = outer, seconds_left
        self.stop_after_epoch, self.extra_seconds = stop_after_epoch, extra_seconds
        self.started = time.monotonic()
        self.first_step_at: float | None = None
        self.steps_seen = 0
        self.projected: float | None = None
        self.epoch_report: EpochReport | None = None
        self.over_budget = False
        self.pausing = False

    def callbacks(self) -> Callbacks:
        return Callbacks(self.on_progress, self.on_epoch, self.should_pause)

    def on_progress(self, progress: TrainingProgress) -> None:
        self.outer.on_progress(progress)
        now = time.monotonic()
        self.steps_seen += 1
        if self.first_step_at is None:
            self.first_step_at = now
            return
        if self.steps_seen == PROBE_STEPS + 1:
            per_step = (now - self.first_step_at) / PROBE_STEPS
            remaining = (progress.total_steps - progress.step) * per_step * EVALUATION_OVERHEAD
            self.projected = now - self.started + remaining + self.extra_seconds
            self.over_budget = self.projected > self.seconds_left

    def on_epoch(self, report: EpochReport) -> None:
        """Project the run as its start-up (loading, up to the first step) plus one epoch as
        timed from the first step, for every epoch."""
        self.outer.on_epoch(report)
        if self.stop_after_epoch and report.resumed_at_step is None and not self.epoch_report:
            now = time.monotonic()
            self.epoch_report = report
            first = self.first_step_at or now
            per_step = (now - first) / max(1, self.steps_seen - 1)
            epoch = per_step * self.steps_seen
            self.projected = first - self.started - per_step + epoch * report.epochs
            self.over_budget = self.over_budget or self.projected > self.seconds_left

    def should_pause(self) -> bool:
        if self.outer.should_pause():
            return True
        self.pausing = self.over_budget or (self.stop_after_epoch and self.epoch_report is not None)
        return self.pausing


class AutoRun:
    """Runs the contestants of one `auto` job. `plans` holds a plan per strategy that fits the
    data (always `frozen`); `checkpoints` is where raced runs keep their checkpoints."""

    def __init__(
        self,
        plans: Mapping[Strategy, StrategyPlan],
        context: RunContext,
        *,
        callbacks_for: CallbacksFor,
        on_decision: DecisionSink,
        budget_seconds: float,
    ) -> None:
        self.plans, self.context = plans, context
        self.callbacks_for, self.on_decision = callbacks_for, on_decision
        self.budget_seconds = budget_seconds
        self.started = time.monotonic()

    def run(self, earlier: Decision | None = None) -> AutoOutcome:
        if earlier is not None and earlier.finishing is not None:
            self.started -= sum(trial.seconds for trial in earlier.trials)  # spent before
            return self._finish_raced(earlier, {})
        decision = Decision(self.budget_seconds, self.plans[FLOOR].decision_metric)
        self._clear_checkpoints()
        trained = {FLOOR: self._complete(FLOOR, decision)}
        if Strategy.few_shot in self.plans:
            few_shot = self._measure(Strategy.few_shot, decision, trained[FLOOR])
            if few_shot is not None:
                trained[Strategy.few_shot] = few_shot
        for strategy in (Strategy.lora, Strategy.full):
            if strategy in self.plans:
                self._measure(strategy, decision, None)
        return self._finish_raced(decision, trained)

    def _seconds_left(self) -> float:
        return self.budget_seconds - (time.monotonic() - self.started)

    def _complete(self, strategy: Strategy, decision: Decision) -> TrainedClassifier:
        started = time.monotonic()
        plan = self.plans[strategy]
        context = replace(self.context, callbacks=self.callbacks_for(strategy))
        trained = run(plan, context)
        trial = Trial(
            strategy,
            "complete",
            time.monotonic() - started,
            validation_score=trained.metrics.get(decision.metric),
            validation_loss=trained.metrics.get("loss"),
        )
        decision.trials.append(trial)
        self.on_decision(decision)
        return trained

    def _measure(
        self, strategy: Strategy, decision: Decision, floor: TrainedClassifier | None
    ) -> TrainedClassifier | None:
        """Start `strategy`; finish it when it has no checkpoints (`few_shot`), else stop it
        after its first epoch. None when it was stopped, for either reason."""
        raced = spec_of(strategy).checkpoints
        extra = 0.0 if raced else _trial_seconds(decision, FLOOR)
        pace = _Pace(
            self.callbacks_for(strategy),
            self._seconds_left(),
            stop_after_epoch=raced,
            extra_seconds=extra,
        )
        context = replace(
            self.context, callbacks=pace.callbacks(), checkpoint_dir=self._checkpoint(strategy)
        )
        trained = None
        try:
            trained = run(self.plans[strategy], context)
        except TrainingPaused:
            if not pace.pausing:
                raise
        seconds = time.monotonic() - pace.started
        if pace.over_budget:
            trial = Trial(strategy, "over budget", seconds, projected_seconds=pace.projected)
            trained = None
        elif trained is not None:
            score = trained.metrics.get(decision.metric)
            loss = trained.metrics.get("loss")
            trial = Trial(strategy, "complete", seconds, score, pace.projected, None, loss)
        else:
            report = pace.epoch_report
            assert report is not None
            score = _score(report.validation, decision.metric)
            loss = _score(report.validation, "loss")
            trial = Trial(strategy, "raced", seconds, score, pace.projected, report.epoch, loss)
        decision.trials.append(trial)
        self.on_decision(decision)
        return trained

    def _finish_raced(
        self, decision: Decision, trained: dict[Strategy, TrainedClassifier]
    ) -> AutoOutcome:
        """Finish the raced runs that fit, one at a time (`decision.finishing`, which a
        retried job resumes), then choose."""
        if decision.finishing is None:
            decision.finishing = self._finalist(decision)
        while decision.finishing is not None:
            self.on_decision(decision)
            self._finish(decision, trained)
            decision.finishing = self._finalist(decision)
        return self._choose(decision, trained)

    def _finalist(self, decision: Decision) -> str | None:
        """The raced run to finish next: the best after its first epoch, if the rest of it
        fits; None when none is left or the best does not fit."""
        raced = [t for t in decision.trials if t.outcome == "raced"]
        if not raced:
            return None
        best = max(raced, key=lambda t: t.validation_score or 0.0)
        remaining = (best.projected_seconds or 0.0) - best.seconds
        if remaining > self._seconds_left():
            decision.reason = (
                f"`{best.strategy}` led the unfinished fine-tuning runs but needs another "
                f"{remaining:.0f} s of a budget with {self._seconds_left():.0f} s left"
            )
            return None
        return best.strategy

    def _finish(self, decision: Decision, trained: dict[Strategy, TrainedClassifier]) -> None:
        assert decision.finishing is not None
        strategy = Strategy(decision.finishing)
        started = time.monotonic()
        trained[strategy] = run(self.plans[strategy], self._resuming(strategy))
        index = next(
            i
            for i, t in enumerate(decision.trials)
            if t.strategy == strategy and t.outcome == "raced"
        )
        raced = decision.trials[index]
        decision.trials[index] = replace(
            raced,
            outcome="complete",
            seconds=raced.seconds + time.monotonic() - started,
            validation_score=trained[strategy].metrics.get(decision.metric),
            validation_loss=trained[strategy].metrics.get("loss"),
            epochs_measured=None,
        )

    def _choose(
        self, decision: Decision, trained: dict[Strategy, TrainedClassifier]
    ) -> AutoOutcome:
        best = max(decision.complete(), key=_preference)
        strategy = Strategy(best.strategy)
        if strategy not in trained:  # a retried job: a finished run resumes at its end
            trained[strategy] = run(self.plans[strategy], self._resuming(strategy))
        decision.chosen = strategy.value
        decision.reason = _reason(decision, best)
        return AutoOutcome(self.plans[strategy], trained[strategy], decision)

    def _resuming(self, strategy: Strategy) -> RunContext:
        if not spec_of(strategy).checkpoints:
            return self.context
        return replace(self.context, checkpoint_dir=self._checkpoint(strategy))

    def _checkpoint(self, strategy: Strategy) -> Path | None:
        root = self.context.checkpoint_dir
        return None if root is None else root / "auto" / strategy.value

    def _clear_checkpoints(self) -> None:
        if self.context.checkpoint_dir is not None:
            shutil.rmtree(self.context.checkpoint_dir / "auto", ignore_errors=True)


def _preference(trial: Trial) -> tuple[float, float, int]:
    """The best validation score; on a tie the lower validation log-loss (a finer measure of
    the same predictions), then the cheaper strategy."""
    loss = trial.validation_loss if trial.validation_loss is not None else float("inf")
    return (trial.validation_score or 0.0, -loss, -COST_ORDER.index(Strategy(trial.strategy)))


def _score(scores: Mapping[str, float], metric: str) -> float | None:
    value = scores.get(metric)
    return None if value is None else float(value)


def _trial_seconds(decision: Decision, strategy: Strategy) -> float:
    return sum(t.seconds for t in decision.trials if t.strategy == strategy)


def _reason(decision: Decision, best: Trial) -> str:
    scores = ", ".join(
        f"`{t.strategy}` {t.validation_score:.4f}"
        for t in sorted(decision.complete(), key=lambda t: -(t.validation_score or 0.0))
    )
    others = [
        f"`{t.strategy}` {t.outcome}"
        + (f" (projected {t.projected_seconds:.0f} s)" if t.projected_seconds else "")
        for t in decision.trials
        if t.outcome != "complete"
    ]
    said = f"best validation {decision.metric} of the finished runs ({scores})"
    budget = f"within {decision.budget_seconds:.0f} s"
    extra = f"; not finished: {', '.join(others)}" if others else ""
    earlier = f"; {decision.reason}" if decision.reason else ""
    return f"`{best.strategy}`: {said} {budget}{_tie(decision, best)}{extra}{earlier}"


def _tie(decision: Decision, best: Trial) -> str:
    tied = [t for t in decision.complete() if t.validation_score == best.validation_score]
    if len(tied) < 2:
        return ""
    if all(t.validation_loss is None for t in tied):
        return f"; tied on {decision.metric}, so the cheapest run"
    losses = ", ".join(
        f"`{t.strategy}` {t.validation_loss:.4f}"
        for t in sorted(tied, key=_preference, reverse=True)
        if t.validation_loss is not None
    )
    return f"; tied on {decision.metric}, so the lowest validation log-loss ({losses})"
