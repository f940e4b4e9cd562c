"""A linear classifier fitted to fixed features by full-batch L-BFGS on the cross-entropy
with an L2 penalty: logistic regression, multinomial for single-label data and one-vs-rest
for multi-label data. Convex, so it converges whatever the number of examples."""

import torch

from app.ml.head import head_loss


@torch.enable_grad()
def logistic_regression(
    features: torch.Tensor,
    targets: torch.Tensor,
    num_labels: int,
    *,
    multi_label: bool,
    l2: float = 1e-4,
    iterations: int = 200,
) -> torch.nn.Linear:
    features = features.detach().float().clone()
    linear = torch.nn.Linear(features.shape[1], num_labels)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(
        linear.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = head_loss(linear(features), targets, multi_label)
        value = value + l2 * linear.weight.square().sum()
        value.backward()
        return value

    optimizer.step(loss)
    return linear.eval()
