from dataclasses import replace
from pathlib import Path

import pytest
import torch

from app.ml.arguments import FrozenArguments, FullFineTuneArguments, LoraArguments
from app.ml.batching import length_grouped_batches, shuffled_batches
from app.ml.calibration import fit_temperature
from app.ml.data import LabeledExample
from app.ml.frozen import best_on
from app.ml.head import HeldOut, LinearHead, MlpHead, average_precision, fit_head
from app.ml.loading import load_classifier
from app.ml.optimization import parameter_groups
from app.ml.plan import RunContext
from app.ml.progress import Callbacks
from app.ml.sentence_classifier import SentenceClassifier
from app.ml.strategies import lora_config, run
from app.ml.trainer import FullFineTuner
from app.ml.zero_shot import adapted
from tests.strategy_models import CPU, ROWS, SMALL_RUNS, plan_for, saved_predictor, train_and_save


def test_length_grouped_batches_visit_every_example_once_among_similar_lengths() -> None:
    lengths = list(range(1, 401))
    batches = length_grouped_batches(lengths, 8, torch.Generator().manual_seed(0), 5)
    shuffled = shuffled_batches(400, 8, torch.Generator().manual_seed(0))

    def mean_spread(batches: list[list[int]]) -> float:
        return sum(max(b) - min(b) for b in batches) / len(batches)

    assert sorted(index for batch in batches for index in batch) == list(range(400))
    assert all(len(batch) == 8 for batch in batches)
    assert mean_spread(batches) < mean_spread(shuffled) / 3
    assert batches != sorted(batches)


def test_fit_temperature_recovers_the_temperature_of_overconfident_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    calibrated = torch.randn(4000, 10, generator=generator) * 2
    targets = torch.multinomial(calibrated.softmax(-1), 1, generator=generator).squeeze(1)

    temperature = fit_temperature(calibrated * 3, targets)

    assert temperature == pytest.approx(3, rel=0.1)
    assert fit_temperature(calibrated[:5], targets[:5]) == 1.0


def test_layer_decay_gives_lower_layers_smaller_rates_and_the_head_its_own(
    tiny_model_path: str,
) -> None:
    model = load_classifier(tiny_model_path, ["a", "b"])

    groups = parameter_groups(
        model, learning_rate=1e-4, head_learning_rate=2e-3, layer_decay=0.5, weight_decay=0.01
    )

    rate = {id(p): group["lr"] for group in groups for p in group["params"]}
    named = dict(model.named_parameters())
    assert rate[id(named["classifier.weight"])] == 2e-3
    assert rate[id(named["bert.encoder.layer.1.output.dense.weight"])] == 1e-4
    assert rate[id(named["bert.encoder.layer.0.output.dense.weight"])] == 5e-5
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == 2.5e-5
    assert sum(len(group["params"]) for group in groups) == len(named)


@pytest.mark.parametrize("strategy", ["full", "lora"])
def test_mean_pooled_model_predicts_after_saving_as_it_scored_in_training(
    tiny_model_path: str, tmp_path: Path, strategy: str
) -> None:
    options = {**SMALL_RUNS[strategy], "pooling": "mean", "head_learning_rate_factor": 20}
    plan = plan_for(strategy, tiny_model_path, ROWS, **options)
    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))

    predictor = saved_predictor(trained, plan, tmp_path / "model")
    cls_predictor = train_and_save(
        strategy, tiny_model_path, tmp_path / "cls", **{**options, "pooling": "cls"}
    )

    assert predictor.manifest.pooling == "mean"
    assert cls_predictor.manifest.pooling == "cls"
    texts = [row.text for row in ROWS]
    assert not torch.allclose(predictor.probabilities(texts), cls_predictor.probabilities(texts))
    right = sum(p.label == row.label for p, row in zip(predictor.predict(texts), ROWS, strict=True))
    assert right / len(ROWS) == pytest.approx(trained.metrics["accuracy"])


def test_linear_probe_starts_the_head_from_a_fit_on_pretrained_features(
    tiny_model_path: str,
) -> None:
    arguments = FullFineTuneArguments(linear_probe=True, pooling="mean", learning_rate=1e-9)
    probed = FullFineTuner(arguments, base_model_path=tiny_model_path, device=CPU)
    plain = FullFineTuner(
        FullFineTuneArguments(pooling="mean", learning_rate=1e-9),
        base_model_path=tiny_model_path,
        device=CPU,
    )

    with_probe = probed.train(ROWS, ROWS).metrics
    without = plain.train(ROWS, ROWS).metrics

    assert with_probe["accuracy"] == 1.0
    assert with_probe["loss"] < without["loss"]


def test_lora_config_puts_adapters_where_the_arguments_say() -> None:
    config = lora_config(LoraArguments(r=4, target_modules=("query", "value")))

    assert config.r == 4
    assert set(config.target_modules) == {"query", "value"}


@pytest.mark.parametrize(("hidden_size", "head_type"), [(16, MlpHead), (0, LinearHead)])
def test_frozen_head_is_an_mlp_or_linear_and_loads_back_as_trained(
    tiny_model_path: str, tmp_path: Path, hidden_size: int, head_type: type
) -> None:
    plan = plan_for(
        "frozen",
        tiny_model_path,
        ROWS,
        epochs=20,
        hidden_size=hidden_size,
        logistic_regression=False,
    )
    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
    predictor = saved_predictor(trained, plan, tmp_path / "model")

    scorer = predictor.scorer
    assert isinstance(scorer, SentenceClassifier)
    assert isinstance(scorer.head, head_type)
    texts = [row.text for row in ROWS]
    right = sum(p.label == row.label for p, row in zip(predictor.predict(texts), ROWS, strict=True))
    assert right / len(ROWS) == pytest.approx(trained.metrics["accuracy"])


