from fastapi.testclient import TestClient

from app.ml.strategies import Strategy
from tests.factories import TeamCredentials


def test_list_strategies_describes_every_hyperparameter_with_its_default(
    client: TestClient, team: TeamCredentials
) -> None:
    answer = client.get("/v1/strategies", headers=team.headers)

    assert answer.status_code == 200, answer.text
    listed = {item["strategy"]: item for item in answer.json()["data"]}
    assert set(listed) == set(Strategy)
    full = listed["full"]["hyperparameters"]["properties"]
    assert full["pooling"]["description"].endswith('Default: "mean".')
    assert {"type": "integer", "minimum": 1, "maximum": 100} in full["epochs"]["anyOf"]
    assert listed["lora"]["exports_standalone"] is True
    assert listed["frozen"]["exports_standalone"] is False
    assert listed["zero_shot"]["needs_dataset"] is False
    assert listed["full"]["summary"].startswith("`full`")


def test_list_strategies_needs_a_key(client: TestClient) -> None:
    assert client.get("/v1/strategies").status_code == 401
