"""Serving speed and memory, in one run on one machine.

Table 1: (a) the raw forward pass of a `full` MiniLM model in-process at its best batch size,
(b) a naive endpoint with one forward pass per request, (c) adaptd over HTTP with
single-text requests at concurrency 1, 8, 32 and 64.
Table 2: one process serving 50 `frozen` models on one shared base against one serving a
single `full` model: resident memory, and throughput with requests spread over every model."""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from benchmarks.common import (
    adaptd_server,
    free_port,
    read_split,
    resident_megabytes,
    wait_for_job,
    wait_until_ready,
)

CONCURRENCY = (1, 8, 32, 64)
RAW_BATCH_SIZES = (1, 8, 16, 32, 64, 128)
SERVE_ONLY = {"ADAPTD_EMBEDDED_RUNNER": "false"}


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per load level")
    parser.add_argument("--models", type=int, default=50, help="frozen models in table 2")
    parser.add_argument("--intents", type=int, default=20)
    parser.add_argument("--work-dir", type=Path, help="keep data and logs here (default: temp)")
    args = parser.parse_args()

    texts = [row["text"] for row in read_split("test") if row["label"] != "oos"]
    random.Random(0).shuffle(texts)
    with tempfile.TemporaryDirectory(prefix="adaptd-serving-") as scratch:
        data_dir = (args.work_dir or Path(scratch)) / "data"
        full_id, frozen_ids = _train_models(data_dir, args.intents, args.models)
        full_dir = data_dir / "artifacts" / full_id
        raw_rate, raw_single_ms, raw_batch = _raw_forward(full_dir, texts)
        naive = {level: _naive_load(full_dir, texts, level, args.seconds) for level in CONCURRENCY}
        with adaptd_server(data_dir, **SERVE_ONLY) as server:
            adaptd = {
                level: _http_load(
                    server.base_url, server.api_key, [full_id], texts, level, args.seconds
                )
                for level in CONCURRENCY
            }
        _print_speed_table(raw_rate, raw_single_ms, raw_batch, naive, adaptd)
        _print_memory_table(data_dir, full_id, frozen_ids, texts, args.seconds)


def _train_models(data_dir: Path, intents: int, frozen: int) -> tuple[str, list[str]]:
    """A `full` model and `frozen` models with different seeds, on a CLINC150 subset."""
    rows = read_split("train")
    chosen = sorted({row["label"] for row in rows if row["label"] != "oos"})[:intents]
    subset = [row for row in rows if row["label"] in chosen]
    with adaptd_server(data_dir) as server, server.client() as client:
        dataset = client.post(
            "/v1/datasets", json={"name": "clinc-subset", "examples": subset}
        ).json()["id"]
        full = _job(client, dataset, "full", {"epochs": 1, "batch_size": 32, "max_length": 64})
        frozen_ids = [
            _job(client, dataset, "frozen", {"epochs": 20, "max_length": 64, "seed": seed})
            for seed in range(frozen)
        ]
    return full, frozen_ids


def _job(
    client: httpx.Client, dataset: str, strategy: str, hyperparameters: dict[str, object]
) -> str:
    job = client.post(
        "/v1/jobs",
        json={"dataset_id": dataset, "strategy": strategy, "hyperparameters": hyperparameters},
    )
    job.raise_for_status()
    finished = wait_for_job(client, job.json()["id"])
    if finished["status"] != "succeeded":
        raise RuntimeError(f"{strategy} job failed: {finished}")
    print(f"  trained {strategy} model {finished['model_id']}", file=sys.stderr)
    return str(finished["model_id"])


