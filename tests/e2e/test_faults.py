"""Faults injected into a real deployment: each test prints and checks its tally of jobs
submitted, succeeded, run twice and lost."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import Settings
from app.core.queue import TRAIN_TASK, TRAINING_QUEUE, create_celery
from app.models import JobStatus
from tests.e2e.deployment import Deployment, deployment
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e

CLEAN = {"run_twice": 0, "lost": 0}


@pytest.fixture
def cluster(postgres_settings: Settings, tmp_path: Path) -> Iterator[Deployment]:
    with deployment(postgres_settings, tmp_path) as running:
        yield running


def long_job(cluster: Deployment, epochs: int = 4) -> str:
    examples = [
        {"text": f"{label} example number {i}", "label": label}
        for label in ("alpha", "beta", "gamma")
        for i in range(150)
    ]
    dataset = cluster.client.post(
        "/v1/datasets", headers=cluster.team.headers, json={"examples": examples}
    ).json()
    job: str = cluster.client.post(
        "/v1/jobs",
        headers=cluster.team.headers,
        json={
            "dataset_id": dataset["id"],
            "base_model": "tiny-bert",
            "hyperparameters": {"epochs": epochs, "batch_size": 1, "learning_rate": 1e-3},
        },
    ).json()["id"]
    return job


def report(fault: str, tally: dict[str, int]) -> None:
    print(
        f"\n| {fault} | {tally['submitted']} | {tally['succeeded']} | "
        f"{tally['run_twice']} | {tally['lost']} |"
    )


def training_pid(worker_pid: int) -> int:
    """The worker's training process: the child of the fork server the worker started."""
    for server in _children(worker_pid):
        if b"forkserver" in Path(f"/proc/{server}/cmdline").read_bytes():
            trainers = _children(server)
            if trainers:
                return trainers[0]
    raise AssertionError(f"no training process under worker {worker_pid}")


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def events(cluster: Deployment, job_id: str) -> list[str]:
    answer = cluster.client.get(
        f"/v1/jobs/{job_id}/events?limit=500", headers=cluster.team.headers
    ).json()
    return [event["message"] for event in answer["data"]]


def two_workers_one_running(cluster: Deployment) -> tuple[str, subprocess.Popen[bytes]]:
    """A long job in its second epoch on one of two workers (both started at once, so that
    the other is ready when the fault comes): the job's id and the worker running it."""
    cluster.start_worker()
    cluster.start_worker()
    job_id = long_job(cluster)
    wait_for(lambda: cluster.job(job_id).progress.get("epoch", 0) >= 2, 120, "epoch 2")
    return job_id, cluster.worker_of(job_id)


def kill_a_worker_mid_job(cluster: Deployment) -> str:
    """A long job whose worker is SIGKILLed in its second epoch while another waits; the
    job's id, once the job has ended."""
    job_id, running = two_workers_one_running(cluster)
    cluster.signal_worker(running, signal.SIGKILL)
    cluster.wait_until_ended([job_id])
    return job_id


def test_worker_killed_mid_training_job_completes_once_from_checkpoint(
    cluster: Deployment,
) -> None:
    job_id = kill_a_worker_mid_job(cluster)

    tally = cluster.tally([job_id])
    report("SIGKILL the worker mid-training", tally)
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    assert cluster.job(job_id).attempt == 2
    assert any(m.startswith("resumed from the checkpoint at step") for m in events(cluster, job_id))


def test_training_process_killed_job_completes_once(cluster: Deployment) -> None:
    worker = cluster.start_worker()
    job_id = long_job(cluster)
    wait_for(lambda: cluster.job(job_id).progress.get("epoch", 0) >= 2, 120, "epoch 2")

    os.kill(training_pid(worker.pid), signal.SIGKILL)
    cluster.wait_until_ended([job_id])

    tally = cluster.tally([job_id])
    report("SIGKILL only the training process", tally)
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    assert cluster.job(job_id).attempt == 2


@pytest.mark.parametrize("fault", ["restart", "flushall"])
def test_broker_lost_with_jobs_queued_and_running_all_complete(
    cluster: Deployment, fault: str
) -> None:
    cluster.start_worker()
    job_ids = [long_job(cluster, epochs=1) for _ in range(3)]
    wait_for(lambda: cluster.job(job_ids[0]).status == JobStatus.running, 120, "a running job")

    if fault == "restart":
        cluster.broker.stop()
        time.sleep(1)
        cluster.broker.start()
    else:
        cluster.broker.flushall()
    cluster.wait_until_ended(job_ids, timeout=300)

    tally = cluster.tally(job_ids)
    report(
        f"Redis {'restarted' if fault == 'restart' else 'FLUSHALL'} with jobs queued and running",
        tally,
    )
    assert tally == {"submitted": 3, "succeeded": 3, **CLEAN}


def test_same_job_delivered_ten_times_trains_once(cluster: Deployment) -> None:
    job_id = long_job(cluster, epochs=1)
    celery = create_celery(cluster.settings)
    for _ in range(9):
        celery.send_task(TRAIN_TASK, args=[job_id], queue=TRAINING_QUEUE)

    cluster.start_worker()
    cluster.wait_until_ended([job_id])

    tally = cluster.tally([job_id])
    report("the same job id delivered ten times", tally)
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    assert cluster.job(job_id).attempt == 1


def test_paused_worker_past_its_lease_publishes_nothing(cluster: Deployment) -> None:
    job_id, stale = two_workers_one_running(cluster)
    stale_worker = cluster.job(job_id).worker

    cluster.signal_worker(stale, signal.SIGSTOP)
    wait_for(lambda: cluster.job(job_id).attempt == 2, 120, "a second attempt")
    cluster.signal_worker(stale, signal.SIGCONT)
    cluster.wait_until_ended([job_id])

    tally = cluster.tally([job_id])
    report("SIGSTOP a worker past its lease, then SIGCONT", tally)
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    assert cluster.job(job_id).worker != stale_worker


def test_worker_shutdown_pauses_the_job_at_a_step_and_another_resumes_it(
    cluster: Deployment,
) -> None:
    stopping = cluster.start_worker()
    job_id = long_job(cluster)
    wait_for(lambda: cluster.job(job_id).progress.get("step", 0) >= 100, 120, "step 100")

    cluster.start_worker()
    stopping.send_signal(signal.SIGTERM)
    stopping.wait(60)
    cluster.wait_until_ended([job_id])

    tally = cluster.tally([job_id])
    messages = events(cluster, job_id)
    report("SIGTERM (warm shutdown) of the worker mid-epoch", tally)
    assert stopping.returncode == 0
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    assert any(m.startswith("paused at step") for m in messages), messages
    assert any(m.startswith("resumed from the checkpoint at step") for m in messages)
    assert cluster.job(job_id).attempt == 1
