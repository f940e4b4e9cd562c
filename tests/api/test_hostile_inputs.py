import pytest
from fastapi.testclient import TestClient

from tests.factories import TeamCredentials

DEEP = "[" * 100_000 + "]" * 100_000


def file_upload(name: str, content: bytes) -> dict[str, object]:
    return {"files": {"file": (name, content, "application/octet-stream")}}


def json_body(content: str | bytes) -> dict[str, object]:
    return {"content": content, "headers": {"Content-Type": "application/json"}}


HOSTILE_UPLOADS = {
    "NUL byte in text": file_upload("a.csv", b"text,label\nhel\x00lo,a\nhi,a\nbye,b\nok,b\n"),
    "binary file": file_upload("a.csv", bytes(range(256)) * 100),
    "empty file": file_upload("a.csv", b""),
    "header only": file_upload("a.csv", b"text,label\n"),
    "unterminated quote": file_upload("a.csv", b'text,label\n"never closed,a\nhi,b\n'),
    "deep JSONL line": file_upload("a.jsonl", DEEP.encode() + b"\n"),
    "20 MB single line": file_upload("a.csv", b"text,label\n" + b"x" * (20 << 20) + b",a\n"),
    "path-like file name": file_upload("../../etc/passwd", b"text,label\nhi,a\n"),
    "deep JSON body": json_body(DEEP),
    "malformed JSON body": json_body("{bad"),
    "invalid UTF-8 JSON body": json_body(b'{"examples": [{"text": "\xff", "label": "a"}]}'),
    "JSON array body": json_body("[1, 2]"),
}


@pytest.mark.parametrize("case", HOSTILE_UPLOADS)
def test_hostile_dataset_upload_gets_clear_4xx_and_stores_nothing(
    client: TestClient, team: TeamCredentials, case: str
) -> None:
    request = dict(HOSTILE_UPLOADS[case])
    headers = {**team.headers, **request.pop("headers", {})}  # type: ignore[dict-item]

    response = client.post("/v1/datasets", headers=headers, **request)  # type: ignore[arg-type]

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"]
    assert problem.get("errors") is None or all(e["location"] for e in problem["errors"])
    assert client.get("/v1/datasets", headers=team.headers).json()["data"] == []
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/models/mdl_x/predict"])
def test_deep_or_malformed_json_elsewhere_gets_4xx(
    client: TestClient, team: TeamCredentials, path: str
) -> None:
    for content in (DEEP, "{bad", '{"inputs": ' + DEEP + "}"):
        response = client.post(
            path, headers={**team.headers, "Content-Type": "application/json"}, content=content
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/datasets/..%2F..%2Fetc%2Fpasswd",
        "/v1/models/%00/predict",
        "/v1/jobs/" + "x" * 5000,
        "/v1/triggers/%00/fire",
        "/v1/triggers/..%2Ftrg_1/fire",
        "/v1/webhooks/%00/deliveries",
        "/v1/webhooks/whk_1/deliveries/%00/redeliver",
    ],
)
def test_path_like_ids_are_404(client: TestClient, team: TeamCredentials, path: str) -> None:
    method = "POST" if path.endswith(("predict", "fire", "redeliver")) else "GET"

    response = client.request(method, path, headers=team.headers, json={"inputs": ["x"]})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/datasets", {"name": "a\x00b", "examples": [{"text": "x", "label": "y"}]}),
        ("/v1/jobs", {"dataset_id": "ds_\x00"}),
        ("/v1/jobs", {"dataset_id": "ds_1", "metadata": {"k": "v\x00"}}),
    ],
)
def test_nul_characters_in_json_fields_are_422(
    client: TestClient, team: TeamCredentials, path: str, body: dict[str, object]
) -> None:
    response = client.post(path, headers=team.headers, json=body)

    assert response.status_code == 422, response.text


def test_malformed_page_cursor_is_422(client: TestClient, team: TeamCredentials) -> None:
    response = client.get("/v1/jobs?after=%00", headers=team.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "query parameter after"


def test_streamed_body_over_the_cap_is_413_before_parsing(
    client: TestClient, team: TeamCredentials
) -> None:
    chunks = (b'{"examples": [' + b" " * (1 << 20) for _ in range(60))

    response = client.post(
        "/v1/datasets",
        headers={**team.headers, "Content-Type": "application/json"},
        content=chunks,
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/datasets", headers=team.headers).json()["data"] == []
