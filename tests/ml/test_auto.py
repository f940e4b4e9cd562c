from dataclasses import replace
from pathlib import Path

import pytest

from app.ml.auto import AutoRun, Decision, Trial
from app.ml.plan import RunContext, StrategyPlan
from app.ml.progress import Callbacks, EpochReport, TrainingPaused
from app.ml.recipes import DataShape
from app.ml.strategies import Strategy, run, spec_of
from tests.strategy_models import CPU, ROWS, plan_for

SHAPE = DataShape(examples=len(ROWS), labels=2)


def plans(base: str, *strategies: Strategy) -> dict[Strategy, StrategyPlan]:
    """Each strategy with its defaults for these rows, as `auto` plans them."""
    return {
        strategy: replace(
            plan_for(strategy, base, ROWS), arguments=spec_of(strategy).arguments_of({}, SHAPE)
        )
        for strategy in (Strategy.frozen, *strategies)
    }


class Recorder:
    def __init__(self) -> None:
        self.decisions: list[dict[str, object]] = []
        self.epochs: list[tuple[Strategy, EpochReport]] = []

    def callbacks_for(self, strategy: Strategy) -> Callbacks:
        return Callbacks(on_epoch=lambda report: self.epochs.append((strategy, report)))

    def on_decision(self, decision: Decision) -> None:
        self.decisions.append(decision.to_dict())


def auto_run(
    plans: dict[Strategy, StrategyPlan],
    tmp_path: Path,
    recorder: Recorder,
    budget: float = 3600,
    callbacks: Callbacks | None = None,
) -> AutoRun:
    context = RunContext(
        device=CPU, callbacks=callbacks or Callbacks(), checkpoint_dir=tmp_path / "checkpoint"
    )
    return AutoRun(
        plans,
        context,
        callbacks_for=recorder.callbacks_for,
        on_decision=recorder.on_decision,
        budget_seconds=budget,
    )


def test_auto_races_fine_tuning_for_an_epoch_then_finishes_each_run_that_fits_leader_first(
    tiny_model_path: str, tmp_path: Path
) -> None:
    recorder = Recorder()
    the_plans = plans(tiny_model_path, Strategy.lora, Strategy.full)
    finishing: list[EpochReport] = []
    callbacks = Callbacks(on_epoch=finishing.append)

    outcome = auto_run(the_plans, tmp_path, recorder, callbacks=callbacks).run()

    decision = outcome.decision
    trials = {trial.strategy: trial for trial in decision.trials}
    assert list(trials) == ["frozen", "lora", "full"]
    assert all(trial.outcome == "complete" for trial in decision.trials), decision
    raced = [d for d in recorder.decisions if d["finishing"] is None and len(d["trials"]) == 3]
    after_one_epoch = {t["strategy"]: t["validation_score"] for t in raced[0]["trials"][1:]}
    finished = [d["finishing"] for d in recorder.decisions if d["finishing"] is not None]
    leader = max(after_one_epoch, key=lambda strategy: after_one_epoch[strategy] or 0.0)
    assert list(dict.fromkeys(finished)) == [leader, *({"lora", "full"} - {leader})]
    assert decision.finishing is None
    best = max(t.validation_score or 0.0 for t in decision.trials)
    assert trials[str(decision.chosen)].validation_score == best
    assert outcome.plan.strategy == decision.chosen
    assert outcome.trained.metrics["accuracy"] == best
    assert f"`{decision.chosen}`" in decision.reason
    raced_epochs = [(s, r.epoch) for s, r in recorder.epochs if s != Strategy.frozen]
    assert raced_epochs == [("lora", 1), ("full", 1)]
    resumes = [r for r in finishing if r.resumed_at_step is not None]
    assert [r.epoch for r in resumes] == [1, 1]  # each went on from its raced epoch

    # a retried job that only has to publish: each finished run resumes at its end
    reports: list[EpochReport] = []
    retry = auto_run(the_plans, tmp_path, Recorder(), callbacks=Callbacks(on_epoch=reports.append))
    for strategy in ("lora", "full"):
        reports.clear()
        chosen = [
            replace(t, validation_score=2.0) if t.strategy == strategy else t
            for t in decision.trials
        ]
        again = retry._choose(replace(decision, trials=chosen), {})
        assert again.plan.strategy == strategy
        assert [r.resumed_at_step is not None for r in reports] == [True], reports
        assert again.trained.metrics["accuracy"] == trials[strategy].validation_score


def test_a_raced_run_whose_rest_does_not_fit_what_is_left_is_not_finished(
    tiny_model_path: str, tmp_path: Path
) -> None:
    runner = auto_run(plans(tiny_model_path), tmp_path, Recorder(), budget=100)
    decision = Decision(100, "accuracy")
    decision.trials = [
        Trial("frozen", "complete", 1.0, 0.5),
        Trial("lora", "raced", 2.0, 0.8, projected_seconds=20.0, epochs_measured=1),
        Trial("full", "raced", 2.0, 0.7, projected_seconds=500.0, epochs_measured=1),
    ]

    assert runner._finalist(decision) == "lora"
    decision.trials[1] = replace(decision.trials[1], outcome="complete", epochs_measured=None)
    assert runner._finalist(decision) is None
    assert "`full` led the unfinished fine-tuning runs but needs another 498 s" in decision.reason


