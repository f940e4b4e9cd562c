from fastapi.testclient import TestClient


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
