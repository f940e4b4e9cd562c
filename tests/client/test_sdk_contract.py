"""What the SDK promises beside its calls: it mirrors the API's schemas, it needs none of the
server's dependencies, and it finds its configuration as documented."""

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from adaptd.client import ConfigurationError, types
from adaptd.client.config import require_key, resolve
from app.main import create_app

SERVER_SCHEMAS: dict[type[BaseModel], str] = {
    types.Dataset: "DatasetPublic",
    types.Job: "JobPublic",
    types.JobProgress: "JobProgress",
    types.JobError: "JobError",
    types.Gate: "Gate",
    types.JobEvent: "JobEventPublic",
    types.Model: "ModelPublic",
    types.Acceleration: "AccelerationPublic",
    types.Prediction: "PredictionPublic",
    types.Predictions: "PredictResponse",
    types.Evaluation: "EvaluationPublic",
    types.Alias: "AliasPublic",
    types.AliasMove: "AliasMovePublic",
    types.Webhook: "WebhookWithSecret",
    types.Delivery: "DeliveryPublic",
    types.Trigger: "TriggerWithSecret",
    types.TriggerRun: "TriggerRunPublic",
    types.TriggerFired: "TriggerFired",
    types.Strategy: "StrategyPublic",
    types.ApiKey: "ApiKeyCreated",
    types.AuditEntry: "AuditEntryPublic",
    types.Quotas: "QuotasPublic",
    types.QuotaLimits: "QuotaLimits",
}
SERVER_PACKAGES = ("torch", "transformers", "fastapi", "sqlalchemy", "celery", "app", "sklearn")


def test_every_client_type_reads_fields_the_api_documents() -> None:
    schemas = create_app().openapi()["components"]["schemas"]

    for kind, name in SERVER_SCHEMAS.items():
        documented = schemas[name]["properties"]
        required = set(schemas[name].get("required", []))
        unknown = set(kind.model_fields) - set(documented)
        client_required = {n for n, f in kind.model_fields.items() if f.is_required()}
        assert not unknown, f"{kind.__name__} reads fields {name} lacks: {unknown}"
        assert client_required <= required, f"{kind.__name__} requires optional fields"


def test_every_type_is_exported() -> None:
    import adaptd.client

    exported = set(adaptd.client.__all__)
    resources = {name for name, value in vars(types).items() if _is_resource(value)}
    assert resources <= exported


def _is_resource(value: object) -> bool:
    return (
        isinstance(value, type)
        and issubclass(value, types.Resource)
        and value is not types.Resource
    )


def test_client_and_cli_import_none_of_the_server_dependencies() -> None:
    probe = (
        "import sys, adaptd.client, adaptd.cli; adaptd.cli.build_parser(); "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in sys.argv[1:])))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, *SERVER_PACKAGES], capture_output=True, text=True, check=True
    )

    # The server's commands are listed through its light `app.commands` module alone.
    assert set(loaded.stdout.split()) <= {"app", "app.commands"}, loaded.stdout


def test_configuration_comes_from_arguments_then_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADAPTD_API_KEY", raising=False)
    monkeypatch.delenv("ADAPTD_DATA_DIR", raising=False)
    monkeypatch.setenv("ADAPTD_URL", "https://adaptd.example.com/")

    from_environment = resolve()
    from_arguments = resolve("http://10.0.0.5:8000", "adk_given")

    assert from_environment.url == "https://adaptd.example.com"
    assert from_arguments.url == "http://10.0.0.5:8000"
    assert require_key(from_arguments) == "adk_given"
    with pytest.raises(ConfigurationError, match="ADAPTD_API_KEY"):
        require_key(from_environment)
    monkeypatch.setenv("ADAPTD_API_KEY", "adk_from_env")
    assert resolve().api_key == "adk_from_env"
    with pytest.raises(ConfigurationError, match="http"):
        resolve("adaptd.example.com")


def test_the_local_key_file_is_sent_only_to_a_service_on_this_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADAPTD_API_KEY", raising=False)
    monkeypatch.delenv("ADAPTD_DATA_DIR", raising=False)
    (tmp_path / "adaptd-data").mkdir()
    (tmp_path / "adaptd-data" / "api-key").write_text("adk_local\n")

    assert resolve("http://127.0.0.1:8000").api_key == "adk_local"
    assert resolve("http://localhost:9000").api_key == "adk_local"
    assert resolve("https://adaptd.example.com").api_key is None
