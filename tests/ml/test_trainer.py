from pathlib import Path

import pytest
import torch

from app.ml.arguments import FullFineTuneArguments
from app.ml.artifact import Manifest, save_artifact
from app.ml.checkpoint import TrainingState
from app.ml.data import LabeledExample, TrainingDataError, stratified_split
from app.ml.device import plan_device
from app.ml.predictor import Predictor
from app.ml.progress import Callbacks, EpochReport, TrainingPaused, TrainingProgress
from app.ml.trainer import FullFineTuner

ROWS = [
    LabeledExample.of("refund my money", "billing"),
    LabeledExample.of("hello friend", "greeting"),
    LabeledExample.of("my card was charged twice", "billing"),
]
ARGS = FullFineTuneArguments(epochs=3, batch_size=2, learning_rate=1e-3)


def test_trainer_fits_three_rows_and_reports_progress(tiny_model_path: str) -> None:
    seen: list[TrainingProgress] = []
    trainer = FullFineTuner(
        ARGS,
        base_model_path=tiny_model_path,
        device=plan_device("cpu"),
        callbacks=Callbacks(on_progress=seen.append),
    )

    result = trainer.train(ROWS, ROWS)

    assert [p.step for p in seen] == [1, 2, 3, 4, 5, 6]
    assert [p.epoch for p in seen] == [1, 1, 2, 2, 3, 3]
    assert seen[-1].fraction == 1.0
    assert result.labels == ["billing", "greeting"]
    assert result.model.config.id2label == {0: "billing", 1: "greeting"}
    assert set(result.metrics) >= {"accuracy", "macro_f1", "loss", "train_loss"}
    assert result.metrics["epochs_trained"] == 3


@pytest.mark.parametrize(
    ("warmup_ratio", "epochs_run"),
    [(0.1, 3), (0.5, 7)],
    ids=["one warm-up epoch", "five warm-up epochs, which patience does not count"],
)
def test_trainer_stops_early_and_keeps_the_best_epoch(
    tiny_model_path: str, warmup_ratio: float, epochs_run: int
) -> None:
    frozen_in_place = FullFineTuneArguments(
        epochs=10,
        batch_size=2,
        learning_rate=0.0,
        warmup_ratio=warmup_ratio,
        early_stopping_patience=2,
    )
    epochs: list[EpochReport] = []
    trainer = FullFineTuner(
        frozen_in_place,
        base_model_path=tiny_model_path,
        device=plan_device("cpu"),
        callbacks=Callbacks(on_epoch=epochs.append),
    )

    result = trainer.train(ROWS, ROWS)

    assert [report.epoch for report in epochs] == list(range(1, epochs_run + 1))
    assert [report.is_best for report in epochs] == [True] + [False] * (epochs_run - 1)
    assert result.metrics["best_epoch"] == 1
    assert result.metrics["epochs_trained"] == epochs_run


def test_a_multi_label_head_starts_at_each_labels_share_of_the_texts(
    tiny_model_path: str,
) -> None:
    rows = [
        LabeledExample.of("refund my money", ["billing"]),
        LabeledExample.of("hello, refund me", ["billing", "greeting"]),
        LabeledExample.of("my card was charged twice", ["billing"]),
        LabeledExample.of("what time is it", []),
    ]
    untrained = FullFineTuneArguments(epochs=1, batch_size=2, learning_rate=0.0)
    trainer = FullFineTuner(untrained, base_model_path=tiny_model_path, device=plan_device("cpu"))

    result = trainer.train(rows, rows, multi_label=True)

    bias = result.model.classifier.bias.detach()
    shares = torch.tensor([3 / 4, 1 / 4])
    assert torch.allclose(bias, torch.log(shares / (1 - shares)), atol=1e-6)


def test_trainer_resumes_from_checkpoint_as_if_never_stopped(
    tiny_model_path: str, tmp_path: Path
) -> None:
    def stop_after_first_epoch(report: EpochReport) -> None:
        if report.epoch == 1 and report.resumed_at_step is None:
            raise KeyboardInterrupt

    def tuner(**callbacks: object) -> FullFineTuner:
        return FullFineTuner(
            ARGS,
            base_model_path=tiny_model_path,
            device=plan_device("cpu"),
            checkpoint_dir=tmp_path / "checkpoint",
            callbacks=Callbacks(**callbacks),  # type: ignore[arg-type]
        )

    uninterrupted = FullFineTuner(
        ARGS, base_model_path=tiny_model_path, device=plan_device("cpu")
    ).train(ROWS, ROWS)
    with pytest.raises(KeyboardInterrupt):
        tuner(on_epoch=stop_after_first_epoch).train(ROWS, ROWS)
    resumed_epochs: list[EpochReport] = []
    resumed = tuner(on_epoch=resumed_epochs.append).train(ROWS, ROWS)

    resumed_at = [(r.epoch, r.resumed_at_step) for r in resumed_epochs]
    assert resumed_at == [(1, 2), (2, None), (3, None)]
    assert resumed.metrics["train_loss"] == pytest.approx(uninterrupted.metrics["train_loss"])
    assert resumed.metrics["loss"] == pytest.approx(uninterrupted.metrics["loss"])


