import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job
from tests.factories import TeamCredentials, create_dataset, create_job, run_queued_jobs


def test_create_job_answers_202_queued(client: TestClient, team: TeamCredentials) -> None:
    dataset_id = create_dataset(client, team)

    response = create_job(client, team, dataset_id, metadata={"ticket": "ML-1"})

    assert response.status_code == 202, response.text
    job = response.json()
    assert job["id"].startswith("job_")
    assert job["status"] == "queued"
    assert job["strategy"] == "full"
    assert job["hyperparameters"] == {
        "epochs": 2,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "max_length": 128,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "seed": 42,
        "early_stopping_patience": 2,
        "early_stopping_metric": "macro_f1",
        "pooling": "mean",
        "head_learning_rate_factor": 20.0,
        "layer_decay": 1.0,
        "label_smoothing": 0.0,
        "linear_probe": False,
        "group_by_length": True,
        "calibrate": True,
    }
    assert job["metadata"] == {"ticket": "ML-1"}
    assert (job["attempt"], job["max_attempts"]) == (0, 3)
    assert job["model_id"] is None


def test_create_job_defaults_to_the_packaged_base_model(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)

    response = client.post("/v1/jobs", headers=team.headers, json={"dataset_id": dataset_id})

    assert response.status_code == 202, response.text
    assert response.json()["base_model"] == "all-MiniLM-L6-v2"
    assert response.json()["validation_split"] == 0.1


@pytest.mark.parametrize(
    ("hyperparameters", "location"),
    [
        ({"epochs": 0}, "hyperparameters.epochs"),
        ({"batch_size": -1}, "hyperparameters.batch_size"),
        ({"learning_rate": 0}, "hyperparameters.learning_rate"),
        ({"max_length": 4096}, "hyperparameters.max_length"),
        ({"warmup_ratio": 1.5}, "hyperparameters.warmup_ratio"),
        ({"weight_decay": -0.1}, "hyperparameters.weight_decay"),
        ({"seed": "abc"}, "hyperparameters.seed"),
        ({"epoch": 3}, "hyperparameters.epoch"),
    ],
)
def test_create_job_rejects_bad_hyperparameters(
    client: TestClient, team: TeamCredentials, hyperparameters: dict[str, object], location: str
) -> None:
    dataset_id = create_dataset(client, team)

    response = create_job(client, team, dataset_id, hyperparameters=hyperparameters)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["location"] for e in response.json()["errors"]] == [location]


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"dataset_id": "ds_missing"}, "dataset_id"),
        ({"base_model": "gpt-17"}, "base_model"),
        (
            {"validation_dataset_id": "ds_missing", "validation_split": None},
            "validation_dataset_id",
        ),
        ({"strategy": "magic"}, "strategy"),
        ({"validation_split": 0.9}, "validation_split"),
    ],
)
def test_create_job_rejects_bad_references(
    client: TestClient, team: TeamCredentials, overrides: dict[str, object], location: str
) -> None:
    body = {"dataset_id": create_dataset(client, team), **overrides}

    response = create_job(client, team, **body)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == location


def test_create_job_rejects_two_validation_sources(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)

    response = create_job(client, team, dataset_id, validation_dataset_id=dataset_id)

    assert response.status_code == 422
    assert "not both" in response.json()["detail"]


def test_create_job_rejects_validation_labels_unknown_to_training(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)
    other = client.post(
        "/v1/datasets",
        headers=team.headers,
        json={"examples": [{"text": f"t{i}", "label": "x" if i % 2 else "y"} for i in range(4)]},
    ).json()["id"]

    response = create_job(
        client, team, dataset_id, validation_split=None, validation_dataset_id=other
    )

    assert response.status_code == 422
    assert "['x', 'y']" in response.json()["detail"]


def test_full_job_trains_to_succeeded_with_progress_and_metrics(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]

    run_queued_jobs(settings)

    job = client.get(f"/v1/jobs/{job_id}", headers=team.headers).json()
    assert job["status"] == "succeeded", job
    assert job["attempt"] == 1
    assert job["device"] == "cpu (fp32)"
    assert job["progress"]["step"] == job["progress"]["total_steps"] == 6
    assert job["progress"]["epoch"] == 2
    assert job["progress"]["fraction"] == 1.0
    assert set(job["metrics"]) >= {"accuracy", "macro_f1", "loss", "train_loss"}
    assert 0.0 <= job["metrics"]["accuracy"] <= 1.0
    assert job["metrics"]["num_validation_examples"] == 3
    assert job["started_at"] <= job["finished_at"]
    model = client.get(f"/v1/models/{job['model_id']}", headers=team.headers).json()
    assert model["labels"] == ["billing", "farewell", "greeting"]
    assert model["strategy"] == "full"
    assert model["base_model"] == "tiny-bert"
    assert model["metrics"] == job["metrics"]


