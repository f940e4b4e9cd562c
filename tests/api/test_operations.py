import base64

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_artifact_store(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "artifact_store": "ok"}


def test_openapi_documents_every_core_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    docs = client.get("/docs")

    assert docs.status_code == 200
    paths = schema["paths"]
    assert set(paths["/v1/datasets"]) == {"get", "post"}
    upload = paths["/v1/datasets"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "application/json"}
    assert "post" in paths["/v1/jobs"]
    assert "post" in paths["/v1/models/{model_id}/predict"]
    assert {"get", "delete"} <= set(paths["/v1/jobs/{job_id}"])


def test_wrong_method_lists_every_allowed_method(client: TestClient) -> None:
    response = client.put("/v1/jobs/job_x")

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json"])
def test_the_operations_token_guards_metrics_and_docs(settings: Settings, path: str) -> None:
    token = "operations-token-0123456789"
    guarded = settings.model_copy(update={"operations_token": SecretStr(token)})
    basic = base64.b64encode(f"ops:{token}".encode()).decode()
    with TestClient(create_app(guarded)) as client:
        refused = client.get(path)
        wrong = client.get(path, headers={"Authorization": "Bearer not-the-token-at-all"})
        bearer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        browser = client.get(path, headers={"Authorization": f"Basic {basic}"})
        health = client.get("/healthz")

    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert "ADAPTD_OPERATIONS_TOKEN" in refused.json()["detail"]
    assert (bearer.status_code, browser.status_code) == (200, 200)
    assert health.status_code == 200, "health checks stay open"