def test_trainer_updates_every_encoder_parameter(tiny_model_path: str) -> None:
    trainer = FullFineTuner(ARGS, base_model_path=tiny_model_path, device=plan_device("cpu"))
    before = {
        name: p.clone()
        for name, p in trainer._prepare(["billing", "greeting"], False)[0].named_parameters()
    }

    result = trainer.train(ROWS, ROWS)

    changed = {
        name for name, p in result.model.named_parameters() if not torch.equal(p, before[name])
    }
    assert "bert.encoder.layer.0.attention.self.query.weight" in changed
    assert "bert.embeddings.word_embeddings.weight" in changed
    assert "classifier.weight" in changed


def test_trainer_is_repeatable_with_a_seed(tiny_model_path: str) -> None:
    runs = [
        FullFineTuner(ARGS, base_model_path=tiny_model_path, device=plan_device("cpu"))
        .train(ROWS, ROWS)
        .metrics["train_loss"]
        for _ in range(2)
    ]

    assert runs[0] == runs[1]


def test_trainer_rejects_single_label(tiny_model_path: str) -> None:
    trainer = FullFineTuner(ARGS, base_model_path=tiny_model_path, device=plan_device("cpu"))

    with pytest.raises(TrainingDataError, match="at least 2"):
        trainer.train(ROWS[::2], ROWS[::2])


def test_saved_artifact_predicts_like_the_trained_model(
    tiny_model_path: str, tmp_path: Path
) -> None:
    result = FullFineTuner(ARGS, base_model_path=tiny_model_path, device=plan_device("cpu")).train(
        ROWS, ROWS
    )
    manifest = Manifest("full", "tiny", result.labels, result.metrics, ARGS.to_dict(), 128)

    save_artifact(result.save, manifest, tmp_path)
    predictor = Predictor.from_pretrained(tmp_path)
    predictions = predictor.predict(["refund please", "hi"], top_k=1)

    assert Manifest.read(tmp_path) == manifest
    assert len(predictions) == 2
    assert all(len(p.scores) == 1 and p.label in result.labels for p in predictions)


def test_stratified_split_keeps_every_label_in_training() -> None:
    rows = [LabeledExample.of(f"{label} {i}", label) for label in "ab" for i in range(10)]
    rows += [LabeledExample.of("c 1", "c"), LabeledExample.of("c 2", "c")]

    train, held_out = stratified_split(rows, 0.2, seed=1)

    assert {r.label for r in train} == {"a", "b", "c"}
    assert sorted(r.label for r in held_out) == ["a", "a", "b", "b"]
    assert sorted(train + held_out, key=lambda r: r.text) == sorted(rows, key=lambda r: r.text)


def test_stratified_split_of_tiny_data_holds_out_one_example() -> None:
    rows = [
        LabeledExample.of("a1", "a"),
        LabeledExample.of("a2", "a"),
        LabeledExample.of("b1", "b"),
    ]

    train, held_out = stratified_split(rows, 0.1, seed=1)

    assert len(held_out) == 1
    assert held_out[0].label == "a"
    assert len(train) == 2


def test_plan_device_uses_cpu_without_cuda() -> None:
    plan = plan_device("auto")

    if torch.cuda.is_available():
        assert plan.device.type == "cuda"
        assert plan.autocast_dtype in (torch.bfloat16, torch.float16)
    else:
        assert plan.device.type == "cpu"
        assert plan.autocast_dtype is None
        assert plan.description == "cpu (fp32)"


def test_trainer_paused_mid_epoch_resumes_at_the_same_step(
    tiny_model_path: str, tmp_path: Path
) -> None:
    rows = ROWS * 4
    steps: list[int] = []

    def tuner(**options: object) -> FullFineTuner:
        return FullFineTuner(
            ARGS,
            base_model_path=tiny_model_path,
            device=plan_device("cpu"),
            checkpoint_dir=tmp_path / "checkpoint",
            callbacks=Callbacks(
                on_progress=lambda progress: steps.append(progress.step),
                **options,  # type: ignore[arg-type]
            ),
        )

    uninterrupted = FullFineTuner(
        ARGS, base_model_path=tiny_model_path, device=plan_device("cpu")
    ).train(rows, rows)
    with pytest.raises(TrainingPaused) as paused:
        tuner(should_pause=lambda: len(steps) == 8).train(rows, rows)
    resumed = tuner().train(rows, rows)

    assert paused.value.step == 8
    assert steps[7:9] == [8, 9]
    assert resumed.metrics["train_loss"] == pytest.approx(uninterrupted.metrics["train_loss"])
    assert resumed.metrics["loss"] == pytest.approx(uninterrupted.metrics["loss"])


def test_a_tied_validation_metric_goes_to_the_lower_validation_loss() -> None:
    state = TrainingState()
    model = torch.nn.Linear(2, 2)

    first = state.record(1, (1.0, -0.50), {}, model, keep=False)
    lower_loss = state.record(2, (1.0, -0.30), {}, model, keep=False)
    higher_loss = state.record(3, (1.0, -0.40), {}, model, keep=False)

    assert (first, lower_loss, higher_loss) == (True, True, False)
    assert state.best_epoch == 2
    assert state.epochs_without_improvement == 1


def test_a_checkpoint_from_before_tie_breaks_resumes() -> None:
    state = TrainingState(best_epoch=3, best_score=0.8)  # type: ignore[arg-type]

    assert not state.record(4, (0.8, -0.1), {}, torch.nn.Linear(2, 2), keep=False)
    assert state.record(5, (0.9, -0.1), {}, torch.nn.Linear(2, 2), keep=False)
