"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on held-out examples, divides
every logit so that the softmax's confidence matches accuracy. The best label never changes."""

import torch

MIN_EXAMPLES = 20
BOUNDS = (0.05, 20.0)


@torch.enable_grad()
def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The T that minimises the cross-entropy of softmax(logits / T) on these examples; 1.0
    when there are too few of them to fit it."""
    if len(targets) < MIN_EXAMPLES:
        return 1.0
    logits = logits.detach().float().clone()
    log_temperature = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200)

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(logits / log_temperature.exp(), targets)
        value.backward()
        return value

    optimizer.step(loss)
    return float(log_temperature.detach().exp().clamp(*BOUNDS))


@torch.no_grad()
def scale_linear(linear: torch.nn.Linear, factor: float) -> None:
    """Multiply the layer's outputs by `factor`: its logits / T with factor 1 / T."""
    linear.weight.mul_(factor)
    if linear.bias is not None:
        linear.bias.mul_(factor)
