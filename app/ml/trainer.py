import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from app.ml.arguments import FullFineTuneArguments
from app.ml.data import LabeledExample, TrainingDataError, label_names
from app.ml.device import DevicePlan
from app.ml.loading import load_classifier, load_tokenizer
from app.ml.metrics import classification_metrics


@dataclass(frozen=True)
class TrainingProgress:
    step: int
    total_steps: int
    epoch: int
    epochs: int
    loss: float
    epoch_loss: float

    @property
    def ends_epoch(self) -> bool:
        return self.step * self.epochs % self.total_steps == 0

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 1.0


@dataclass
class TrainingResult:
    model: Any
    tokenizer: Any
    labels: list[str]
    metrics: dict[str, float]


ProgressCallback = Callable[[TrainingProgress], None]


class FullFineTuner:
    """Fine-tunes every parameter of a pre-trained encoder under a new classification head."""

    def __init__(
        self,
        args: FullFineTuneArguments,
        *,
        base_model_path: str,
        device: DevicePlan,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.args = args
        self.base_model_path = base_model_path
        self.device = device
        self.on_progress = on_progress or (lambda _progress: None)

    def train(
        self, train: Sequence[LabeledExample], validation: Sequence[LabeledExample]
    ) -> TrainingResult:
        labels = self._validate(train, validation)
        model, tokenizer = self._prepare(labels)
        started = time.perf_counter()
        train_loss = self._fit(model, tokenizer, train, labels)
        seconds = time.perf_counter() - started
        metrics = self.evaluate(model, tokenizer, validation)
        metrics |= {
            "train_loss": train_loss,
            "train_seconds": seconds,
            "train_samples_per_second": len(train) * self.args.epochs / seconds,
            "num_train_examples": len(train),
            "num_validation_examples": len(validation),
        }
        return TrainingResult(model.cpu(), tokenizer, labels, metrics)

    def _validate(
        self, train: Sequence[LabeledExample], validation: Sequence[LabeledExample]
    ) -> list[str]:
        labels = label_names(train)
        if len(labels) < 2:
            raise TrainingDataError(f"training data has {len(labels)} label(s); at least 2 needed")
        unknown = sorted({example.label for example in validation} - set(labels))
        if unknown:
            raise TrainingDataError(f"validation labels missing from training data: {unknown}")
        return labels

    def _prepare(self, labels: list[str]) -> tuple[Any, Any]:
        _seed_everything(self.args.seed)
        tokenizer = load_tokenizer(self.base_model_path)
        tokenizer.model_max_length = self.args.max_length
        model = load_classifier(self.base_model_path, labels)
        return model.to(self.device.device), tokenizer

    def _fit(
        self, model: Any, tokenizer: Any, train: Sequence[LabeledExample], labels: list[str]
    ) -> float:
        label_ids = {label: index for index, label in enumerate(labels)}
        steps_per_epoch = math.ceil(len(train) / self.args.batch_size)
        total_steps = steps_per_epoch * self.args.epochs
        optimizer = torch.optim.AdamW(
            _parameter_groups(model, self.args.weight_decay), lr=self.args.learning_rate
        )
        schedule = get_linear_schedule_with_warmup(
            optimizer, round(total_steps * self.args.warmup_ratio), total_steps
        )
        scaler = torch.amp.GradScaler(enabled=self.device.needs_grad_scaler)
        generator = torch.Generator().manual_seed(self.args.seed)
        model.train()
        step, epoch_loss = 0, 0.0
        for epoch in range(1, self.args.epochs + 1):
            epoch_loss, seen = 0.0, 0
            for indices in torch.randperm(len(train), generator=generator).split(
                self.args.batch_size
            ):
                batch = [train[i] for i in indices.tolist()]
                inputs = self._encode(tokenizer, [example.text for example in batch])
                targets = torch.tensor(
                    [label_ids[ex.label] for ex in batch], device=inputs["input_ids"].device
                )
                with self._autocast():
                    loss = torch.nn.functional.cross_entropy(
                        model(**inputs).logits.float(), targets
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                schedule.step()
                step += 1
                seen += len(batch)
                epoch_loss += loss.item() * len(batch)
                self.on_progress(
                    TrainingProgress(
                        step, total_steps, epoch, self.args.epochs, loss.item(), epoch_loss / seen
                    )
                )
        return epoch_loss / len(train)

    @torch.inference_mode()
    def evaluate(
        self, model: Any, tokenizer: Any, examples: Sequence[LabeledExample]
    ) -> dict[str, float]:
        model.eval()
        label_ids = model.config.label2id
        logits = []
        for start in range(0, len(examples), self.args.batch_size * 4):
            texts = [example.text for example in examples[start : start + self.args.batch_size * 4]]
            with self._autocast():
                logits.append(model(**self._encode(tokenizer, texts)).logits.float().cpu())
        stacked = torch.cat(logits)
        targets = torch.tensor([label_ids[example.label] for example in examples])
        loss = torch.nn.functional.cross_entropy(stacked, targets).item()
        id2label = model.config.id2label
        predicted = [id2label[index] for index in stacked.argmax(dim=1).tolist()]
        return classification_metrics([example.label for example in examples], predicted, loss)

    def _encode(self, tokenizer: Any, texts: list[str]) -> dict[str, torch.Tensor]:
        encoded = tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.args.max_length,
            return_tensors="pt",
        )
        return {name: tensor.to(self.device.device) for name, tensor in encoded.items()}

    def _autocast(self) -> torch.autocast:
        dtype = self.device.autocast_dtype
        return torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None)


def _parameter_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    decayed: list[torch.nn.Parameter] = []
    undecayed: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        is_bias_or_norm = parameter.ndim < 2 or "LayerNorm" in name
        (undecayed if is_bias_or_norm else decayed).append(parameter)
    return [
        {"params": decayed, "weight_decay": weight_decay},
        {"params": undecayed, "weight_decay": 0.0},
    ]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
