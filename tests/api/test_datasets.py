import json

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import TeamCredentials, csv_bytes, example_rows, upload_csv

GOOD_ROWS = example_rows()


def dataset_count(client: TestClient, team: TeamCredentials) -> int:
    return len(client.get("/v1/datasets", headers=team.headers).json()["data"])


def assert_rejected(
    response: object, client: TestClient, team: TeamCredentials, location: str, fragment: str
) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert problem["type"] == "/problems/invalid-dataset"
    assert any(
        error["location"] == location and fragment in error["message"]
        for error in problem["errors"]
    ), problem["errors"]
    assert dataset_count(client, team) == 0


def test_upload_csv_dataset_reports_counts(client: TestClient, team: TeamCredentials) -> None:
    response = upload_csv(client, team, csv_bytes(GOOD_ROWS), name="intents")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("ds_")
    assert body["name"] == "intents"
    assert body["num_examples"] == 15
    assert body["labels"] == {"billing": 5, "farewell": 5, "greeting": 5}
    assert body["warnings"] == []


def test_upload_jsonl_dataset_with_column_mapping(
    client: TestClient, team: TeamCredentials
) -> None:
    lines = "\n".join(json.dumps({"utterance": r["text"], "intent": r["label"]}) for r in GOOD_ROWS)

    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.jsonl", lines.encode(), "application/octet-stream")},
        data={"text_column": "utterance", "label_column": "intent"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["format"] == "jsonl"
    assert response.json()["num_examples"] == 15


def test_upload_csv_dataset_with_mapped_columns(client: TestClient, team: TeamCredentials) -> None:
    rows = [{"id": i, "body": r["text"], "tag": r["label"]} for i, r in enumerate(GOOD_ROWS)]

    response = upload_csv(
        client, team, csv_bytes(rows, ("id", "body", "tag")), text_column="body", label_column="tag"
    )

    assert response.status_code == 201, response.text
    assert response.json()["labels"]["greeting"] == 5


def test_upload_json_examples_dataset(client: TestClient, team: TeamCredentials) -> None:
    response = client.post(
        "/v1/datasets", headers=team.headers, json={"name": "json", "examples": GOOD_ROWS}
    )

    assert response.status_code == 201, response.text
    assert response.json()["format"] == "json"
    assert response.json()["num_examples"] == 15


def test_upload_dataset_warns_about_imbalance_and_duplicates(
    client: TestClient, team: TeamCredentials
) -> None:
    rows = [{"text": f"pay bill {i}", "label": "billing"} for i in range(30)]
    rows += [{"text": "hello", "label": "greeting"}, {"text": "hi", "label": "greeting"}]
    rows += [{"text": "hi", "label": "greeting"}]

    response = upload_csv(client, team, csv_bytes(rows))

    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert any("class imbalance" in w and "'billing' has 30" in w for w in warnings), warnings
    assert any("1 exact duplicate" in w for w in warnings), warnings


def test_upload_dataset_rejects_invalid_utf8(client: TestClient, team: TeamCredentials) -> None:
    content = csv_bytes(GOOD_ROWS) + b"caf\xe9 au lait,greeting\n"

    response = upload_csv(client, team, content)

    assert_rejected(response, client, team, "line 17", "not valid UTF-8")


def test_upload_dataset_rejects_missing_column(client: TestClient, team: TeamCredentials) -> None:
    response = upload_csv(client, team, csv_bytes(GOOD_ROWS, ("label", "text")), text_column="body")

    assert_rejected(response, client, team, "line 1", "column 'body' is missing")


def test_upload_dataset_rejects_empty_text(client: TestClient, team: TeamCredentials) -> None:
    rows = [*GOOD_ROWS, {"text": "   ", "label": "billing"}]

    response = upload_csv(client, team, csv_bytes(rows))

    assert_rejected(response, client, team, "line 17", "text is empty")


def test_upload_dataset_rejects_empty_label(client: TestClient, team: TeamCredentials) -> None:
    rows = [*GOOD_ROWS, {"text": "where is my refund", "label": ""}]

    response = upload_csv(client, team, csv_bytes(rows))

    assert_rejected(response, client, team, "line 17", "label is empty")


def test_upload_dataset_rejects_missing_label(client: TestClient, team: TeamCredentials) -> None:
    lines = [json.dumps(row) for row in GOOD_ROWS] + [json.dumps({"text": "no label here"})]

    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.jsonl", "\n".join(lines).encode(), "application/jsonl")},
    )

    assert_rejected(response, client, team, "line 16", "label is missing")