@pytest.mark.parametrize("multi_label", [False, True])
def test_frozen_keeps_a_logistic_regression_that_beats_its_head_on_validation(
    multi_label: bool,
) -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(60, 8, generator=generator)
    weights = torch.randn(8, 3, generator=generator)
    scores = features @ weights
    targets = (scores > 0).float() if multi_label else scores.argmax(1)
    held_out = HeldOut(features[40:], targets[40:])
    untrained = LinearHead(8, 3, 1.0)

    kept = best_on(held_out, untrained, features[:40], targets[:40], multi_label)

    assert kept is not untrained
    assert not kept.training
    assert held_out.score(kept, multi_label) > held_out.score(untrained, multi_label)
    assert best_on(held_out, kept, features[:40], targets[:40], multi_label) is kept


def test_average_precision_ranks_positives_above_negatives() -> None:
    truth = torch.tensor([1.0, 0.0, 1.0, 0.0])

    assert average_precision(torch.tensor([0.9, 0.1, 0.8, 0.2]), truth) == 1.0
    assert average_precision(torch.tensor([0.1, 0.9, 0.2, 0.8]), truth) == pytest.approx(
        (1 / 3 + 2 / 4) / 2
    )


def test_a_head_fitted_with_held_out_data_keeps_its_best_epoch_and_stops() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(40, 8, generator=generator)
    targets = torch.randint(0, 2, (40,), generator=generator)
    held_out = HeldOut(torch.randn(20, 8, generator=generator), torch.zeros(20, dtype=torch.long))
    head = MlpHead(8, 2, 1.0, 16)
    scores: list[float] = []

    fit_head(
        head,
        features,
        targets,
        FrozenArguments(epochs=200, batch_size=8, learning_rate=1e-2),
        multi_label=False,
        on_epoch=lambda _epoch, _loss: scores.append(held_out.score(head, multi_label=False)),
        held_out=held_out,
    )

    assert len(scores) < 200
    assert len(set(scores)) > 1
    assert held_out.score(head, multi_label=False) == max(scores)


@pytest.mark.parametrize("logistic_regression", [True, False])
def test_few_shot_keeps_a_logistic_regression_that_beats_its_head_and_serves_it(
    tiny_model_path: str, tmp_path: Path, logistic_regression: bool
) -> None:
    barely_fitted = {"epochs": 1, "learning_rate": 1e-6, "use_label_descriptions": False}
    options = SMALL_RUNS["few_shot"] | barely_fitted
    plan = plan_for(
        "few_shot", tiny_model_path, ROWS, **options, logistic_regression=logistic_regression
    )
    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
    predictor = saved_predictor(trained, plan, tmp_path / "model")

    texts = [row.text for row in ROWS]
    right = sum(p.label == row.label for p, row in zip(predictor.predict(texts), ROWS, strict=True))
    assert right / len(ROWS) == pytest.approx(trained.metrics["accuracy"])
    if logistic_regression:
        assert trained.metrics["accuracy"] == 1.0
    else:
        assert trained.metrics["accuracy"] < 1.0


def test_zero_shot_prototypes_move_from_their_descriptions_to_the_texts_nearest_them() -> None:
    generator = torch.Generator().manual_seed(0)
    centers = torch.nn.functional.normalize(torch.randn(3, 16, generator=generator), dim=-1)
    descriptions = centers + 0.6 * torch.randn(3, 16, generator=generator)
    labels = torch.arange(3).repeat_interleave(40)
    texts = centers[labels] + 0.3 * torch.randn(120, 16, generator=generator)

    def accuracy(prototypes: torch.Tensor) -> float:
        return float(((texts @ prototypes.T).argmax(1) == labels).float().mean())

    moved = adapted(descriptions, texts, description_weight=3.0)
    anchored = adapted(descriptions, texts, description_weight=1e6)

    assert accuracy(moved) > accuracy(descriptions) + 0.1
    assert (
        torch.cosine_similarity(moved, centers) > torch.cosine_similarity(descriptions, centers)
    ).all()
    assert torch.allclose(anchored, torch.nn.functional.normalize(descriptions, dim=-1), atol=1e-3)


@pytest.mark.parametrize(
    ("texts_per_label", "options", "adapted_to"),
    [(4, {}, 8), (3, {}, 0), (4, {"adapt_to_texts": False}, 0)],
)
def test_zero_shot_adapts_to_the_job_texts_only_where_there_are_enough(
    tiny_model_path: str, texts_per_label: int, options: dict[str, object], adapted_to: int
) -> None:
    rows = [
        LabeledExample.of(f"{word} {index}", label)
        for label, word in [("billing", "refund"), ("greeting", "hello")]
        for index in range(texts_per_label)
    ]
    plan = plan_for("zero_shot", tiny_model_path, rows[::2], **options)
    plan = replace(plan, train=rows[1::2])

    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))

    assert trained.metrics["num_adaptation_texts"] == adapted_to
