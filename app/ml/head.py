"""A linear classification head over sentence embeddings, and how it is fitted."""

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch

from app.ml.arguments import HeadArguments


class LinearHead(torch.nn.Module):
    """logits = W (scale * x) + b. With unit-length rows of W and b = 0, logits are scaled
    cosine similarities, which is how a zero-shot head is built from label descriptions."""

    def __init__(self, dimension: int, num_labels: int, scale: float) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(dimension, num_labels)
        self.scale: torch.Tensor
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.linear(features * self.scale)
        return logits

    @classmethod
    def of(cls, linear: torch.nn.Linear) -> "LinearHead":
        """A head that computes what `linear` does (scale 1)."""
        head = cls(linear.in_features, linear.out_features, 1.0)
        head.linear.load_state_dict(linear.state_dict())
        return head.eval()

    @classmethod
    def from_prototypes(
        cls, prototypes: torch.Tensor, scale: float, bias: float = 0.0
    ) -> "LinearHead":
        head = cls(prototypes.shape[1], prototypes.shape[0], scale)
        with torch.no_grad():
            head.linear.weight.copy_(torch.nn.functional.normalize(prototypes, dim=-1))
            head.linear.bias.fill_(bias)
        return head


class MlpHead(torch.nn.Module):
    """logits = W2 gelu(W1 (scale x)) + b2, with dropout on the input and the hidden layer
    while training. `linear` is the layer that computes the logits, as in `LinearHead`."""

    def __init__(
        self, dimension: int, num_labels: int, scale: float, hidden: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(dimension, hidden)
        self.linear = torch.nn.Linear(hidden, num_labels)
        self.dropout = torch.nn.Dropout(dropout)
        self.scale: torch.Tensor
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden(self.dropout(features * self.scale))
        logits: torch.Tensor = self.linear(self.dropout(torch.nn.functional.gelu(hidden)))
        return logits


Head = LinearHead | MlpHead


def head_of_state(state: Mapping[str, torch.Tensor]) -> Head:
    """An empty head of the shape these saved weights have."""
    labels, width = state["linear.weight"].shape
    if "hidden.weight" in state:
        hidden, dimension = state["hidden.weight"].shape
        return MlpHead(dimension, labels, 1.0, hidden)
    return LinearHead(width, labels, 1.0)


def probabilities(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    return logits.float().sigmoid() if multi_label else logits.float().softmax(dim=-1)


def head_loss(
    logits: torch.Tensor, targets: torch.Tensor, multi_label: bool, label_smoothing: float = 0.0
) -> torch.Tensor:
    if multi_label:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), targets)
    return torch.nn.functional.cross_entropy(
        logits.float(), targets, label_smoothing=label_smoothing
    )


def average_precision(scores: torch.Tensor, truth: torch.Tensor) -> float:
    """The mean over positives of the precision among the scores ranked at or above them."""
    order = scores.argsort(descending=True)
    hits = truth[order].float()
    positives = hits.sum()
    if positives == 0:
        return 0.0
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1, dtype=torch.float32)
    return float((precision * hits).sum() / positives)


EpochLosses = Callable[[int, float], None]
H = TypeVar("H", bound=torch.nn.Module)


@dataclass(frozen=True)
class HeldOut:
    """Validation features and targets that decide which epoch of a head to keep."""

    features: torch.Tensor
    targets: torch.Tensor

    @torch.inference_mode()
    def score(self, head: torch.nn.Module, multi_label: bool) -> float:
        """Higher is better: accuracy for single-label heads; for multi-label heads the average
        precision of every (text, label) score, which does not depend on thresholds (tuned
        later) and is not swamped, as the loss is, by the many labels a text does not have."""
        head.eval()
        logits = head(self.features)
        head.train()
        if multi_label:
            return average_precision(logits.flatten(), self.targets.flatten())
        return float((logits.argmax(-1) == self.targets).float().mean())

    @staticmethod
    def patience(epochs: int) -> int:
        return max(10, epochs // 10)


def fit_head(
    head: H,
    features: torch.Tensor,
    targets: torch.Tensor,
    args: HeadArguments,
    *,
    multi_label: bool,
    on_epoch: EpochLosses | None = None,
    held_out: HeldOut | None = None,
) -> H:
    """Mini-batch AdamW with a cosine schedule; features stay on the CPU, where a head of this
    size trains in seconds. With `held_out`, the epoch that scores best on it is kept, and
    fitting stops once a tenth of the epochs (at least 10) bring no better score."""
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(
        head.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )
    steps_per_epoch = math.ceil(len(features) / args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps_per_epoch * args.epochs)
    head.train()
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for indices in torch.randperm(len(features), generator=generator).split(args.batch_size):
            loss = head_loss(head(features[indices]), targets[indices], multi_label)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.item()) * len(indices)
        if on_epoch is not None:
            on_epoch(epoch, total / len(features))
        if held_out is None:
            continue
        score = held_out.score(head, multi_label)
        if best is None or score > best[0]:
            best = (score, epoch, copy.deepcopy(head.state_dict()))
        elif epoch - best[1] >= HeldOut.patience(args.epochs):
            break
    if best is not None:
        head.load_state_dict(best[2])
    return head.eval()