def test_upload_dataset_rejects_single_class(client: TestClient, team: TeamCredentials) -> None:
    rows = [{"text": f"pay bill {i}", "label": "billing"} for i in range(5)]

    response = upload_csv(client, team, csv_bytes(rows))

    assert_rejected(response, client, team, "dataset", "one class ('billing')")


def test_upload_dataset_rejects_class_with_one_example(
    client: TestClient, team: TeamCredentials
) -> None:
    rows = [*GOOD_ROWS, {"text": "the app crashes", "label": "bug"}]

    response = upload_csv(client, team, csv_bytes(rows))

    assert_rejected(response, client, team, "line 17", "label 'bug' has only this example")


def test_upload_dataset_rejects_text_under_two_labels(
    client: TestClient, team: TeamCredentials
) -> None:
    rows = [*GOOD_ROWS, {"text": "goodbye", "label": "greeting"}]

    response = upload_csv(client, team, csv_bytes(rows))

    assert_rejected(response, client, team, "line 17", "labeled 'farewell' at line 7")


def test_upload_json_examples_rejection_names_the_index(
    client: TestClient, team: TeamCredentials
) -> None:
    examples = [*GOOD_ROWS, {"text": "", "label": "billing"}]

    response = client.post("/v1/datasets", headers=team.headers, json={"examples": examples})

    assert_rejected(response, client, team, "examples[15]", "text is empty")


def test_upload_dataset_over_size_cap_is_refused(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    filler = [{"text": "x" * 1000 + str(i), "label": "a" if i % 2 else "b"} for i in range(100)]
    content = csv_bytes(filler)
    client.app.state.settings = settings.model_copy(update={"max_upload_bytes": len(content) - 1})  # type: ignore[attr-defined]

    response = upload_csv(client, team, content)

    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "ADAPTD_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert dataset_count(client, team) == 0


def test_upload_dataset_caps_reported_errors_with_total(
    client: TestClient, team: TeamCredentials
) -> None:
    rows = [*GOOD_ROWS, *({"text": "", "label": "billing"} for _ in range(120))]

    response = upload_csv(client, team, csv_bytes(rows))

    problem = response.json()
    assert response.status_code == 422
    assert problem["total_errors"] == 120
    assert len(problem["errors"]) == 50
    assert "120 problem(s)" in problem["detail"]


def test_upload_dataset_reports_the_first_problems_in_file_order_whatever_their_kind(
    client: TestClient, team: TeamCredentials
) -> None:
    twice = "a text labeled two ways"
    rows = [{"text": twice, "label": "billing"}, {"text": twice, "label": "farewell"}]
    rows += [*({"text": "", "label": "billing"} for _ in range(60)), *GOOD_ROWS]

    response = upload_csv(client, team, csv_bytes(rows))

    problem = response.json()
    assert problem["total_errors"] == 61
    assert len(problem["errors"]) == 50
    first, second = problem["errors"][:2]
    assert first["location"] == "line 3"
    assert "labeled 'billing' at line 2 and 'farewell' here" in first["message"]
    assert second == {"location": "line 4", "message": "text is empty"}
    assert dataset_count(client, team) == 0


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"])
def test_upload_csv_with_windows_or_old_mac_line_ends_names_the_right_line(
    client: TestClient, team: TeamCredentials, line_end: bytes
) -> None:
    content = csv_bytes([*GOOD_ROWS, {"text": "", "label": "billing"}]).replace(b"\r\n", line_end)

    response = upload_csv(client, team, content)

    assert_rejected(response, client, team, "line 17", "text is empty")


def test_upload_empty_csv_file_says_it_is_empty(client: TestClient, team: TeamCredentials) -> None:
    response = upload_csv(client, team, b"")

    assert_rejected(response, client, team, "line 1", "the file is empty")


def test_upload_jsonl_keeps_a_line_separator_inside_a_text(
    client: TestClient, team: TeamCredentials
) -> None:
    rows = [*GOOD_ROWS, {"text": "first\u2028second", "label": "billing"}]
    lines = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)

    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.jsonl", lines.encode(), "application/jsonl")},
    )

    assert response.status_code == 201, response.text
    assert response.json()["num_examples"] == 16