def _raw_forward(model_dir: Path, texts: list[str]) -> tuple[float, float, int]:
    """Best texts/s over batch sizes (tokenizing included), and one text's p50 latency."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def forward(batch: Sequence[str]) -> None:
        encoded = tokenizer(list(batch), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            model(**encoded).logits.softmax(-1)

    rates = {}
    for size in RAW_BATCH_SIZES:
        forward(texts[:size])
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < 3:
            forward(texts[count % 2000 : count % 2000 + size])
            count += size
        rates[size] = count / (time.perf_counter() - started)
    single = [_timed(forward, [text]) for text in texts[:300]]
    best = max(rates, key=lambda size: rates[size])
    return rates[best], statistics.median(single) * 1000, best


def _timed(function: Callable[[Sequence[str]], None], batch: Sequence[str]) -> float:
    started = time.perf_counter()
    function(batch)
    return time.perf_counter() - started


def _naive_load(model_dir: Path, texts: list[str], level: int, seconds: float) -> Load:
    with _naive_server(model_dir) as base:
        return _http_load(base, "", [""], texts, level, seconds, path="/predict")


@contextmanager
def _naive_server(model_dir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.naive_server:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "NAIVE_MODEL_DIR": str(model_dir)},
        start_new_session=True,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def _http_load(
    base: str,
    api_key: str,
    model_ids: list[str],
    texts: list[str],
    level: int,
    seconds: float,
    path: str = "/v1/models/{model_id}/predict",
) -> Load:
    """`level` clients, each sending one single-text request after the other; the first
    second warms up and is not counted. aiohttp, because on a small machine the load
    generator shares the cores with the server, and httpx costs several times its CPU."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    latencies: list[float] = []
    warm_until = time.perf_counter() + 1.0
    stop_at = warm_until + seconds

    async def client_loop(client: aiohttp.ClientSession, number: int) -> None:
        rng = random.Random(number)
        while time.perf_counter() < stop_at:
            model_id = rng.choice(model_ids)
            started = time.perf_counter()
            body = {"inputs": [rng.choice(texts)]}
            async with client.post(path.format(model_id=model_id), json=body) as answer:
                answer.raise_for_status()
                await answer.read()
            if started >= warm_until:
                latencies.append(time.perf_counter() - started)

    async def all_clients() -> None:
        connector = aiohttp.TCPConnector(limit=level)
        async with aiohttp.ClientSession(base, headers=headers, connector=connector) as client:
            await asyncio.gather(*(client_loop(client, number) for number in range(level)))

    asyncio.run(all_clients())
    latencies.sort()
    return Load(
        requests_per_second=len(latencies) / seconds,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


def _print_speed_table(
    raw_rate: float,
    raw_single_ms: float,
    raw_batch: int,
    naive: dict[int, Load],
    adaptd: dict[int, Load],
) -> None:
    print(
        f"\n(a) raw forward pass in-process: {raw_rate:.0f} texts/s at batch {raw_batch}; "
        f"one text alone: p50 {raw_single_ms:.1f} ms\n"
    )
    print("| setup | concurrency | requests/s | p50 ms | p99 ms | vs (a) raw | vs (b) naive |")
    print("|---|---|---|---|---|---|---|")
    for level in CONCURRENCY:
        print(f"| (b) naive endpoint | {level} | {_row(naive[level], raw_rate, naive[level])}")
    for level in CONCURRENCY:
        print(f"| (c) adaptd | {level} | {_row(adaptd[level], raw_rate, naive[level])}")
    one = adaptd[1]
    print(
        f"\nadaptd at concurrency 1: p50 {one.p50_ms:.1f} ms, "
        f"{one.p50_ms - raw_single_ms:+.1f} ms over one raw forward pass"
    )


def _row(load: Load, raw_rate: float, naive: Load) -> str:
    return (
        f"{load.requests_per_second:.0f} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | "
        f"{load.requests_per_second / raw_rate:.2f}x | "
        f"{load.requests_per_second / naive.requests_per_second:.2f}x |"
    )


def _print_memory_table(
    data_dir: Path, full_id: str, frozen_ids: list[str], texts: list[str], seconds: float
) -> None:
    rows = []
    for name, model_ids in [
        ("one `full` model", [full_id]),
        (f"{len(frozen_ids)} `frozen` models, one base", frozen_ids),
    ]:
        with adaptd_server(
            data_dir, **SERVE_ONLY, ADAPTD_MODEL_CACHE_SIZE=str(len(frozen_ids) + 1)
        ) as server:
            idle = resident_megabytes(server.pid)
            load = _http_load(server.base_url, server.api_key, model_ids, texts, 32, seconds)
            rows.append((name, idle, resident_megabytes(server.pid), load))
    print(
        "\n| server | RSS idle MB | RSS serving MB | added by the models MB "
        "| requests/s at 32, spread over every model | p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, idle, serving, load in rows:
        print(
            f"| {name} | {idle:.0f} | {serving:.0f} | {serving - idle:.0f} | "
            f"{load.requests_per_second:.0f} | {load.p50_ms:.1f} | {load.p99_ms:.1f} |"
        )


if __name__ == "__main__":
    main()