def test_auto_stops_runs_that_cannot_finish_within_the_budget_and_keeps_frozen(
    tiny_model_path: str, tmp_path: Path
) -> None:
    recorder = Recorder()

    outcome = auto_run(
        plans(tiny_model_path, Strategy.lora, Strategy.full), tmp_path, recorder, budget=1e-3
    ).run()

    outcomes = {trial.strategy: trial.outcome for trial in outcome.decision.trials}
    assert outcomes == {"frozen": "complete", "lora": "over budget", "full": "over budget"}
    assert all((t.projected_seconds or 0) > 1e-3 for t in outcome.decision.trials[1:]), (
        outcome.decision
    )
    assert outcome.decision.chosen == "frozen"
    assert outcome.plan.strategy == "frozen"
    assert "over budget (projected" in outcome.decision.reason


def test_auto_runs_few_shot_to_the_end_and_compares_it_with_frozen(
    tiny_model_path: str, tmp_path: Path
) -> None:
    outcome = auto_run(plans(tiny_model_path, Strategy.few_shot), tmp_path, Recorder()).run()

    trials = outcome.decision.trials
    assert [(t.strategy, t.outcome) for t in trials] == [
        ("frozen", "complete"),
        ("few_shot", "complete"),
    ]
    assert outcome.decision.chosen in ("frozen", "few_shot")
    best = max(trials, key=lambda t: t.validation_score or 0.0)
    assert outcome.trained.metrics["accuracy"] == best.validation_score


def test_a_retried_auto_job_counts_the_seconds_spent_before_against_its_budget(
    tiny_model_path: str, tmp_path: Path
) -> None:
    earlier = Decision(100, "accuracy", finishing="lora")
    earlier.trials = [
        Trial("frozen", "complete", 1.0, 0.5),
        Trial("lora", "raced", 90.0, 0.8, projected_seconds=91.0, epochs_measured=1),
        Trial("full", "raced", 5.0, 0.7, projected_seconds=50.0, epochs_measured=1),
    ]
    the_plans = plans(tiny_model_path, Strategy.lora, Strategy.full)

    outcome = auto_run(the_plans, tmp_path, Recorder(), budget=100).run(earlier)

    outcomes = {trial.strategy: trial.outcome for trial in outcome.decision.trials}
    assert outcomes == {"frozen": "complete", "lora": "complete", "full": "raced"}
    assert "`full` led the unfinished fine-tuning runs but needs another 45 s" in (
        outcome.decision.reason
    )


def test_a_retried_auto_job_resumes_the_finishing_run_from_its_checkpoint(
    tiny_model_path: str, tmp_path: Path
) -> None:
    the_plans = plans(tiny_model_path, Strategy.full)
    full = the_plans[Strategy.full]
    no_early_stop = spec_of("full").arguments_of({"early_stopping_patience": None}, SHAPE)
    the_plans[Strategy.full] = replace(full, arguments=no_early_stop)
    recorder = Recorder()
    steps = 0

    def shutdown_midway() -> bool:
        nonlocal steps
        finishing = bool(recorder.decisions and recorder.decisions[-1]["finishing"])
        steps += finishing
        return steps == 2

    first = auto_run(
        the_plans, tmp_path, recorder, callbacks=Callbacks(should_pause=shutdown_midway)
    )
    with pytest.raises(TrainingPaused):
        first.run()
    recorded = Decision.from_dict(recorder.decisions[-1])
    assert recorded.finishing == "full"

    retry = Recorder()
    resumed: list[EpochReport] = []
    callbacks = Callbacks(on_epoch=resumed.append)
    outcome = auto_run(the_plans, tmp_path, retry, callbacks=callbacks).run(recorded)

    assert resumed[0].resumed_at_step is not None
    assert resumed[0].resumed_at_step > 1
    assert [t.outcome for t in outcome.decision.trials] == ["complete", "complete"]
    assert outcome.decision.chosen in ("frozen", "full")


def test_a_tie_on_validation_goes_to_the_lower_loss_then_the_cheaper_run(
    tiny_model_path: str, tmp_path: Path
) -> None:
    the_plans = plans(tiny_model_path, Strategy.full)
    trained = {
        strategy: run(plan, RunContext(device=CPU, callbacks=Callbacks()))
        for strategy, plan in the_plans.items()
        if strategy == Strategy.frozen
    }
    decision = Decision(60, "accuracy")
    decision.trials = [Trial("full", "complete", 9.0, 1.0), Trial("frozen", "complete", 1.0, 1.0)]

    outcome = auto_run(the_plans, tmp_path, Recorder())._choose(decision, {**trained})

    assert outcome.decision.chosen == "frozen"
    assert outcome.trained is trained[Strategy.frozen]

    decision.trials = [
        Trial("full", "complete", 9.0, 1.0, validation_loss=0.1),
        Trial("frozen", "complete", 1.0, 1.0, validation_loss=0.3),
    ]
    trained[Strategy.full] = trained[Strategy.frozen]
    assert auto_run(the_plans, tmp_path, Recorder())._choose(decision, trained).decision.chosen == (
        "full"
    )
