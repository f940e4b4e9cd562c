"""Processes that share nothing but PostgreSQL, Redis and an S3 server: two API replicas and
workers, each on a data directory of its own. Jobs from two teams go through alternating
replicas; a worker is killed mid-job; the store goes away during training and publication."""

import hashlib
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from tests.e2e.deployment import Deployment, deployment, over_object_store
from tests.e2e.processes import wait_for
from tests.e2e.test_faults import CLEAN, events, kill_a_worker_mid_job, long_job, report
from tests.factories import TeamCredentials, create_dataset, create_job, make_team
from tests.s3_server import S3Server

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 30.0
JOBS = int(os.environ.get("ADAPTD_TEST_SCALE_OUT_JOBS", "6"))  # 30 for the figures
STRATEGIES = [("full", "lora", "frozen")[index % 3] for index in range(JOBS)]
RUNS = {
    "full": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3},
    "lora": {"epochs": 2, "batch_size": 4, "r": 4, "alpha": 8},
    "frozen": {"epochs": 5},
}


@pytest.fixture
def cluster(
    postgres_settings: Settings, tmp_path: Path, s3_server: S3Server
) -> Iterator[Deployment]:
    with deployment(
        postgres_settings, tmp_path, s3_server.environment(s3_server.new_bucket())
    ) as running:
        yield running


def second_replica(cluster: Deployment) -> TestClient:
    settings = over_object_store(cluster.settings, cluster.store_env, "api-1")
    return TestClient(create_app(settings))


def contents(archive: bytes) -> dict[str, str]:
    """Each file of a downloaded .tar.gz by name, as its sha256."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            member.name: hashlib.sha256(tar.extractfile(member).read()).hexdigest()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }


def test_replicas_serve_what_workers_on_other_hosts_trained(cluster: Deployment) -> None:
    with new_session(cluster.settings) as session:
        other = make_team(session, "globex")
    cluster.start_worker("--devices", "cpu,cpu")  # one host, two training processes
    cluster.start_worker()
    cluster.wait_for_ready_workers(3)  # so that the jobs can spread over all of them
    with second_replica(cluster) as replica:
        replicas = [cluster.client, replica]
        submitted: list[tuple[TeamCredentials, str]] = []
        for index, strategy in enumerate(STRATEGIES):
            team = (cluster.team, other)[index % 2]
            api = replicas[index % 2]
            job = create_job(
                api,
                team,
                create_dataset(api, team),
                strategy=strategy,
                hyperparameters=RUNS[strategy],
            )
            assert job.status_code == 202, job.text
            submitted.append((team, job.json()["id"]))
        job_ids = [job_id for _, job_id in submitted]
        cluster.wait_until_ended(job_ids, timeout=240 + 20 * JOBS)

        tally = cluster.tally(job_ids)
        report(f"{len(job_ids)} jobs, 2 teams, 2 replicas, 3 workers on 2 hosts", tally)
        assert tally == {"submitted": len(STRATEGIES), "succeeded": len(STRATEGIES), **CLEAN}
        ran_on = {cluster.job(job_id).worker for job_id in job_ids}
        print(f"\nran on {sorted(map(str, ran_on))}")
        assert len(ran_on) >= 2
        for team, job_id in submitted:
            model_id = cluster.job(job_id).model_id
            answers = [
                api.post(
                    f"/v1/models/{model_id}/predict",
                    headers=team.headers,
                    json={"inputs": ["hello there", "goodbye"]},
                )
                for api in replicas
            ]
            assert [answer.status_code for answer in answers] == [200, 200]
            assert answers[0].json()["predictions"] == answers[1].json()["predictions"]
            downloads = [
                api.get(f"/v1/models/{model_id}/download", headers=team.headers).content
                for api in replicas
            ]
            assert contents(downloads[0]) == contents(downloads[1])


def test_a_worker_killed_mid_job_is_resumed_on_another_host_from_the_stored_checkpoint(
    cluster: Deployment,
) -> None:
    # the new worker's data directory is empty: the checkpoint can only come from the store
    job_id = kill_a_worker_mid_job(cluster)

    tally = cluster.tally([job_id])
    report("SIGKILL a worker, another host resumes", tally)
    assert tally == {"submitted": 1, "succeeded": 1, **CLEAN}
    resumed = [m for m in events(cluster, job_id) if m.startswith("resumed from the checkpoint")]
    assert resumed, events(cluster, job_id)
    step = int(resumed[0].split("at step ")[1].split()[0])
    assert step > 0
    print(f"\nresumed at step {step}")


def test_jobs_wait_while_the_store_is_down_and_none_is_lost_or_half_published(
    cluster: Deployment, s3_server: S3Server
) -> None:
    # a store call retries for 5 s; past that, the job goes back to the queue and resumes. A
    # short window, so that a call the outage meets anywhere in its first 25 s is handed back
    # however fast the machine trains (with 12 s, a slow machine's first call came too late)
    cluster.start_worker(environment={"ADAPTD_ARTIFACT_STORE_RETRY_SECONDS": "5"})
    job_ids = [long_job(cluster, epochs=3) for _ in range(2)]
    wait_for(lambda: cluster.job(job_ids[0]).progress.get("epoch", 0) >= 1, 120, "epoch 1")

    s3_server.stop()
    outage = threading.Timer(OUTAGE_SECONDS, s3_server.start)
    outage.start()
    try:
        cluster.wait_until_ended(job_ids, timeout=300)
    finally:
        outage.join()

    tally = cluster.tally(job_ids)
    report(f"object store down for {OUTAGE_SECONDS:.0f} s during training and publication", tally)
    assert tally == {"submitted": 2, "succeeded": 2, **CLEAN}
    worker_log = (cluster.logs / "worker-0.log").read_text()
    assert "artifact store unavailable" in worker_log, "the outage met no store call"
    handed_back = [
        message
        for job_id in job_ids
        for message in events(cluster, job_id)
        if "artifact store did not answer" in message
    ]
    print(f"\nhanded back to the queue {len(handed_back)} time(s)")
    assert handed_back, "no store call outlasted its retries"
    for job_id in job_ids:
        model_id = cluster.job(job_id).model_id
        answer = cluster.client.post(
            f"/v1/models/{model_id}/predict",
            headers=cluster.team.headers,
            json={"inputs": ["alpha example"]},
        )
        assert answer.status_code == 200, answer.text
