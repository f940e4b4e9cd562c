import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from app.ml.arguments import FullFineTuneArguments
from app.ml.checkpoint import TrainingState, load_checkpoint, save_checkpoint
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
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 1.0


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    validation: dict[str, float]
    is_best: bool
    resumed_at_step: int | None = None


class TrainingPaused(Exception):
    """Training stopped at a step boundary on request, after saving a checkpoint there."""

    def __init__(self, step: int) -> None:
        super().__init__(f"paused after step {step}")
        self.step = step


@dataclass
class TrainingResult:
    model: Any
    tokenizer: Any
    labels: list[str]
    metrics: dict[str, float]


@dataclass
class _Optimization:
    optimizer: torch.optim.Optimizer
    schedule: Any
    scaler: torch.amp.GradScaler
    total_steps: int


ProgressCallback = Callable[[TrainingProgress], None]
EpochCallback = Callable[[EpochReport], None]


class FullFineTuner:
    """Fine-tunes every parameter of a pre-trained encoder under a new classification head."""

    def __init__(
        self,
        args: FullFineTuneArguments,
        *,
        base_model_path: str,
        device: DevicePlan,
        on_progress: ProgressCallback | None = None,
        on_epoch: EpochCallback | None = None,
        checkpoint_dir: Path | None = None,
        should_pause: Callable[[], bool] | None = None,
    ) -> None:
        self.args = args
        self.base_model_path = base_model_path
        self.device = device
        self.on_progress = on_progress or (lambda _progress: None)
        self.on_epoch = on_epoch or (lambda _report: None)
        self.checkpoint_dir = checkpoint_dir
        self.should_pause = should_pause or (lambda: False)

    def train(
        self, train: Sequence[LabeledExample], validation: Sequence[LabeledExample]
    ) -> TrainingResult:
        labels = self._validate(train, validation)
        model, tokenizer = self._prepare(labels)
        optimization = self._optimization(model, len(train))
        state = self._resume(model, optimization)
        started, trained = time.perf_counter(), 0
        for epoch in range(state.epochs_done + 1, self.args.epochs + 1):
            train_loss = self._train_epoch(
                model, tokenizer, train, labels, optimization, state, epoch
            )
            trained += len(train)
            scores = self.evaluate(model, tokenizer, validation)
            is_best = state.record(
                epoch,
                self._score(scores),
                scores | {"train_loss": train_loss},
                model,
                keep=self.args.early_stopping_patience is not None,
            )
            self._checkpoint(state, model, optimization)
            self.on_epoch(EpochReport(epoch, self.args.epochs, train_loss, scores, is_best))
            if self._should_stop(state):
                break
        seconds = time.perf_counter() - started
        metrics = self._final_metrics(state, model, tokenizer, validation)
        metrics |= {
            "train_seconds": seconds,
            "train_samples_per_second": trained / seconds if seconds else 0.0,
            "num_train_examples": len(train),
            "num_validation_examples": len(validation),
            "epochs_trained": state.epochs_done,
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

    def _optimization(self, model: Any, num_examples: int) -> _Optimization:
        total_steps = math.ceil(num_examples / self.args.batch_size) * self.args.epochs
        optimizer = torch.optim.AdamW(
            _parameter_groups(model, self.args.weight_decay), lr=self.args.learning_rate
        )
        schedule = get_linear_schedule_with_warmup(
            optimizer, round(total_steps * self.args.warmup_ratio), total_steps
        )
        scaler = torch.amp.GradScaler(enabled=self.device.needs_grad_scaler)
        return _Optimization(optimizer, schedule, scaler, total_steps)

    def _resume(self, model: Any, optimization: _Optimization) -> TrainingState:
        if self.checkpoint_dir is None:
            return TrainingState()
        state = load_checkpoint(
            self.checkpoint_dir,
            model=model,
            optimizer=optimization.optimizer,
            schedule=optimization.schedule,
            scaler=optimization.scaler,
        )
        if state is None:
            return TrainingState()
        self.on_epoch(
            EpochReport(
                state.epochs_done,
                self.args.epochs,
                float("nan"),
                {},
                False,
                resumed_at_step=state.steps_done,
            )
        )
        return state

    def _train_epoch(
        self,
        model: Any,
        tokenizer: Any,
        train: Sequence[LabeledExample],
        labels: list[str],
        optimization: _Optimization,
        state: TrainingState,
        epoch: int,
    ) -> float:
        label_ids = {label: index for index, label in enumerate(labels)}
        order = torch.Generator().manual_seed(self.args.seed * 10_007 + epoch)
        model.train()
        batches = torch.randperm(len(train), generator=order).split(self.args.batch_size)
        for indices in batches[state.batches_into_epoch :]:
            batch = [train[i] for i in indices.tolist()]
            loss = self._step(model, tokenizer, batch, label_ids, optimization)
            state.steps_done += 1
            state.batches_into_epoch += 1
            state.epoch_examples += len(batch)
            state.epoch_loss_sum += loss * len(batch)
            self.on_progress(
                TrainingProgress(
                    state.steps_done,
                    optimization.total_steps,
                    epoch,
                    self.args.epochs,
                    loss,
                    state.epoch_loss_sum / state.epoch_examples,
                )
            )
            if self.should_pause():
                self._checkpoint(state, model, optimization)
                raise TrainingPaused(state.steps_done)
        return state.epoch_loss_sum / state.epoch_examples

    def _step(
        self,
        model: Any,
        tokenizer: Any,
        batch: list[LabeledExample],
        label_ids: dict[str, int],
        optimization: _Optimization,
    ) -> float:
        inputs = self._encode(tokenizer, [example.text for example in batch])
        targets = torch.tensor([label_ids[ex.label] for ex in batch], device=self.device.device)
        with self._autocast():
            loss = torch.nn.functional.cross_entropy(model(**inputs).logits.float(), targets)
        optimization.optimizer.zero_grad(set_to_none=True)
        optimization.scaler.scale(loss).backward()
        optimization.scaler.unscale_(optimization.optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimization.scaler.step(optimization.optimizer)
        optimization.scaler.update()
        optimization.schedule.step()
        return float(loss.item())

    def _checkpoint(self, state: TrainingState, model: Any, optimization: _Optimization) -> None:
        if self.checkpoint_dir is not None:
            save_checkpoint(
                self.checkpoint_dir,
                state=state,
                model=model,
                optimizer=optimization.optimizer,
                schedule=optimization.schedule,
                scaler=optimization.scaler,
            )

    def _score(self, scores: dict[str, float]) -> float:
        metric = self.args.early_stopping_metric
        return -scores["loss"] if metric == "loss" else scores[metric]

    def _should_stop(self, state: TrainingState) -> bool:
        patience = self.args.early_stopping_patience
        return patience is not None and state.epochs_without_improvement >= patience

    def _final_metrics(
        self,
        state: TrainingState,
        model: Any,
        tokenizer: Any,
        validation: Sequence[LabeledExample],
    ) -> dict[str, float]:
        if state.best_weights is not None:
            model.load_state_dict(state.best_weights)
            return state.best_metrics | {"best_epoch": state.best_epoch}
        return state.last_metrics or self.evaluate(model, tokenizer, validation)

    @torch.inference_mode()
    def evaluate(
        self, model: Any, tokenizer: Any, examples: Sequence[LabeledExample]
    ) -> dict[str, float]:
        model.eval()
        label_ids = model.config.label2id
        logits = []
        size = self.args.batch_size * 4
        for start in range(0, len(examples), size):
            texts = [example.text for example in examples[start : start + size]]
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