def test_upload_dataset_rejects_unknown_format(client: TestClient, team: TeamCredentials) -> None:
    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.xlsx", b"PK\x03\x04", "application/octet-stream")},
    )

    assert_rejected(response, client, team, "file", "name it .csv or .jsonl")


def test_upload_dataset_rejects_malformed_jsonl(client: TestClient, team: TeamCredentials) -> None:
    content = b'{"text": "hello", "label": "a"}\n{"text": "oops"\n[1, 2]\n'

    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.jsonl", content, "application/jsonl")},
    )

    assert_rejected(response, client, team, "line 2", "invalid JSON")
    assert_rejected(response, client, team, "line 3", "expected a JSON object")


def test_upload_dataset_without_file_field_is_422(
    client: TestClient, team: TeamCredentials
) -> None:
    response = client.post("/v1/datasets", headers=team.headers, data={"name": "no file"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "file"


def test_list_datasets_paginates_newest_first(client: TestClient, team: TeamCredentials) -> None:
    ids = [
        client.post(
            "/v1/datasets", headers=team.headers, json={"name": f"d{i}", "examples": GOOD_ROWS}
        ).json()["id"]
        for i in range(3)
    ]

    first = client.get("/v1/datasets?limit=2", headers=team.headers).json()
    second = client.get(
        f"/v1/datasets?limit=2&after={first['data'][-1]['id']}", headers=team.headers
    ).json()

    assert [d["id"] for d in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True
    assert [d["id"] for d in second["data"]] == ids[:1]
    assert second["has_more"] is False


def test_get_and_delete_dataset(client: TestClient, team: TeamCredentials) -> None:
    dataset_id = upload_csv(client, team, csv_bytes(GOOD_ROWS)).json()["id"]

    fetched = client.get(f"/v1/datasets/{dataset_id}", headers=team.headers)
    deleted = client.delete(f"/v1/datasets/{dataset_id}", headers=team.headers)
    missing = client.get(f"/v1/datasets/{dataset_id}", headers=team.headers)

    assert fetched.status_code == 200
    assert fetched.json()["num_examples"] == 15
    assert deleted.status_code == 204
    assert missing.status_code == 404


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_upload_dataset_with_unsupported_media_type_is_415(
    client: TestClient, team: TeamCredentials, content_type: str
) -> None:
    response = client.post(
        "/v1/datasets", headers={**team.headers, "Content-Type": content_type}, content=b"x"
    )

    assert response.status_code == 415


def test_upload_dataset_over_the_label_cap_is_422_naming_the_cap(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    client.app.state.settings = settings.model_copy(update={"max_labels": 3})  # type: ignore[attr-defined]
    rows = [{"text": f"text {n} {copy}", "label": f"label-{n}"} for n in range(7) for copy in "ab"]

    response = upload_csv(client, team, csv_bytes(rows))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["location"] == "file"
    assert "7 distinct labels; the limit is 3 (ADAPTD_MAX_LABELS)" in error["message"]
    assert client.get("/v1/datasets", headers=team.headers).json()["data"] == []
