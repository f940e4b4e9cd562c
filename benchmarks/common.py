"""Helpers the benchmarks share: a real `adaptd serve`, CLINC150 files and its scoring."""

import csv
import io
import os
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int
    api_key: str

    def client(self, timeout: float = 600) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)


@contextmanager
def adaptd_server(data_dir: Path, cpus: list[int] | None = None, **env: str) -> Iterator[Server]:
    """`adaptd serve` on `data_dir` (created and bootstrapped when empty), with extra
    environment settings, until the block ends; with `cpus`, pinned to those cores."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / "serve.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, "ADAPTD_DATA_DIR": str(data_dir), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/readyz", process)
        key = (data_dir / "api-key").read_text().strip()
        yield Server(base, process.pid, key)
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
        log.close()


@contextmanager
def running_adaptd(data_dir: Path) -> Iterator[httpx.Client]:
    """`adaptd serve` on an empty data directory, with a client holding its first API key."""
    with adaptd_server(data_dir) as server, server.client() as client:
        yield client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within two minutes")


def resident_megabytes(pid: int) -> float:
    """The process's resident set size (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class ThreadTimes:
    """CPU seconds a process has spent, user and system: on its main thread (the event loop of
    a server) and on every other thread it has now (the inference pass, worker threads)."""

    main: float
    others: float

    @classmethod
    def of(cls, pid: int) -> "ThreadTimes":
        ticks = os.sysconf("SC_CLK_TCK")
        main = others = 0.0
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except FileNotFoundError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / ticks
            if task.name == str(pid):
                main += seconds
            else:
                others += seconds
        return cls(main, others)

    def since(self, earlier: "ThreadTimes") -> "ThreadTimes":
        return ThreadTimes(self.main - earlier.main, self.others - earlier.others)


def wait_for_job(client: httpx.Client, job_id: str) -> dict[str, object]:
    last_step = None
    while True:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        progress = job.get("progress")
        step = progress.get("step") if isinstance(progress, dict) else None
        if isinstance(progress, dict) and step and step != last_step:
            epoch = f" epoch {progress['epoch']}" if progress.get("epoch") else ""
            print(
                f"  {job_id}: step {step}/{progress['total_steps']}{epoch} "
                f"eta {progress.get('eta_seconds')}s",
                file=sys.stderr,
            )
            last_step = step
        time.sleep(5)


def scoring_result(client: httpx.Client, answer: httpx.Response) -> dict[str, Any]:
    """The result of the scoring job `answer` queued (an evaluation or an acceleration),
    once a worker (the server's embedded runner) has run it."""
    answer.raise_for_status()
    job = wait_for_job(client, answer.json()["id"])
    if job["status"] != "succeeded":
        raise SystemExit(f"job {job['id']} ended {job['status']}: {job['error']}")
    result: dict[str, Any] = job["result"]  # type: ignore[assignment]
    return result


def accelerate(
    client: httpx.Client, model_id: str, method: str, max_accuracy_drop: float = 1.0
) -> dict[str, Any]:
    """Serve the model on `method`; the measurement."""
    body = {"method": method, "max_accuracy_drop": max_accuracy_drop}
    return scoring_result(client, client.put(f"/v1/models/{model_id}/acceleration", json=body))


def evaluate(client: httpx.Client, model_id: str, dataset_id: str) -> dict[str, Any]:
    """Score the model on the dataset; the report."""
    answer = client.post(f"/v1/models/{model_id}/evaluate", json={"dataset_id": dataset_id})
    scoring_result(client, answer)
    evaluation = client.get(
        f"/v1/models/{model_id}/evaluation", params={"dataset_id": dataset_id}
    ).json()
    report: dict[str, Any] = evaluation["report"]
    return report


def predict_all(
    client: httpx.Client,
    model_id: str,
    texts: list[str],
    batch: int = 256,
    *,
    abstaining: bool = True,
) -> list[str]:
    """The label given to each text; an abstention counts as out of scope. With `abstaining`
    off, the model's abstain threshold is lifted and every text gets its best label."""
    labels: list[str] = []
    lifted: dict[str, Any] = {} if abstaining else {"abstain_threshold": None}
    for start in range(0, len(texts), batch):
        answer = client.post(
            f"/v1/models/{model_id}/predict",
            json={"inputs": texts[start : start + batch], "top_k": 1} | lifted,
        )
        answer.raise_for_status()
        labels.extend(p["label"] or OUT_OF_SCOPE for p in answer.json()["predictions"])
    return labels


def per_label(rows: list[dict[str, str]], count: int, seed: int) -> list[dict[str, str]]:
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)
    rng = random.Random(seed)
    return [row for label in sorted(by_label) for row in rng.sample(by_label[label], count)]


def upload_multi_label(
    client: httpx.Client, name: str, examples: list[tuple[str, list[str]]]
) -> str:
    rows = [{"text": text, "labels": labels} for text, labels in examples]
    answer = client.post("/v1/datasets", json={"name": name, "examples": rows})
    answer.raise_for_status()
    return str(answer.json()["id"])


def upload_csv(client: httpx.Client, name: str, rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["text", "label"])
    writer.writeheader()
    writer.writerows(rows)
    answer = client.post(
        "/v1/datasets", files={"file": (f"{name}.csv", buffer.getvalue(), "text/csv")}
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


JOINERS = (". ", " and ", "; also ", ", then ")


def multi_label_split(name: str, seed: int = 0) -> list[tuple[str, list[str]]]:
    """A multi-label set made from CLINC150: of the in-scope utterances half stay single (one
    label) and the rest are joined in pairs of different intents that carry both labels; the
    out-of-scope utterances carry no label."""
    split = read_split(name)
    rows = [row for row in split if row["label"] != OUT_OF_SCOPE]
    rng = random.Random(seed)
    rng.shuffle(rows)
    half = len(rows) // 2
    examples = [(row["text"], [row["label"]]) for row in rows[:half]]
    rest = rows[half:]
    for first, second in zip(rest[0::2], rest[1::2], strict=False):
        if first["label"] == second["label"]:
            examples.append((first["text"], [first["label"]]))
            continue
        joined = f"{first['text']}{rng.choice(JOINERS)}{second['text']}"
        examples.append((joined, sorted({first["label"], second["label"]})))
    examples.extend((row["text"], []) for row in split if row["label"] == OUT_OF_SCOPE)
    rng.shuffle(examples)
    return examples


def multi_label_subsample(
    examples: list[tuple[str, list[str]]], per_label: int, seed: int
) -> list[tuple[str, list[str]]]:
    """At most `per_label` examples that carry each label (an example counts for every label it
    carries), and as many that carry none."""
    rng = random.Random(seed)
    counts: dict[str, int] = defaultdict(int)
    kept = []
    for text, labels in rng.sample(examples, len(examples)):
        carried = labels or [""]
        if any(counts[label] < per_label for label in carried):
            kept.append((text, labels))
            for label in carried:
                counts[label] += 1
    return kept
