"""Where the API process spends its CPU while serving predictions: py-spy samples a running
`adaptd serve` under load, and each sample is charged to the code it was in (its innermost
frame, grouped by package) and to the thread it ran on.

    python -m benchmarks.predict_profile --data-dir DIR [--model ID] [--texts 1]

DIR is a data directory that holds a trained model (the serving benchmark's `--work-dir`
leaves one); without `--model` the first model listed is served. The server is pinned to
core 0 and the load generator to the other cores (`taskset`) where the machine has more than
one.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from benchmarks.common import accelerate, adaptd_server, read_split
from benchmarks.load import closed_loop

IDLE_FRAMES = ("Condition.wait (", "_worker (concurrent/futures/thread.py:81)")
"""Innermost frames of threads waiting for work (left out of the shares)."""
NATIVE_EVENT_LOOP = "Runner.run (asyncio/runners.py"
CATEGORIES = [
    ("model forward (torch)", ("torch/", "onnxruntime/")),
    ("tokenizer", ("tokenizers/", "tokenization_utils")),
    ("transformers", ("transformers/",)),
    ("database (sqlalchemy, driver)", ("sqlalchemy/", "sqlite3", "psycopg")),
    ("validation and JSON (pydantic)", ("pydantic/", "pydantic_core", "json/")),
    ("routing and dependencies (fastapi)", ("fastapi/",)),
    ("ASGI and middleware (starlette)", ("starlette/",)),
    ("HTTP server (uvicorn, h11, httptools)", ("uvicorn/", "h11/", "httptools")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("asyncio event loop", ("asyncio/", "uvloop")),
    ("adaptd serving", ("app/serving/",)),
    ("adaptd API", ("app/api/", "app/core/", "app/services/")),
    ("adaptd models (predictor)", ("app/ml/",)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--texts", type=int, default=1, help="texts per request")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--accelerate", help="serve the model on this acceleration method")
    parser.add_argument("--samples-out", type=Path, help="keep py-spy's raw samples here")
    args = parser.parse_args()
    if shutil.which("py-spy") is None and not Path(sys.executable).with_name("py-spy").exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    texts = [row["text"] for row in read_split("test")]
    random.Random(0).shuffle(texts)
    server_cores, client_cores = _cores()
    runner = "true" if args.accelerate else "false"
    env = {"ADAPTD_EMBEDDED_RUNNER": runner, "ADAPTD_TORCH_THREADS": str(len(server_cores))}
    with (
        adaptd_server(args.data_dir, cpus=server_cores, **env) as server,
        server.client() as client,
    ):
        model = args.model or client.get("/v1/models").json()["data"][0]["id"]
        if args.accelerate:
            accelerate(client, model, args.accelerate)
        client.post(f"/v1/models/{model}/predict", json={"inputs": texts[:1]}).raise_for_status()
        with tempfile.TemporaryDirectory() as scratch:
            samples = Path(scratch) / "samples.txt"
            load = threading.Thread(
                target=closed_loop,
                kwargs={
                    "base": server.base_url,
                    "api_key": server.api_key,
                    "model_ids": [model],
                    "texts": texts,
                    "level": args.concurrency,
                    "seconds": args.seconds + 2,
                    "texts_per_request": args.texts,
                    "cpus": client_cores,
                },
            )
            load.start()
            _record(server.pid, args.seconds, samples)
            load.join()
            if args.samples_out:
                shutil.copy(samples, args.samples_out)
            _report(samples.read_text(), args.top, args.concurrency, args.texts)


def _cores() -> tuple[list[int], list[int]]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) == 1:
        return cores, cores
    return cores[:1], cores[1:]


def _record(pid: int, seconds: float, out: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "--output",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _report(raw: str, top: int, concurrency: int, texts: int) -> None:
    by_category: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    by_frame: Counter[str] = Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread, leaf = frames[0], frames[-1]
        if leaf.startswith(IDLE_FRAMES):
            idle += count
            continue
        total += count
        by_thread[_thread_name(thread)] += count
        by_category[_category(frames)] += count
        by_frame[leaf] += count
    print(
        f"\n{total} samples of the server at concurrency {concurrency}, {texts} text(s) "
        f"each ({idle} more of threads waiting for work left out)\n"
    )
    print("| where (innermost frame) | share of samples |\n|---|---|")
    for name, count in by_category.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    print("\n| thread | share of samples |\n|---|---|")
    for name, count in by_thread.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    print("\n| innermost frame | share of samples |\n|---|---|")
    for name, count in by_frame.most_common(top):
        print(f"| `{name}` | {100 * count / total:.1f} % |")


def _thread_name(frame: str) -> str:
    """`thread (7391): adaptd-inference_0` -> `adaptd-inference`."""
    name = frame.partition("): ")[2] or frame
    return name.rstrip("_0123456789") or name


def _category(frames: list[str]) -> str:
    """The category of the innermost frame that has one (C extensions show no file)."""
    if frames[-1].startswith(NATIVE_EVENT_LOOP):
        return "event loop in C (uvloop: sockets, HTTP parsing, waiting)"
    for frame in reversed(frames[1:]):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return "other"


if __name__ == "__main__":
    main()
