import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import adaptd_process, free_port, wait_for, wait_for_job
from tests.factories import csv_bytes, example_rows
from tests.tiny_model import TINY_BASE_MODEL
from tests.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.e2e


def test_serve_on_empty_data_dir_takes_upload_to_prediction_with_webhooks(
    tmp_path: Path, tiny_model_path: str
) -> None:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    env = {
        "ADAPTD_DATA_DIR": str(data_dir),
        "ADAPTD_BASE_MODELS": f'{{"{TINY_BASE_MODEL}": "{tiny_model_path}"}}',
        "ADAPTD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    base = f"http://127.0.0.1:{port}"
    life = ["job.queued", "job.running", "job.succeeded", "model.created"]

    with webhook_receiver() as receiver, adaptd_process(["serve", "--port", str(port)], env, log):
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "readiness", log)
        key = (data_dir / "api-key").read_text().strip()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            receiver.secret = client.post(
                "/v1/webhooks", json={"url": receiver.url, "events": life}
            ).json()["secret"]
            dataset = client.post(
                "/v1/datasets",
                files={"file": ("intents.csv", csv_bytes(example_rows()), "text/csv")},
            ).json()
            job = client.post(
                "/v1/jobs",
                json={
                    "dataset_id": dataset["id"],
                    "base_model": TINY_BASE_MODEL,
                    "hyperparameters": {"epochs": 3, "batch_size": 4, "learning_rate": 1e-3},
                },
            )
            finished = wait_for_job(client, job.json()["id"], 120, log)
            prediction = client.post(
                f"/v1/models/{finished['model_id']}/predict", json={"inputs": ["hello there"]}
            )
            wait_for(lambda: len(receiver.events) >= 4, 30, "the job's webhooks", log)

    assert stat.S_IMODE((data_dir / "api-key").stat().st_mode) == 0o600
    assert key in log.read_text(), "the first start prints the key once"
    assert (data_dir / "adaptd.db").is_file()
    assert job.status_code == 202
    assert finished["status"] == "succeeded", finished
    assert prediction.status_code == 200
    assert prediction.json()["predictions"][0]["label"] in {"greeting", "farewell", "billing"}
    assert [event["type"] for event in receiver.events_by_sequence] == life


def test_serve_uses_bootstrap_api_key_from_environment(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    env = {"ADAPTD_DATA_DIR": str(data_dir), "ADAPTD_BOOTSTRAP_API_KEY": "adk_automation-key-123"}
    base = f"http://127.0.0.1:{port}"

    with adaptd_process(["serve", "--port", str(port)], env, log):
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "readiness", log)
        allowed = httpx.get(
            f"{base}/v1/datasets", headers={"Authorization": "Bearer adk_automation-key-123"}
        )

    assert allowed.status_code == 200
    assert (data_dir / "api-key").read_text().strip() == "adk_automation-key-123"
    assert "adk_automation-key-123" not in log.read_text()
