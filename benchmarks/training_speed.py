"""Training throughput: the job's training loop against a plain PyTorch loop, same run.

Both fine-tune all-MiniLM-L6-v2 with a fresh head on the same CLINC150 rows, in the same
shuffled order, with the same batch size and max_length, on the same device. The plain loop is
the minimum (tokenize, forward, backward, AdamW step); the job loop adds the warm-up schedule,
gradient clipping, mixed precision on CUDA and progress callbacks. The job loop runs twice: on
the plain loop's shuffled batches, and on its default length-grouped batches (less padding).

    python -m benchmarks.training_speed --rows 2048 --batch-size 32
"""

import argparse
import time

import torch

from app.core.config import get_settings
from app.ml.arguments import FullFineTuneArguments
from app.ml.checkpoint import TrainingState
from app.ml.data import LabeledExample, encode_targets, label_names
from app.ml.device import DevicePlan, plan_device
from app.ml.loading import load_classifier, load_tokenizer
from app.ml.trainer import FullFineTuner
from benchmarks.common import read_split


def plain_loop(
    path: str, rows: list[LabeledExample], batch_size: int, max_length: int, plan: DevicePlan
) -> float:
    labels = label_names(rows)
    ids = {label: index for index, label in enumerate(labels)}
    tokenizer = load_tokenizer(path)
    model = load_classifier(path, labels).to(plan.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(42)).tolist()
    started = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        inputs = tokenizer(
            [r.text for r in batch],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(plan.device)
        targets = torch.tensor([ids[r.label] for r in batch], device=plan.device)
        loss = torch.nn.functional.cross_entropy(model(**inputs).logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _synchronize(plan)
    return len(rows) / (time.perf_counter() - started)


def job_loop(
    path: str,
    rows: list[LabeledExample],
    batch_size: int,
    max_length: int,
    plan: DevicePlan,
    group_by_length: bool,
) -> float:
    args = FullFineTuneArguments(
        epochs=1,
        batch_size=batch_size,
        max_length=max_length,
        pooling="cls",
        group_by_length=group_by_length,
    )
    trainer = FullFineTuner(args, base_model_path=path, device=plan)
    labels = label_names(rows)
    model, passes = trainer._prepare(labels, False)
    optimization = trainer._optimization(model, len(rows))
    targets = encode_targets(rows, labels, multi_label=False)
    started = time.perf_counter()
    lengths = passes.token_lengths([row.text for row in rows]) if group_by_length else []
    trainer._train_epoch(model, passes, rows, targets, optimization, TrainingState(), 1, lengths)
    _synchronize(plan)
    return len(rows) / (time.perf_counter() - started)


def _synchronize(plan: DevicePlan) -> None:
    if plan.device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    settings = get_settings()
    path = settings.registered_base_models[settings.default_base_model]
    every = read_split("train")
    step = max(1, len(every) // args.rows)
    rows = [LabeledExample.of(r["text"], r["label"]) for r in every[::step][: args.rows]]
    plan = plan_device(settings.device)
    results: dict[str, list[float]] = {
        "plain PyTorch loop": [],
        "adaptd job loop, shuffled batches": [],
        "adaptd job loop, length-grouped batches": [],
    }
    for _ in range(args.repeats):
        results["plain PyTorch loop"].append(
            plain_loop(path, rows, args.batch_size, args.max_length, plan)
        )
        for grouped, name in ((False, "shuffled"), (True, "length-grouped")):
            results[f"adaptd job loop, {name} batches"].append(
                job_loop(path, rows, args.batch_size, args.max_length, plan, grouped)
            )
    plain = max(results["plain PyTorch loop"])
    print(
        f"\n{len(rows)} CLINC150 rows, batch {args.batch_size}, max_length {args.max_length}, "
        f"device {plan.description}, best of {args.repeats}\n"
    )
    print("| loop | samples/s | vs plain |")
    print("|---|---|---|")
    for name, speeds in results.items():
        print(f"| {name} | {max(speeds):.1f} | {max(speeds) / plain:.2f}x |")


if __name__ == "__main__":
    main()
