"""Helpers the benchmarks share: a real `adaptd serve`, CLINC150 files and its scoring."""

import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sklearn.metrics import f1_score

CLINC150 = Path(
    os.environ.get(
        "ADAPTD_CLINC150", Path(__file__).resolve().parents[2] / "shared/datasets/clinc150"
    )
)
OUT_OF_SCOPE = "oos"


def read_split(name: str) -> list[dict[str, str]]:
    with (CLINC150 / f"{name}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


@dataclass(frozen=True)
class Scores:
    in_scope_accuracy: float
    oos_recall: float
    macro_f1: float


def score(true: list[str], predicted: list[str]) -> Scores:
    pairs = list(zip(true, predicted, strict=True))
    in_scope = [(t, p) for t, p in pairs if t != OUT_OF_SCOPE]
    oos = [(t, p) for t, p in pairs if t == OUT_OF_SCOPE]
    return Scores(
        in_scope_accuracy=sum(t == p for t, p in in_scope) / len(in_scope),
        oos_recall=sum(p == OUT_OF_SCOPE for _, p in oos) / len(oos) if oos else float("nan"),
        macro_f1=float(f1_score(true, predicted, average="macro", zero_division=0)),
    )


@contextmanager
def running_adaptd(data_dir: Path) -> Iterator[httpx.Client]:
    """`adaptd serve` on an empty data directory, with a client holding its first API key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (data_dir.parent / "serve.log").open("wb")
    env = {**os.environ, "ADAPTD_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        key = (data_dir / "api-key").read_text().strip()
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600
        ) as client:
            yield client
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
        log.close()


def wait_for_job(client: httpx.Client, job_id: str) -> dict[str, object]:
    last_step = None
    while True:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        progress = job.get("progress") or {}
        step = progress.get("step") if isinstance(progress, dict) else None
        if step and step != last_step:
            print(
                f"  {job_id}: step {step}/{progress['total_steps']} "  # type: ignore[index]
                f"epoch {progress['epoch']} eta {progress['eta_seconds']}s",
                file=sys.stderr,
            )
            last_step = step
        time.sleep(5)


def predict_all(
    client: httpx.Client, model_id: str, texts: list[str], batch: int = 256
) -> list[str]:
    labels: list[str] = []
    for start in range(0, len(texts), batch):
        answer = client.post(
            f"/v1/models/{model_id}/predict",
            json={"inputs": texts[start : start + batch], "top_k": 1},
        )
        answer.raise_for_status()
        labels.extend(p["label"] for p in answer.json()["predictions"])
    return labels
