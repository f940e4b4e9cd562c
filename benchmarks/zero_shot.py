"""Ablations of `zero_shot` on CLINC150: every variant scores the test split by cosine similarity
between all-MiniLM-L6-v2 sentence embeddings of the texts and of each label's description,
with nothing trained. The descriptions are built from the label names only (as a user who gives
no descriptions gets them); variants differ in how a description is phrased and in how the
out-of-scope label is treated. Where a variant chooses something, it chooses on the validation
split. Prints in-scope accuracy and out-of-scope recall, then what moving the prototypes
toward unlabeled texts (the job's default when it is given texts) adds.

    python -m benchmarks.zero_shot
"""

import time
from collections.abc import Sequence

import numpy as np
import torch

from app.core.config import get_settings
from app.ml.device import plan_device
from app.ml.sentence import Features, SentenceEncoder
from app.ml.zero_shot import adapted, readable, too_few_to_adapt
from benchmarks.common import OUT_OF_SCOPE, read_split
from benchmarks.heads import embeddings

TEMPLATES = {
    "name": ("{}",),
    "a request about the name": ("a request about {}",),
    "four phrasings, averaged": (
        "{}",
        "a request about {}",
        "this is about {}",
        "a question about {}",
    ),
}


def main() -> None:
    validation, test = read_split("validation"), read_split("test")
    validation_x = _normalized(embeddings("validation", [r["text"] for r in validation]))
    test_x = _normalized(embeddings("test", [r["text"] for r in test]))
    labels = sorted({r["label"] for r in test} - {OUT_OF_SCOPE})
    settings = get_settings()
    encoder = SentenceEncoder.load(
        settings.registered_base_models[settings.default_base_model], 128, plan_device("cpu")
    )
    print("| descriptions | out of scope | in-scope acc | oos recall | chosen on validation |")
    print("|---|---|---|---|---|")
    for name, templates in TEMPLATES.items():
        started = time.perf_counter()
        prototypes = _prototypes(encoder, labels, templates)
        oos_prototype = _prototypes(encoder, [OUT_OF_SCOPE], templates)
        seconds = time.perf_counter() - started
        as_label = torch.cat([prototypes, oos_prototype])
        names = [*labels, OUT_OF_SCOPE]
        _row(name, "a label described as its name", names, test, test_x @ as_label.T, "-")
        _row(name, "no prototype, never predicted", labels, test, test_x @ prototypes.T, "-")
        threshold = _best_threshold(labels, validation, validation_x @ prototypes.T)
        similarity = test_x @ prototypes.T
        _row(
            name,
            "under a similarity threshold",
            labels,
            test,
            similarity,
            f"threshold {threshold:.2f}",
            threshold,
        )
        print(f"<!-- {name}: descriptions embedded in {seconds:.1f} s -->")
    named = _prototypes(encoder, labels, ("{}",))
    _corrections(labels, validation_x, test, test_x, named)
    _layers(encoder, labels, test)
    _adaptation(labels, validation, validation_x, test, test_x, named)


def _corrections(
    labels: Sequence[str],
    validation_x: torch.Tensor,
    test: list[dict[str, str]],
    test_x: torch.Tensor,
    prototypes: torch.Tensor,
) -> None:
    """Hubness corrections: some descriptions lie near most texts and attract them. Each
    correction reads the validation texts without their labels."""
    print("\n| similarity (descriptions: the name) | in-scope acc |")
    print("|---|---|")
    to_validation = validation_x @ prototypes.T
    plain = test_x @ prototypes.T
    variants = {
        "cosine": plain,
        "cosine, each label's mean over validation texts subtracted": plain
        - to_validation.mean(dim=0),
        "cosine as a z-score over validation texts, per label": (plain - to_validation.mean(dim=0))
        / to_validation.std(dim=0),
    }
    for k in (10, 50, 200):
        local = to_validation.topk(k, dim=0).values.mean(dim=0)
        variants[f"CSLS, {k} nearest validation texts"] = 2 * plain - local
    for name, similarity in variants.items():
        in_scope, _ = _scores(test, _predict(labels, similarity, None))
        print(f"| {name} | {100 * in_scope:.1f} |", flush=True)


def _layers(encoder: SentenceEncoder, labels: Sequence[str], test: list[dict[str, str]]) -> None:
    """What needs no texts at all: reading more of the encoder's layers (the sum of each
    layer's cosine similarity), and centering on the mean of the descriptions."""
    deepest = Features(6)
    texts = embeddings("test", [r["text"] for r in test], deepest)
    names = encoder.embed([readable(label) for label in labels], deepest)

    def per_layer(matrix: torch.Tensor) -> torch.Tensor:
        return _normalized(matrix.view(len(matrix), deepest.layers, encoder.dimension))

    text_layers, name_layers = per_layer(texts), per_layer(names)
    print("\n| similarity, no texts (descriptions: the name) | in-scope acc |")
    print("|---|---|")
    for layers in (1, 2, 3, 6):
        summed = torch.einsum("tld,nld->tn", text_layers[:, -layers:], name_layers[:, -layers:])
        print(
            f"| cosine summed over the last {layers} layers | {_accuracy(test, labels, summed)} |"
        )
    for back in (2, 4, 6):
        alone = text_layers[:, -back] @ name_layers[:, -back].T
        print(f"| layer {back} from the top alone | {_accuracy(test, labels, alone)} |")
    last_texts, last_names = text_layers[:, -1], name_layers[:, -1]
    for share in (0.5, 1.0):
        centre = share * last_names.mean(dim=0)
        centred = _normalized(last_texts - centre) @ _normalized(last_names - centre).T
        print(
            f"| cosine after subtracting {share:g} x the descriptions' mean | "
            f"{_accuracy(test, labels, centred)} |",
            flush=True,
        )


