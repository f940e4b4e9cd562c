"""Small models of every strategy, trained on the tiny BERT and saved as artifacts."""

from pathlib import Path

from app.ml.artifact import save_artifact
from app.ml.data import LabeledExample
from app.ml.device import plan_device
from app.ml.lora_base import LoraBaseSource
from app.ml.plan import RunContext, StrategyPlan, TrainedClassifier, manifest_for
from app.ml.predictor import Predictor
from app.ml.progress import Callbacks
from app.ml.sentence import EncoderSource, SentenceEncoder
from app.ml.strategies import arguments_for, run
from app.ml.zero_shot import descriptions_for

ROWS = [
    LabeledExample.of("refund my money", "billing"),
    LabeledExample.of("my card was charged twice", "billing"),
    LabeledExample.of("hello friend", "greeting"),
    LabeledExample.of("good morning to you", "greeting"),
]
MULTI = [
    LabeledExample.of("refund and hello", ["billing", "greeting"]),
    LabeledExample.of("my card was charged", ["billing"]),
    LabeledExample.of("hello there", ["greeting"]),
    LabeledExample.of("nothing at all", []),
]
CPU = plan_device("cpu")


def plan_for(
    strategy: str, base: str, rows: list[LabeledExample], **options: object
) -> StrategyPlan:
    labels = sorted({label for row in rows for label in row.labels})
    return StrategyPlan(
        strategy=strategy,
        arguments=arguments_for(strategy, options),
        base_model_path=base,
        train=[] if strategy == "zero_shot" else rows,
        validation=rows,
        labels=labels,
        descriptions=descriptions_for(labels, None),
        multi_label=any(len(row.labels) != 1 for row in rows),
        corpora={"rows": [row.text for row in rows]},
    )


def saved_predictor(
    trained: TrainedClassifier,
    plan: StrategyPlan,
    directory: Path,
    encoders: EncoderSource = SentenceEncoder.served,
    lora_bases: LoraBaseSource | None = None,
) -> Predictor:
    save_artifact(trained.save, manifest_for(plan, trained, "tiny"), directory)
    return Predictor.from_pretrained(
        directory, {"tiny": plan.base_model_path}, encoders=encoders, lora_bases=lora_bases
    )


def train_and_save(
    strategy: str,
    base: str,
    directory: Path,
    rows: list[LabeledExample] = ROWS,
    encoders: EncoderSource = SentenceEncoder.served,
    lora_bases: LoraBaseSource | None = None,
    **options: object,
) -> Predictor:
    plan = plan_for(strategy, base, rows, **options)
    trained = run(plan, RunContext(device=CPU, callbacks=Callbacks()))
    return saved_predictor(trained, plan, directory, encoders, lora_bases)


SMALL_RUNS: dict[str, dict[str, object]] = {
    "full": {"epochs": 2, "batch_size": 2},
    "lora": {"epochs": 2, "batch_size": 2, "r": 4, "alpha": 8},
    "frozen": {"epochs": 5},
    "few_shot": {"epochs": 5, "contrastive_epochs": 2, "contrastive_batch_size": 4},
    "zero_shot": {},
}
