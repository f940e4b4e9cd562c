from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.ml.arguments import (
    FewShotArguments,
    FrozenArguments,
    LoraArguments,
    ZeroShotArguments,
)
from app.ml.artifact import Manifest
from app.ml.embeddings import CachedEmbeddings
from app.ml.few_shot import supervised_contrastive_loss
from app.ml.frozen import FrozenTrainer
from app.ml.plan import RunContext, StrategyPlan
from app.ml.predictor import Predictor
from app.ml.progress import Callbacks
from app.ml.sentence import SENTENCE, Features, SentenceEncoder
from app.ml.sentence_classifier import HEAD_FILE, SentenceClassifier
from app.ml.strategies import arguments_for, run, spec_of
from app.ml.zero_shot import descriptions_for, readable
from tests.standalone import card_scores
from tests.strategy_models import (
    CPU,
    MULTI,
    ROWS,
    SMALL_RUNS,
    plan_for,
    saved_predictor,
    train_and_save,
)


@pytest.mark.parametrize(("strategy", "options"), list(SMALL_RUNS.items()))
def test_every_strategy_saves_a_model_that_predicts_as_trained(
    tiny_model_path: str, tmp_path: Path, strategy: str, options: dict[str, object]
) -> None:
    plan = plan_for(strategy, tiny_model_path, ROWS, **options)

    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
    predictor = saved_predictor(trained, plan, tmp_path / "model")
    predictions = predictor.predict([row.text for row in ROWS])

    assert trained.labels == ["billing", "greeting"]
    assert {"accuracy", "macro_f1", "loss"} <= set(trained.metrics)
    assert all(p.label in trained.labels and p.labels == [p.label] for p in predictions)
    assert all(sum(s.score for s in p.scores) == pytest.approx(1.0) for p in predictions)


def test_lora_artifact_holds_only_adapters_and_exports_a_merged_model(
    tiny_model_path: str, tmp_path: Path
) -> None:
    plan = plan_for("lora", tiny_model_path, ROWS, epochs=2, batch_size=2, r=4, alpha=8)
    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
    predictor = saved_predictor(trained, plan, tmp_path / "model")

    source = tmp_path / "model"
    spec_of("lora").export(source, tiny_model_path, Manifest.read(source), tmp_path / "merged")
    exported = card_scores(tmp_path / "merged", ["refund my money"])[0]

    files = {path.name for path in (tmp_path / "model").iterdir()}
    assert "adapter_model.safetensors" in files
    assert "model.safetensors" not in files
    expected = predictor.probabilities(["refund my money"])[0].tolist()
    assert [exported[label] for label in trained.labels] == pytest.approx(expected, abs=1e-5)


def test_lora_trains_only_adapters_and_the_head(tiny_model_path: str, tmp_path: Path) -> None:
    from app.ml.strategies import lora_config
    from app.ml.trainer import FullFineTuner

    arguments = LoraArguments(epochs=1, batch_size=2, r=4)
    tuner = FullFineTuner(
        arguments, base_model_path=tiny_model_path, device=CPU, adapters=lora_config(arguments)
    )
    model, _ = tuner._prepare(["billing", "greeting"], False)

    trainable = {name for name, p in model.named_parameters() if p.requires_grad}

    assert trainable
    assert all("lora_" in name or "classifier" in name for name in trainable)


def test_frozen_second_run_reuses_cached_embeddings(tiny_model_path: str, tmp_path: Path) -> None:
    texts = [row.text for row in ROWS]
    first = SentenceEncoder.load(tiny_model_path, 32, CPU)
    second = SentenceEncoder.load(tiny_model_path, 32, CPU)

    computed = CachedEmbeddings(tmp_path, first, {"ds/tiny/32": texts})(texts)
    reused = CachedEmbeddings(tmp_path, second, {"ds/tiny/32": texts})(texts[::-1])

    assert first.encoded_texts == len(texts)
    assert second.encoded_texts == 0
    assert torch.equal(reused, computed.flip(0))


def test_features_are_the_last_layers_pooled_each_normalised_side_by_side() -> None:
    layer_means = torch.tensor([[[9.0, 9.0], [3.0, 4.0], [0.0, 2.0]]])

    assert SENTENCE.of(layer_means).tolist() == [[0.0, 1.0]]
    assert Features(2).of(layer_means).tolist() == [pytest.approx([0.6, 0.8, 0.0, 1.0])]
    assert Features(6).at_most(2) == Features(2)
    with pytest.raises(ValueError, match="fewer than 3 layers"):
        Features(3).of(layer_means)


def test_sentence_features_are_the_sentence_embedding(tiny_model_path: str) -> None:
    encoder = SentenceEncoder.load(tiny_model_path, 32, CPU)
    texts = [row.text for row in ROWS]

    with torch.no_grad():
        trained_on = encoder.forward(texts)

    torch.testing.assert_close(encoder.embed(texts), trained_on)
    assert encoder.embed(texts, Features(2)).shape == (len(texts), 2 * encoder.dimension)


HEAD_STRATEGIES = {
    "frozen": {"epochs": 5, "hidden_size": 0},
    "few_shot": {"epochs": 3, "contrastive_epochs": 1, "contrastive_batch_size": 4},
}