def _accuracy(rows: list[dict[str, str]], labels: Sequence[str], similarity: torch.Tensor) -> str:
    in_scope, _ = _scores(rows, _predict(labels, similarity, None))
    return f"{100 * in_scope:.1f}"


def _adaptation(
    labels: Sequence[str],
    validation: list[dict[str, str]],
    validation_x: torch.Tensor,
    test: list[dict[str, str]],
    test_x: torch.Tensor,
    prototypes: torch.Tensor,
) -> None:
    """Prototypes moved toward unlabeled texts (`zero_shot.adapted`), scored on other texts."""
    print(
        "\n| texts the prototypes move toward | texts | description weight | scored on | "
        "in-scope acc |"
    )
    print("|---|---|---|---|---|")
    generator = np.random.default_rng(0)

    def row(
        pool: str, texts: torch.Tensor, weight: float, rows: list[dict[str, str]], x: torch.Tensor
    ) -> None:
        moved = adapted(prototypes, texts, weight) if len(texts) else prototypes
        in_scope, _ = _scores(rows, _predict(labels, x @ moved.T, None))
        too_few = too_few_to_adapt(len(texts), len(labels))
        note = " (too few: a job keeps the descriptions)" if len(texts) and too_few else ""
        split = "validation" if rows is validation else "test"
        print(
            f"| {pool}{note} | {len(texts)} | {weight:g} | {split} | {100 * in_scope:.1f} |",
            flush=True,
        )

    row("none (descriptions alone)", validation_x[:0], 3.0, test, test_x)
    for weight in (1.0, 3.0, 10.0):
        row("the validation split", validation_x, weight, test, test_x)
    for size in (1000, 600, 300, 150):
        sample = generator.choice(len(validation), size, replace=False)
        row(f"{size} validation texts drawn at random", validation_x[sample], 3.0, test, test_x)
    row(
        "a Zipf-skewed draw of validation texts",
        validation_x[_zipf(labels, validation, generator)],
        3.0,
        test,
        test_x,
    )
    row("none (descriptions alone)", validation_x[:0], 3.0, validation, validation_x)
    row("the test split (18 % out of scope)", test_x, 3.0, validation, validation_x)


def _zipf(
    labels: Sequence[str], rows: list[dict[str, str]], generator: np.random.Generator
) -> list[int]:
    """Row indices where the label of rank r keeps about 20 / (1 + r / 15) of its texts."""
    ranked = generator.permutation(len(labels))
    kept: list[int] = []
    for rank, label_index in enumerate(ranked):
        indices = [i for i, r in enumerate(rows) if r["label"] == labels[label_index]]
        kept += indices[: max(1, int(20 / (1 + rank / 15)))]
    return kept


def _prototypes(
    encoder: SentenceEncoder, labels: Sequence[str], templates: Sequence[str]
) -> torch.Tensor:
    phrasings = [
        _normalized(encoder.embed([template.format(readable(label)) for label in labels]))
        for template in templates
    ]
    return _normalized(torch.stack(phrasings).mean(dim=0))


def _normalized(matrix: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(matrix, dim=-1)


def _predict(
    labels: Sequence[str], similarity: torch.Tensor, threshold: float | None
) -> np.ndarray:
    best = similarity.max(dim=1)
    predicted: np.ndarray = np.array(labels, dtype=object)[best.indices.numpy()]
    if threshold is not None:
        predicted[best.values.numpy() < threshold] = OUT_OF_SCOPE
    return predicted


def _scores(rows: list[dict[str, str]], predicted: np.ndarray) -> tuple[float, float]:
    truth = np.array([r["label"] for r in rows], dtype=object)
    inside = truth != OUT_OF_SCOPE
    in_scope = float((predicted[inside] == truth[inside]).mean())
    recall = float((predicted[~inside] == OUT_OF_SCOPE).mean())
    return in_scope, recall


def _best_threshold(
    labels: Sequence[str], rows: list[dict[str, str]], similarity: torch.Tensor
) -> float:
    """The threshold with the best accuracy over every validation text, out of scope included."""
    truth = np.array([r["label"] for r in rows], dtype=object)
    candidates = np.round(np.arange(0.0, 0.8, 0.01), 2)

    def accuracy(threshold: float) -> float:
        return float((_predict(labels, similarity, threshold) == truth).mean())

    return float(max(candidates, key=accuracy))


def _row(
    descriptions: str,
    out_of_scope: str,
    labels: Sequence[str],
    rows: list[dict[str, str]],
    similarity: torch.Tensor,
    chosen: str,
    threshold: float | None = None,
) -> None:
    in_scope, recall = _scores(rows, _predict(labels, similarity, threshold))
    print(
        f"| {descriptions} | {out_of_scope} | {100 * in_scope:.1f} | {100 * recall:.1f} | "
        f"{chosen} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
