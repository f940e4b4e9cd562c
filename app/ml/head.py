"""A linear classification head over sentence embeddings, and how it is fitted."""

import math
from collections.abc import Callable

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
    def from_prototypes(
        cls, prototypes: torch.Tensor, scale: float, bias: float = 0.0
    ) -> "LinearHead":
        head = cls(prototypes.shape[1], prototypes.shape[0], scale)
        with torch.no_grad():
            head.linear.weight.copy_(torch.nn.functional.normalize(prototypes, dim=-1))
            head.linear.bias.fill_(bias)
        return head


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


EpochLosses = Callable[[int, float], None]


def fit_head(
    head: LinearHead,
    features: torch.Tensor,
    targets: torch.Tensor,
    args: HeadArguments,
    *,
    multi_label: bool,
    on_epoch: EpochLosses | None = None,
) -> LinearHead:
    """Mini-batch AdamW with a cosine schedule; features stay on the CPU, where a head of this
    size trains in seconds."""
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(
        head.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )
    steps_per_epoch = math.ceil(len(features) / args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps_per_epoch * args.epochs)
    head.train()
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
    return head.eval()