@pytest.mark.parametrize("strategy", list(HEAD_STRATEGIES))
@pytest.mark.parametrize("layers", [1, 2])
def test_a_head_reads_the_last_layers_and_its_artifact_says_how_many(
    tiny_model_path: str, tmp_path: Path, strategy: str, layers: int
) -> None:
    predictor = train_and_save(
        strategy,
        tiny_model_path,
        tmp_path / "model",
        **HEAD_STRATEGIES[strategy],
        feature_layers=layers,
    )
    scorer = predictor.scorer
    assert isinstance(scorer, SentenceClassifier)
    texts = [row.text for row in ROWS]

    features = scorer.encoder.embed(texts, Features(layers))

    assert scorer.features == Features(layers)
    assert scorer.head.linear.in_features == layers * scorer.encoder.dimension
    torch.testing.assert_close(predictor.probabilities(texts), scorer.probabilities_of(features))


def test_a_head_saved_before_heads_read_several_layers_reads_the_last(
    tiny_model_path: str, tmp_path: Path
) -> None:
    predictor = train_and_save(
        "frozen", tiny_model_path, tmp_path / "model", epochs=5, feature_layers=1
    )
    texts = [row.text for row in ROWS]
    head_file = tmp_path / "model" / HEAD_FILE
    state = load_file(head_file)
    save_file(state, head_file)

    reloaded = Predictor.from_pretrained(tmp_path / "model", {"tiny": tiny_model_path})

    assert isinstance(reloaded.scorer, SentenceClassifier)
    assert reloaded.scorer.features == SENTENCE
    torch.testing.assert_close(reloaded.probabilities(texts), predictor.probabilities(texts))


def test_frozen_reads_every_layer_of_an_encoder_with_fewer_than_asked(
    tiny_model_path: str,
) -> None:
    arguments = arguments_for("frozen", {"feature_layers": 40})
    encoder = SentenceEncoder.load(tiny_model_path, 32, CPU)

    assert isinstance(arguments, FrozenArguments)
    assert FrozenTrainer(arguments, encoder=encoder).reads == Features(encoder.num_layers)


def test_frozen_refuses_features_narrower_than_the_layers_it_reads(tiny_model_path: str) -> None:
    encoder = SentenceEncoder.load(tiny_model_path, 32, CPU)
    trainer = FrozenTrainer(
        FrozenArguments(feature_layers=2), encoder=encoder, features=encoder.embed
    )

    with pytest.raises(ValueError, match="the head reads 2 layers"):
        trainer.train(ROWS, ROWS)


def test_cached_embeddings_are_kept_apart_per_features(
    tiny_model_path: str, tmp_path: Path
) -> None:
    texts = [row.text for row in ROWS]
    encoder = SentenceEncoder.load(tiny_model_path, 32, CPU)
    sentence = CachedEmbeddings(tmp_path, encoder, {"key": texts})(texts)

    layers = CachedEmbeddings(tmp_path, encoder, {"key": texts}, Features(2))(texts)
    again = CachedEmbeddings(tmp_path, encoder, {"key": texts}, Features(2))(texts)

    assert sentence.shape[1] * 2 == layers.shape[1]
    assert encoder.encoded_texts == 2 * len(texts)
    assert torch.equal(again, layers)


def test_cached_embeddings_recompute_when_the_texts_differ(
    tiny_model_path: str, tmp_path: Path
) -> None:
    encoder = SentenceEncoder.load(tiny_model_path, 32, CPU)
    CachedEmbeddings(tmp_path, encoder, {"key": ["a", "b"]})(["a"])

    CachedEmbeddings(tmp_path, encoder, {"key": ["a", "c"]})(["c"])

    assert encoder.encoded_texts == 4


def test_zero_shot_without_examples_builds_a_model_from_descriptions(
    tiny_model_path: str,
) -> None:
    plan = plan_for("zero_shot", tiny_model_path, ROWS)
    plan = StrategyPlan(**{**plan.__dict__, "validation": []})

    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))

    assert trained.labels == ["billing", "greeting"]
    assert "accuracy" not in trained.metrics
    assert trained.metrics["encoded_texts"] == 2


def test_multi_label_strategies_tune_a_threshold_per_label(
    tiny_model_path: str, tmp_path: Path
) -> None:
    for strategy, options in [
        ("frozen", {"epochs": 3}),
        ("full", {"epochs": 1}),
        ("few_shot", {"epochs": 3, "contrastive_epochs": 1, "contrastive_batch_size": 4}),
        ("zero_shot", {}),
    ]:
        plan = plan_for(strategy, tiny_model_path, MULTI, **options)
        trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
        predictor = saved_predictor(trained, plan, tmp_path / strategy)

        prediction = predictor.predict(["refund and hello"], thresholds={"billing": 0.0})[0]

        assert trained.multi_label
        assert trained.thresholds is not None
        assert len(trained.thresholds) == 2
        assert "billing" in prediction.labels
        assert all(0.0 <= s.score <= 1.0 for s in prediction.scores)


def test_supervised_contrastive_loss_prefers_same_label_neighbours() -> None:
    membership = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    grouped = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]]), dim=1
    )
    mixed = grouped[[0, 2, 1, 3]]

    assert supervised_contrastive_loss(grouped, membership, 0.1) < supervised_contrastive_loss(
        mixed, membership, 0.1
    )


def test_readable_label_names() -> None:
    assert readable("book_flight") == "book flight"
    assert readable("card-declined  now") == "card declined now"
    assert descriptions_for(["a_b", "c"], {"c": "the letter c"}) == {
        "a_b": "a b",
        "c": "the letter c",
    }


def test_arguments_fill_in_strategy_defaults() -> None:
    assert arguments_for("lora", {"r": 4}) == LoraArguments(r=4)
    assert arguments_for("frozen", {}) == FrozenArguments()
    assert arguments_for("few_shot", {"temperature": 0.1}) == FewShotArguments(temperature=0.1)
    assert arguments_for("zero_shot", {"scale": None}) == ZeroShotArguments()
