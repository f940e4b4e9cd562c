"""Fine-tuning through the encoder: `full` trains every parameter, `lora` trains low-rank
adapters (PEFT) and the head. One loop for both, with checkpoints, resume and early stopping."""

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import get_linear_schedule_with_warmup

from app.ml.arguments import FullFineTuneArguments, Pooling
from app.ml.batching import length_grouped_batches, shuffled_batches
from app.ml.calibration import fit_temperature, scale_linear
from app.ml.checkpoint import Score, TrainingState, load_checkpoint, save_checkpoint
from app.ml.data import LabeledExample, TrainingDataError, check_labels, encode_targets
from app.ml.device import DevicePlan
from app.ml.evaluation import validation_summary
from app.ml.head import head_loss, probabilities
from app.ml.linear_probe import logistic_regression
from app.ml.loading import load_classifier, load_tokenizer, save_standalone
from app.ml.optimization import parameter_groups
from app.ml.passes import Passes
from app.ml.pooling import head_of, supports_mean_pooling
from app.ml.progress import Callbacks, EpochReport, TrainingPaused, TrainingProgress
from app.ml.warm_start import WarmStart


@dataclass
class TrainingResult:
    model: Any
    tokenizer: Any
    labels: list[str]
    metrics: dict[str, float]
    multi_label: bool = False
    thresholds: list[float] | None = None
    pooling: Pooling = "cls"

    def save(self, directory: Path) -> None:
        """A full model with its tokenizer and model card, or only the adapters and head of a
        LoRA model."""
        if isinstance(self.model, PeftModel):
            self.model.save_pretrained(str(directory))
            return
        save_standalone(self.model, self.tokenizer, self.labels, self.pooling, directory)


@dataclass
class _Optimization:
    optimizer: torch.optim.Optimizer
    schedule: Any
    scaler: torch.amp.GradScaler
    total_steps: int
    warmup_epochs: int


