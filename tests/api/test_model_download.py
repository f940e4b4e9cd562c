import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import open_store
from app.main import create_app
from app.models import Model
from tests.e2e.deployment import over_object_store
from tests.factories import TeamCredentials, trained_model
from tests.s3_server import S3Server
from tests.standalone import best, card_scores

TEXTS = ["refund my payment please", "hello there", "see you tomorrow"]


def download(client: TestClient, team: TeamCredentials, model_id: str) -> Any:
    return client.get(f"/v1/models/{model_id}/download", headers=team.headers)


def test_download_model_is_a_loadable_tar_gz_with_verified_checksums(
    client: TestClient, team: TeamCredentials, settings: Settings, tmp_path: Path
) -> None:
    model = trained_model(client, team, settings)

    response = download(client, team, model["id"])

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    assert f'filename="{model["id"]}.tar.gz"' in response.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        assert {Path(name).parts[0] for name in archive.getnames()} == {model["id"]}
        archive.extractall(tmp_path, filter="data")
    directory = tmp_path / model["id"]
    manifest = json.loads((directory / "adaptd.json").read_text())
    for name, digest in manifest["checksums"].items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    assert manifest["labels"] == model["labels"]
    served = client.post(
        f"/v1/models/{model['id']}/predict", headers=team.headers, json={"inputs": TEXTS}
    ).json()
    labels = [best(scores)[0] for scores in card_scores(directory, TEXTS)]
    assert labels == [p["label"] for p in served["predictions"]]


def test_download_model_of_another_team_is_404(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)

    response = download(client, other_team, model["id"])

    assert response.status_code == 404
    assert response.json()["detail"] == f"model {model['id']} not found"


def test_download_model_whose_artifact_is_gone_says_so(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    shutil.rmtree(settings.artifact_root / model["id"])

    response = download(client, team, model["id"])

    assert response.status_code == 404
    assert "missing from the artifact store" in response.json()["detail"]


def test_download_while_the_object_store_is_unreachable_is_503_to_try_again(
    client: TestClient, team: TeamCredentials, settings: Settings, s3_server: S3Server
) -> None:
    model = trained_model(client, team, settings)
    store_env = s3_server.environment(s3_server.new_bucket())
    worker = over_object_store(settings, store_env, "worker")
    replica = over_object_store(settings, store_env, "replica").model_copy(
        update={"artifact_store_retry_seconds": 0.5}
    )
    with new_session(settings) as session:
        key = session.get_one(Model, model["id"]).artifact_key
    with open_store(worker).writing(key) as directory:  # published by a worker elsewhere
        shutil.copytree(open_store(settings).fetch(key), directory, dirs_exist_ok=True)
    s3_server.stop()
    try:
        with TestClient(create_app(replica)) as on_replica:
            response = download(on_replica, team, model["id"])
    finally:
        s3_server.start()

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "10"
    assert "artifact store is unreachable" in response.json()["detail"]
