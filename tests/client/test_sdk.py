"""The SDK against the real app in this process: resources, paging, typed errors, waiting."""

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adaptd.client import (
    Client,
    Conflict,
    CorruptDownload,
    Forbidden,
    JobFailed,
    JobUpdate,
    NotFound,
    Unauthorized,
    ValidationError,
)
from adaptd.client.archives import unpack
from app.api import event_stream
from app.core.config import Settings
from tests.api.test_acceleration import PROBE_TEXTS, with_a_head_int8_cannot_hold
from tests.client.conftest import NO_WAIT
from tests.factories import (
    csv_bytes,
    example_rows,
    jobs_running,
    run_queued_jobs,
)
from tests.tiny_model import TINY_BASE_MODEL

TINY_JOB = {"epochs": 3, "batch_size": 4, "learning_rate": 1e-3}


def test_uploads_rows_and_files_and_pages_through_every_dataset(
    sdk: Client, tmp_path: Path
) -> None:
    csv_file = tmp_path / "intents.csv"
    csv_file.write_bytes(csv_bytes(example_rows()))
    jsonl_file = tmp_path / "intents.jsonl"
    jsonl_file.write_text(
        "".join(
            json.dumps({"utterance": r["text"], "intent": r["label"]}) + "\n"
            for r in example_rows()
        )
    )

    from_rows = sdk.datasets.upload(example_rows(), name="rows")
    from_csv = sdk.datasets.upload(csv_file)
    from_jsonl = sdk.datasets.upload(
        jsonl_file, name="jsonl", text_column="utterance", label_column="intent"
    )
    listed = list(sdk.datasets.list(page_size=2))

    assert from_rows.num_examples == from_csv.num_examples == from_jsonl.num_examples == 15
    assert from_jsonl.labels == {"greeting": 5, "farewell": 5, "billing": 5}
    assert {d.id for d in listed} == {from_rows.id, from_csv.id, from_jsonl.id}
    assert len(listed) == 3
    assert sdk.datasets.get(from_csv.id).name == "intents.csv"


def test_bad_upload_raises_validation_error_naming_every_line_and_stores_nothing(
    sdk: Client, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,greeting\nhi,greeting\n,greeting\nbye,\n")

    with pytest.raises(ValidationError) as raised:
        sdk.datasets.upload(bad)

    locations = [error.location for error in raised.value.errors]
    assert raised.value.status_code == 422
    assert {"line 4", "line 5"} <= set(locations)
    assert list(sdk.datasets.list()) == []


def test_unknown_ids_and_refused_state_changes_are_typed_errors(
    sdk: Client, sqlite_settings: Settings
) -> None:
    with pytest.raises(NotFound):
        sdk.models.get("mdl_nope")
    with pytest.raises(NotFound):
        sdk.models.predict("no-such-alias", "hello")
    dataset = sdk.datasets.upload(example_rows())
    job = sdk.jobs.create(
        dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB, validation_split=0.2
    )
    run_queued_jobs(sqlite_settings)

    with pytest.raises(Conflict) as refused:
        sdk.jobs.cancel(job)

    assert "already ended succeeded" in refused.value.detail


def test_wait_follows_the_event_stream_to_the_end(sdk: Client, sqlite_settings: Settings) -> None:
    dataset = sdk.datasets.upload(example_rows())
    job = sdk.jobs.create(
        dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB, validation_split=0.2
    )
    updates: list[JobUpdate] = []
    runner = threading.Thread(target=run_queued_jobs, args=(sqlite_settings,))

    def follow(update: JobUpdate) -> None:
        updates.append(update)
        if not runner.is_alive() and len(updates) == 1:
            runner.start()

    ended = sdk.jobs.wait(job, on_progress=follow, timeout=120)
    runner.join()

    events = [u.event for u in updates if u.event is not None]
    epochs = [e.data["epoch"] for e in events if e.type == "metrics" and "validation" in e.data]
    assert ended.status == "succeeded"
    assert ended.model_id
    assert updates[0].status == "queued"
    assert updates[-1].status == "succeeded"
    assert epochs == [1, 2, 3]
    assert any(u.event is None and u.progress.total_steps for u in updates), "progress snapshots"
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})
    assert [e.sequence for e in sdk.jobs.events(job, page_size=2)] == [e.sequence for e in events]


