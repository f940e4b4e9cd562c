import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import Settings
from app.serving.batcher import BatchSettings
from tests.factories import TeamCredentials, trained_model

PREDICT_ROUTE = "/v1/models/{model_id}/predict"


def scraped(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_report_routes_batches_the_cache_and_jobs(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    for _ in range(3):
        answer = client.post(
            f"/v1/models/{model['id']}/predict", headers=team.headers, json={"inputs": ["hi"]}
        )
        assert answer.status_code == 200

    samples = scraped(client)

    predicted = ("method", "POST"), ("route", PREDICT_ROUTE), ("status", "200")
    assert samples[("adaptd_http_requests_total", predicted)] == 3
    timed = ("le", "+Inf"), ("method", "POST"), ("route", PREDICT_ROUTE)
    assert samples[("adaptd_http_request_duration_seconds_bucket", timed)] == 3
    assert samples[("adaptd_predict_batch_size_texts_count", ())] == 3
    assert samples[("adaptd_model_cache_misses_total", ())] == 1
    assert samples[("adaptd_model_cache_hits_total", ())] == 2
    assert samples[("adaptd_model_cache_models", ())] == 1
    assert samples[("adaptd_jobs", (("state", "succeeded"),))] == 1
    assert samples[("adaptd_jobs", (("state", "running"),))] == 0
    assert samples[("adaptd_predict_queue_texts", (("lane", f"model:{model['id']}"),))] == 0
    routes = [dict(labels)["route"] for name, labels in samples if name.startswith("adaptd_http")]
    assert not any(model["id"] in route for route in routes)


def test_a_full_queue_answers_503_with_retry_after_and_the_queued_requests_succeed(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    url = f"/v1/models/{model['id']}/predict"
    assert client.post(url, headers=team.headers, json={"inputs": ["warm up"]}).status_code == 200
    batcher = client.app.state.serving.batcher  # type: ignore[attr-defined]
    batcher.settings = BatchSettings(max_batch_texts=1, max_queue_texts=1)
    release = threading.Event()
    batcher.executor.submit(release.wait, 30)
    answers: list[Any] = []

    def predict(text: str) -> None:
        answers.append(client.post(url, headers=team.headers, json={"inputs": [text]}))

    running = threading.Thread(target=predict, args=("in flight",))
    running.start()
    time.sleep(0.5)
    queued = threading.Thread(target=predict, args=("queued",))
    queued.start()
    time.sleep(0.5)

    refused = client.post(url, headers=team.headers, json={"inputs": ["one too many"]})
    release.set()
    running.join()
    queued.join()

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"] == "/problems/overloaded"
    assert [answer.status_code for answer in answers] == [200, 200]
