"""How texts are cut into batches: the order in which a training epoch visits its examples, and
the forward passes that serve a set of texts."""

import torch


def shuffled_batches(count: int, batch_size: int, generator: torch.Generator) -> list[list[int]]:
    return [
        batch.tolist() for batch in torch.randperm(count, generator=generator).split(batch_size)
    ]


def length_grouped_batches(
    lengths: list[int], batch_size: int, generator: torch.Generator, group_batches: int = 50
) -> list[list[int]]:
    """Shuffled batches of examples of similar length, so that little of a batch is padding:
    the examples are shuffled, cut into groups of `group_batches` batches, each group sorted by
    length and cut into batches, and the batches shuffled."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    group = batch_size * group_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), group):
        members = sorted(order[start : start + group], key=lambda index: lengths[index])
        batches.extend(members[i : i + batch_size] for i in range(0, len(members), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[index] for index in shuffled]


def token_budget_passes(
    lengths: list[int], max_texts: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Indices of texts cut into passes of similar length, shortest first: a pass holds at most
    `max_texts` texts and, padded to its longest, at most `max_tokens` tokens (a text longer
    than the budget goes alone)."""
    budget = max_tokens if max_tokens is not None else max(lengths, default=0) * max_texts
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    passes: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[index]
        if current and (len(current) >= max_texts or (len(current) + 1) * longest > budget):
            passes.append(current)
            current = []
        current.append(index)
    if current:
        passes.append(current)
    return passes
