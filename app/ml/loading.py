import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from app.ml.arguments import Pooling
from app.ml.model_card import POOLING_KEY, write_model_card

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


class BaseModelError(RuntimeError):
    """A base model could not be loaded from its registered location."""


def load_tokenizer(path: str) -> Any:
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load a tokenizer from {path}: {error}") from error


def load_classifier(
    path: str, labels: list[str] | None = None, *, multi_label: bool = False
) -> Any:
    """A sequence classifier from `path`; with `labels`, a fresh head replaces any existing one."""
    try:
        if labels is None:
            return AutoModelForSequenceClassification.from_pretrained(path)
        return AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: index for index, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
            problem_type="multi_label_classification" if multi_label else None,
        )
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load a model from {path}: {error}") from error


def save_standalone(
    model: Any, tokenizer: Any, labels: list[str], pooling: Pooling, directory: Path
) -> None:
    """A sequence classifier that plain `transformers` loads, with a model card that says how
    its head pools the token states."""
    setattr(model.config, POOLING_KEY, pooling)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_model_card(directory, labels, pooling)


def token_lengths(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[int]:
    """Tokens of each text, special tokens included, up to `max_length`."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    return [len(ids) for ids in encoded["input_ids"]]


def import_architecture(path: str) -> None:
    """Import the model classes of `path`'s architecture (transformers imports them lazily,
    about half a second for BERT), so that a later load does not pay it. The tokenizer's
    modules are imported by loading it (`ModelCache.warm_up` loads the base with it)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING,
        MODEL_MAPPING,
    )

    config = AutoConfig.from_pretrained(path)
    for mapping in (MODEL_MAPPING, MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING):
        if type(config) in mapping:
            mapping[type(config)]