def test_model_predict_evaluation_download_and_alias_history(
    sdk: Client, sqlite_settings: Settings, tmp_path: Path
) -> None:
    dataset = sdk.datasets.upload(example_rows())
    first, second = (
        sdk.jobs.create(
            dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB, validation_split=0.2
        )
        for _ in range(2)
    )
    run_queued_jobs(sqlite_settings)
    first_model, second_model = (sdk.jobs.get(job).model_id or "" for job in (first, second))

    sdk.aliases.set("router", first_model, reason="first")
    sdk.aliases.set("router", second_model, reason="second")
    rolled = sdk.aliases.rollback("router", reason="second was worse")
    predictions = sdk.models.predict("router", ["hello there", "refund my payment"], top_k=2)
    evaluation = sdk.models.evaluation(first_model)
    with jobs_running(sqlite_settings):
        scored = sdk.models.evaluate(first_model, dataset, timeout=120)
        accelerated = sdk.models.accelerate(first_model, method="onnx", max_accuracy_drop=0.0)
    folder = sdk.models.download(first_model, tmp_path / "models")

    assert rolled.model_id == first_model
    assert [move.reason for move in sdk.aliases.history("router")] == [
        "second was worse",
        "second",
        "first",
    ]
    assert predictions.model_id == first_model
    assert [len(p.scores) for p in predictions.predictions] == [2, 2]
    assert {"accuracy", "macro_f1", "per_label"} <= set(evaluation.report)
    assert scored.dataset_id == dataset.id
    assert accelerated.agreement == 1.0
    assert sdk.models.get(first_model).acceleration == accelerated
    assert folder == tmp_path / "models" / first_model
    assert (folder / "config.json").is_file()
    assert (folder / "adaptd.json").is_file()


def test_download_whose_files_do_not_match_the_manifest_is_refused(tmp_path: Path) -> None:
    import tarfile

    folder = tmp_path / "mdl_x"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"tampered")
    (folder / "adaptd.json").write_text(json.dumps({"checksums": {"weights.bin": "0" * 64}}))
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="mdl_x")

    with pytest.raises(CorruptDownload, match=r"weights\.bin"):
        unpack(archive, tmp_path / "out")


def test_wait_skips_keep_alives_between_events(
    sdk: Client, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_stream, "KEEP_ALIVE_SECONDS", 0.0)
    monkeypatch.setattr(event_stream, "POLL_SECONDS", 0.05)
    dataset = sdk.datasets.upload(example_rows())
    job = sdk.jobs.create(
        dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB, validation_split=0.2
    )
    runner = threading.Timer(0.5, run_queued_jobs, args=(sqlite_settings,))
    runner.start()

    ended = sdk.jobs.wait(job, timeout=120)
    runner.join()

    assert ended.status == "succeeded"


def test_quotas_tell_the_teams_limits_and_what_it_holds(sdk: Client, settings: Settings) -> None:
    quotas = sdk.quotas.get()

    assert quotas.limits.active_jobs == settings.quota_active_jobs
    assert quotas.limits.requests_per_minute == settings.quota_requests_per_minute
    assert quotas.overrides == {}
    assert quotas.usage["api_keys"] == 1
    assert quotas.usage["active_jobs"] == 0


def test_an_admin_key_pages_through_the_teams_audit_log(sdk: Client) -> None:
    first = sdk.datasets.upload(example_rows())
    second = sdk.datasets.upload(example_rows())
    sdk.datasets.delete(first)

    logged = list(sdk.audit.list(page_size=2))

    assert [(e.action, e.resource) for e in logged] == [
        ("delete_dataset", first.id),
        ("create_dataset", second.id),
        ("create_dataset", first.id),
    ]
    assert [e.resource for e in sdk.audit.list(action="delete_dataset")] == [first.id]


def test_an_admin_key_makes_a_pipeline_key_that_cannot_change_webhooks_and_revokes_it(
    app_client: TestClient, sdk: Client
) -> None:
    made = sdk.keys.create("pipeline")
    assert made.key
    pipeline = Client("http://testserver", made.key, http=app_client, retries=NO_WAIT)
    dataset = pipeline.datasets.upload(example_rows())
    with pytest.raises(Forbidden, match="admin"):
        pipeline.webhooks.create("https://93.184.215.14/adaptd", ["job.succeeded"])
    listed = {key.id: key for key in sdk.keys.list()}
    sdk.keys.revoke(made)

    assert made.scopes == ["read", "write"]
    assert listed[made.id].key is None
    assert dataset.num_examples == len(example_rows())
    with pytest.raises(Unauthorized):
        list(pipeline.datasets.list())


def test_an_acceleration_that_loses_accuracy_raises_job_failed_and_serves_as_before(
    sdk: Client, sqlite_settings: Settings
) -> None:
    job = sdk.jobs.create(sdk.datasets.upload(example_rows()), base_model=TINY_BASE_MODEL)
    run_queued_jobs(sqlite_settings)
    model_id = sdk.jobs.get(job).model_id or ""
    with_a_head_int8_cannot_hold(sqlite_settings.artifact_root / model_id)
    served = sdk.models.predict(model_id, PROBE_TEXTS).predictions
    dataset = sdk.datasets.upload(
        [{"text": t, "label": p.label or ""} for t, p in zip(PROBE_TEXTS, served, strict=True)]
    )

    with jobs_running(sqlite_settings), pytest.raises(JobFailed) as failed:
        sdk.models.accelerate(model_id, method="int8", dataset=dataset, timeout=120)

    assert failed.value.job.error.code == "accuracy_drop_too_large"
    assert sdk.models.get(model_id).acceleration is None