def test_full_job_with_validation_dataset(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    dataset_id = create_dataset(client, team)
    job_id = create_job(
        client, team, dataset_id, validation_split=None, validation_dataset_id=dataset_id
    ).json()["id"]

    run_queued_jobs(settings)

    job = client.get(f"/v1/jobs/{job_id}", headers=team.headers).json()
    assert job["status"] == "succeeded", job
    assert job["metrics"]["num_validation_examples"] == 15


def test_job_with_unloadable_base_model_fails_with_code(
    client: TestClient, team: TeamCredentials, settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    broken_settings = settings.model_copy(
        update={"base_models": {**settings.base_models, "broken": str(broken)}}
    )
    client.app.state.settings = broken_settings  # type: ignore[attr-defined]
    job_id = create_job(client, team, create_dataset(client, team), base_model="broken").json()[
        "id"
    ]

    run_queued_jobs(broken_settings)

    job = client.get(f"/v1/jobs/{job_id}", headers=team.headers).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "base_model_unavailable"
    assert "broken-model" in job["error"]["message"]
    assert job["model_id"] is None


def test_job_whose_dataset_was_deleted_fails_with_code(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    dataset_id = create_dataset(client, team)
    job_id = create_job(client, team, dataset_id).json()["id"]
    session.get_one(Job, job_id).dataset_id = None
    session.commit()

    run_queued_jobs(settings)

    job = client.get(f"/v1/jobs/{job_id}", headers=team.headers).json()
    assert job["status"] == "failed"
    assert job["error"] == {
        "code": "invalid_training_data",
        "message": "the job's dataset was deleted",
    }


def test_delete_dataset_used_by_queued_job_is_409(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)
    create_job(client, team, dataset_id)

    response = client.delete(f"/v1/datasets/{dataset_id}", headers=team.headers)

    assert response.status_code == 409
    assert client.get(f"/v1/datasets/{dataset_id}", headers=team.headers).status_code == 200


def test_list_jobs_filters_by_status_and_deletes_finished(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    dataset_id = create_dataset(client, team)
    done = create_job(client, team, dataset_id).json()["id"]
    run_queued_jobs(settings)
    queued = create_job(client, team, dataset_id).json()["id"]

    listed = client.get("/v1/jobs?status=queued", headers=team.headers).json()
    refused = client.delete(f"/v1/jobs/{queued}", headers=team.headers)
    deleted = client.delete(f"/v1/jobs/{done}", headers=team.headers)

    assert [job["id"] for job in listed["data"]] == [queued]
    assert refused.status_code == 409
    assert deleted.status_code == 204
    assert client.get(f"/v1/jobs/{done}", headers=team.headers).status_code == 404


def test_job_events_tell_its_history_in_order(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]
    run_queued_jobs(settings)

    events = client.get(f"/v1/jobs/{job_id}/events", headers=team.headers).json()
    first_two = client.get(f"/v1/jobs/{job_id}/events?limit=2", headers=team.headers).json()
    rest = client.get(
        f"/v1/jobs/{job_id}/events?after={first_two['data'][-1]['sequence']}",
        headers=team.headers,
    ).json()

    kinds = [(e["type"], e["data"].get("status") or e["data"].get("epoch")) for e in events["data"]]
    assert kinds == [
        ("state", "queued"),
        ("warning", None),
        ("warning", None),
        ("state", "running"),
        ("info", None),
        ("metrics", 1),
        ("metrics", 2),
        ("state", "succeeded"),
    ]
    assert events["data"][1]["message"].startswith("epochs 2 at batch_size 4 is 6 optimizer")
    assert events["data"][2]["message"].startswith("the job validates on 3 texts")
    assert events["data"][4]["message"] == "training on cpu (fp32)"
    assert first_two["has_more"] is True
    assert first_two["data"] + rest["data"] == events["data"]


def test_job_event_stream_follows_a_job_to_its_end(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]
    runner = threading.Thread(target=run_queued_jobs, args=(settings,))
    runner.start()

    with client.stream("GET", f"/v1/jobs/{job_id}/events/stream", headers=team.headers) as response:
        body = response.read().decode()
    runner.join()
    resumed = client.get(
        f"/v1/jobs/{job_id}/events/stream", headers={**team.headers, "Last-Event-ID": "0"}
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [frame for frame in body.split("\n\n") if frame.startswith("id:")]
    assert "event: state" in frames[0]
    assert '"status": "succeeded"' in frames[-1]
    assert resumed.text.count("id: ") == len(frames)


def test_job_events_record_training_loss_every_50_steps(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job_id = create_job(
        client,
        team,
        create_dataset(client, team),
        hyperparameters={"epochs": 9, "batch_size": 1, "early_stopping_patience": None},
    ).json()["id"]
    run_queued_jobs(settings)

    events = client.get(f"/v1/jobs/{job_id}/events?limit=500", headers=team.headers).json()
    steps = [e["data"]["step"] for e in events["data"] if "step" in e["data"]]

    assert steps == [50, 100], events
    assert all("training loss" in e["message"] for e in events["data"] if "step" in e["data"])