class FullFineTuner:
    """Fine-tunes a pre-trained encoder under a new classification head: every parameter, or
    with `adapters` only low-rank adapters and the head."""

    def __init__(
        self,
        args: FullFineTuneArguments,
        *,
        base_model_path: str,
        device: DevicePlan,
        adapters: LoraConfig | None = None,
        callbacks: Callbacks | None = None,
        checkpoint_dir: Path | None = None,
        warm_start: WarmStart | None = None,
    ) -> None:
        self.args = args
        self.adapters = adapters
        self.warm_start = warm_start
        self.base_model_path = base_model_path
        self.device = device
        self.callbacks = callbacks or Callbacks()
        self.checkpoint_dir = checkpoint_dir

    def train(
        self,
        train: Sequence[LabeledExample],
        validation: Sequence[LabeledExample],
        *,
        multi_label: bool = False,
    ) -> TrainingResult:
        labels = check_labels(train, validation)
        if self.warm_start is not None:
            labels = self.warm_start.labels_for(labels)
        model, passes = self._prepare(labels, multi_label)
        targets = encode_targets(train, labels, multi_label)
        optimization = self._optimization(model, len(train))
        state = self._resume(model, optimization)
        if state.steps_done == 0 and self.warm_start is None:
            if self.args.linear_probe:
                self._probe(model, passes, train, targets, multi_label)
            elif multi_label:
                start_at_label_frequencies(head_of(model), targets)
        lengths = passes.token_lengths(_texts(train)) if self.args.group_by_length else []
        started, trained = time.perf_counter(), 0
        for epoch in range(state.epochs_done + 1, self.args.epochs + 1):
            if self._should_stop(state, optimization):
                break
            train_loss = self._train_epoch(
                model, passes, train, targets, optimization, state, epoch, lengths
            )
            trained += len(train)
            scores = self.evaluate(model, passes, validation)[0]
            is_best = state.record(
                epoch,
                self._score(scores),
                scores | {"train_loss": train_loss},
                model,
                keep=self.args.early_stopping_patience is not None,
            )
            self._checkpoint(state, model, optimization)
            self.callbacks.on_epoch(
                EpochReport(epoch, self.args.epochs, train_loss, scores, is_best)
            )
        seconds = time.perf_counter() - started
        metrics, thresholds = self._final_metrics(state, model, passes, validation)
        metrics |= {
            "train_seconds": seconds,
            "train_samples_per_second": trained / seconds if seconds else 0.0,
            "num_train_examples": len(train),
            "num_validation_examples": len(validation),
            "epochs_trained": state.epochs_done,
        }
        return TrainingResult(
            model.cpu(),
            passes.tokenizer,
            labels,
            metrics,
            multi_label,
            thresholds,
            self.args.pooling,
        )

    def _prepare(self, labels: list[str], multi_label: bool) -> tuple[Any, Passes]:
        _seed_everything(self.args.seed)
        tokenizer = load_tokenizer(self.base_model_path)
        tokenizer.model_max_length = self.args.max_length
        model = self._model(labels, multi_label)
        if self.args.pooling == "mean" and not supports_mean_pooling(model):
            raise TrainingDataError(
                f"{type(model).__name__} has no BERT-style head to read mean-pooled token "
                'states; set hyperparameters.pooling to "cls"'
            )
        passes = Passes(tokenizer, self.device, self.args.max_length, self.args.pooling)
        return model.to(self.device.device), passes

    def _model(self, labels: list[str], multi_label: bool) -> Any:
        if self.warm_start is not None and self.adapters is not None:
            return self.warm_start.lora_model(self.base_model_path, labels, multi_label=multi_label)
        if self.warm_start is not None:
            return self.warm_start.full_model(labels, multi_label=multi_label)
        model = load_classifier(self.base_model_path, labels, multi_label=multi_label)
        return model if self.adapters is None else get_peft_model(model, self.adapters)

    def _optimization(self, model: Any, num_examples: int) -> _Optimization:
        steps_per_epoch = math.ceil(num_examples / self.args.batch_size)
        total_steps = steps_per_epoch * self.args.epochs
        warmup_steps = round(total_steps * self.args.warmup_ratio)
        groups = parameter_groups(
            model,
            learning_rate=self.args.learning_rate,
            head_learning_rate=self.args.learning_rate * self.args.head_learning_rate_factor,
            layer_decay=self.args.layer_decay,
            weight_decay=self.args.weight_decay,
        )
        optimizer = torch.optim.AdamW(groups, lr=self.args.learning_rate)
        schedule = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
        scaler = torch.amp.GradScaler(enabled=self.device.needs_grad_scaler)
        warmup_epochs = math.ceil(warmup_steps / steps_per_epoch)
        return _Optimization(optimizer, schedule, scaler, total_steps, warmup_epochs)

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
        self.callbacks.on_epoch(
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
        passes: Passes,
        train: Sequence[LabeledExample],
        targets: torch.Tensor,
        optimization: _Optimization,
        state: TrainingState,
        epoch: int,
        lengths: list[int],
    ) -> float:
        order = torch.Generator().manual_seed(self.args.seed * 10_007 + epoch)
        model.train()
        size = self.args.batch_size
        batches = (
            length_grouped_batches(lengths, size, order)
            if self.args.group_by_length
            else shuffled_batches(len(train), size, order)
        )
        for indices in batches[state.batches_into_epoch :]:
            texts = [train[i].text for i in indices]
            loss = self._step(model, passes, texts, targets[indices], optimization)
            state.steps_done += 1
            state.batches_into_epoch += 1
            state.epoch_examples += len(texts)
            state.epoch_loss_sum += loss * len(texts)
            self.callbacks.on_progress(
                TrainingProgress(
                    state.steps_done,
                    optimization.total_steps,
                    epoch,
                    self.args.epochs,
                    loss,
                    state.epoch_loss_sum / state.epoch_examples,
                )
            )
            if self.callbacks.should_pause():
                self._checkpoint(state, model, optimization)
                raise TrainingPaused(state.steps_done)
        return state.epoch_loss_sum / state.epoch_examples

    def _step(
        self,
        model: Any,
        passes: Passes,
        texts: list[str],
        targets: torch.Tensor,
        optimization: _Optimization,
    ) -> float:
        logits = passes.logits(model, texts)
        multi_label = targets.is_floating_point()
        loss = head_loss(
            logits, targets.to(self.device.device), multi_label, self.args.label_smoothing
        )
        optimization.optimizer.zero_grad(set_to_none=True)
        optimization.scaler.scale(loss).backward()
        optimization.scaler.unscale_(optimization.optimizer)
        torch.nn.utils.clip_grad_norm_(_trainable(model), 1.0)
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

    def _score(self, scores: dict[str, float]) -> Score:
        """The early-stopping metric, ties broken by the lower validation loss: on a small
        validation set the metric saturates (every example right) long before the model fits."""
        metric, loss = self.args.early_stopping_metric, -scores["loss"]
        return (loss, 0.0) if metric == "loss" else (scores[metric], loss)

    def _should_stop(self, state: TrainingState, optimization: _Optimization) -> bool:
        """Patience counts only the epochs after the learning rate's warm-up: a model still
        warming up may not have improved yet (a multi-label head often has not)."""
        patience = self.args.early_stopping_patience
        if patience is None:
            return False
        warmed_up = state.epochs_done - optimization.warmup_epochs
        return min(state.epochs_without_improvement, warmed_up) >= patience

    def _final_metrics(
        self,
        state: TrainingState,
        model: Any,
        passes: Passes,
        validation: Sequence[LabeledExample],
    ) -> tuple[dict[str, float], list[float] | None]:
        if state.best_weights is not None:
            model.load_state_dict(state.best_weights)
        calibration = self._calibrate(model, passes, validation)
        scores, thresholds = self.evaluate(model, passes, validation)
        scores |= calibration
        if state.best_weights is not None:
            return state.best_metrics | scores | {"best_epoch": state.best_epoch}, thresholds
        return state.last_metrics | scores, thresholds

    def _calibrate(
        self, model: Any, passes: Passes, validation: Sequence[LabeledExample]
    ) -> dict[str, float]:
        """Fold a temperature fitted on the validation examples into the head's weights."""
        if not self.args.calibrate or _is_multi_label(model):
            return {}
        targets = encode_targets(validation, _labels_of(model), multi_label=False)
        temperature = fit_temperature(passes.all_logits(model, _texts(validation)), targets)
        scale_linear(head_of(model), 1 / temperature)
        return {"temperature": temperature}

    def evaluate(
        self, model: Any, passes: Passes, examples: Sequence[LabeledExample]
    ) -> tuple[dict[str, float], list[float] | None]:
        """Validation scores, and for a multi-label model the thresholds tuned on them."""
        multi_label = _is_multi_label(model)
        logits = passes.all_logits(model, _texts(examples))
        scores = probabilities(logits, multi_label).numpy()
        return validation_summary(_labels_of(model), examples, scores, multi_label=multi_label)

    def _probe(
        self,
        model: Any,
        passes: Passes,
        train: Sequence[LabeledExample],
        targets: torch.Tensor,
        multi_label: bool,
    ) -> None:
        """Linear probing: the head starts as a logistic regression on the features of the
        encoder as pre-trained (Kumar et al. 2022), so fine-tuning begins from a good head."""
        features = passes.all_features(model, _texts(train))
        fitted = logistic_regression(
            features, targets, len(_labels_of(model)), multi_label=multi_label
        )
        head = head_of(model)
        with torch.no_grad():
            head.weight.copy_(fitted.weight)
            head.bias.copy_(fitted.bias)


def start_at_label_frequencies(head: torch.nn.Linear, targets: torch.Tensor) -> None:
    """A multi-label head starts by scoring each label at its share of the training texts
    (its log-odds as the bias; Lin et al. 2017) rather than at 0.5: otherwise its first
    hundreds of steps only learn that most labels are absent from most texts."""
    frequency = targets.float().mean(dim=0).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        head.bias.copy_(torch.log(frequency / (1 - frequency)).to(head.bias))


def _texts(examples: Sequence[LabeledExample]) -> list[str]:
    return [example.text for example in examples]


def _trainable(model: Any) -> list[torch.nn.Parameter]:
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def _is_multi_label(model: Any) -> bool:
    return bool(model.config.problem_type == "multi_label_classification")


def _labels_of(model: Any) -> list[str]:
    return [model.config.id2label[index] for index in range(model.config.num_labels)]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
