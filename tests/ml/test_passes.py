import torch

from app.ml.batching import token_budget_passes
from app.ml.device import DevicePlan
from app.ml.predictor import PassLimits


def test_passes_are_sorted_by_length_and_hold_every_text_once() -> None:
    lengths = [9, 3, 7, 3, 12, 5, 1]

    passes = token_budget_passes(lengths, max_texts=3)

    assert passes == [[6, 1, 3], [5, 2, 0], [4]]


def test_a_pass_padded_to_its_longest_stays_within_the_token_budget() -> None:
    lengths = [10, 10, 10, 40, 40, 200]

    passes = token_budget_passes(lengths, max_texts=16, max_tokens=80)

    assert passes == [[0, 1, 2], [3, 4], [5]]
    for chunk in passes[:-1]:
        assert len(chunk) * max(lengths[i] for i in chunk) <= 80


def test_gpu_passes_are_larger_than_cpu_ones_and_settings_override_both() -> None:
    cpu = PassLimits.for_device(DevicePlan(torch.device("cpu"), None))
    gpu = PassLimits.for_device(DevicePlan(torch.device("cuda"), torch.bfloat16))

    assert cpu.max_texts < gpu.max_texts
    assert cpu.max_tokens < gpu.max_tokens
    assert PassLimits.for_device(DevicePlan(torch.device("cpu"), None), 4, 64) == PassLimits(4, 64)
