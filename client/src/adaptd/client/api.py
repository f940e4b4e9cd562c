"""Every endpoint of the service as a `Call`; the sync and async clients send the same ones."""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict
from urllib.parse import quote

from adaptd.client import calls
from adaptd.client.calls import Call, Page
from adaptd.client.types import (
    Alias,
    ApiKey,
    AuditEntry,
    Dataset,
    Delivery,
    Evaluation,
    Job,
    JobEvent,
    Model,
    Predictions,
    Quotas,
    Strategy,
    Trigger,
    TriggerRun,
    Webhook,
)


class JobOptions(TypedDict, total=False):
    """What `POST /v1/jobs` takes beside the dataset and the strategy."""

    hyperparameters: dict[str, Any]
    budget: Literal["low", "standard", "high"]
    budget_seconds: int
    search: dict[str, Any]
    base_model: str
    label_descriptions: dict[str, str]
    validation_split: float
    validation_dataset_id: str
    init_from_model: str
    metadata: dict[str, str | int | float | bool | None]
    max_attempts: int


def segment(value: str) -> str:
    return quote(value, safe="")


def id_of(resource: str | Any) -> str:
    """Calls take an id or the resource itself."""
    return resource if isinstance(resource, str) else str(resource.id)


# datasets


def get_dataset(dataset_id: str) -> Call[Dataset]:
    return calls.get(f"/v1/datasets/{segment(dataset_id)}", Dataset)


def list_datasets(after: str | None, limit: int) -> Call[Page[Dataset]]:
    return calls.list_page("/v1/datasets", Dataset, after=after, limit=limit)


def delete_dataset(dataset_id: str) -> Call[None]:
    return calls.delete(f"/v1/datasets/{segment(dataset_id)}")


# jobs


def create_job(dataset_id: str | None, strategy: str, options: JobOptions) -> Call[Job]:
    body = calls.without_none({"dataset_id": dataset_id, "strategy": strategy, **options})
    return calls.post("/v1/jobs", Job, body)


def get_job(job_id: str) -> Call[Job]:
    return calls.get(f"/v1/jobs/{segment(job_id)}", Job)


def list_jobs(after: str | None, limit: int, status: str | None) -> Call[Page[Job]]:
    return calls.list_page("/v1/jobs", Job, after=after, limit=limit, status=status)


def cancel_job(job_id: str) -> Call[Job]:
    return calls.post(f"/v1/jobs/{segment(job_id)}/cancel", Job)


def delete_job(job_id: str) -> Call[None]:
    return calls.delete(f"/v1/jobs/{segment(job_id)}")


def list_job_events(job_id: str, after: str | None, limit: int) -> Call[Page[JobEvent]]:
    return calls.list_page(f"/v1/jobs/{segment(job_id)}/events", JobEvent, after=after, limit=limit)


def job_event_stream_path(job_id: str) -> str:
    return f"/v1/jobs/{segment(job_id)}/events/stream"


# models


def get_model(model_id: str) -> Call[Model]:
    return calls.get(f"/v1/models/{segment(model_id)}", Model)


def list_models(after: str | None, limit: int) -> Call[Page[Model]]:
    return calls.list_page("/v1/models", Model, after=after, limit=limit)


def update_model(model_id: str, abstain_threshold: float | None) -> Call[Model]:
    body = {"abstain_threshold": abstain_threshold}
    return calls.patch(f"/v1/models/{segment(model_id)}", Model, body)


def delete_model(model_id: str) -> Call[None]:
    return calls.delete(f"/v1/models/{segment(model_id)}")


def predict(
    model_or_alias: str,
    texts: str | Sequence[str],
    *,
    top_k: int | None,
    thresholds: float | Mapping[str, float] | None,
    abstain_threshold: float | None,
) -> Call[Predictions]:
    inputs = texts if isinstance(texts, str) else list(texts)
    body = calls.without_none(
        {
            "inputs": inputs,
            "top_k": top_k,
            "thresholds": thresholds if not isinstance(thresholds, Mapping) else dict(thresholds),
            "abstain_threshold": abstain_threshold,
        }
    )
    return calls.post(f"/v1/models/{segment(model_or_alias)}/predict", Predictions, body)


def evaluate(model_id: str, dataset_id: str) -> Call[Job]:
    body = {"dataset_id": dataset_id}
    return calls.post(f"/v1/models/{segment(model_id)}/evaluate", Job, body)


def get_evaluation(model_id: str, dataset_id: str | None) -> Call[Evaluation]:
    params = {"dataset_id": dataset_id} if dataset_id else None
    return calls.get(f"/v1/models/{segment(model_id)}/evaluation", Evaluation, params)


def accelerate(
    model_id: str, method: str, dataset_id: str | None, max_accuracy_drop: float | None
) -> Call[Job]:
    body = calls.without_none(
        {"method": method, "dataset_id": dataset_id, "max_accuracy_drop": max_accuracy_drop}
    )
    return calls.put(f"/v1/models/{segment(model_id)}/acceleration", Job, body)


def stop_acceleration(model_id: str) -> Call[None]:
    return calls.delete(f"/v1/models/{segment(model_id)}/acceleration")


def download_path(model_id: str) -> str:
    return f"/v1/models/{segment(model_id)}/download"


# aliases


def set_alias(name: str, model_id: str, reason: str | None) -> Call[Alias]:
    body = calls.without_none({"model_id": model_id, "reason": reason})
    return calls.put(f"/v1/aliases/{segment(name)}", Alias, body)


def get_alias(name: str) -> Call[Alias]:
    return calls.get(f"/v1/aliases/{segment(name)}", Alias)


def list_aliases(after: str | None, limit: int) -> Call[Page[Alias]]:
    return calls.list_page("/v1/aliases", Alias, after=after, limit=limit)


def rollback_alias(name: str, reason: str | None) -> Call[Alias]:
    body = calls.without_none({"reason": reason})
    return calls.post(f"/v1/aliases/{segment(name)}/rollback", Alias, body)


def delete_alias(name: str) -> Call[None]:
    return calls.delete(f"/v1/aliases/{segment(name)}")


# webhooks


def create_webhook(url: str, events: Sequence[str]) -> Call[Webhook]:
    return calls.post("/v1/webhooks", Webhook, {"url": url, "events": list(events)})


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return calls.get(f"/v1/webhooks/{segment(webhook_id)}", Webhook)


def list_webhooks(after: str | None, limit: int) -> Call[Page[Webhook]]:
    return calls.list_page("/v1/webhooks", Webhook, after=after, limit=limit)


def update_webhook(
    webhook_id: str, url: str | None, events: Sequence[str] | None, enabled: bool | None
) -> Call[Webhook]:
    body = calls.without_none(
        {"url": url, "events": list(events) if events is not None else None, "enabled": enabled}
    )
    return calls.patch(f"/v1/webhooks/{segment(webhook_id)}", Webhook, body)


def rotate_webhook_secret(webhook_id: str) -> Call[Webhook]:
    return calls.post(f"/v1/webhooks/{segment(webhook_id)}/rotate-secret", Webhook)


def delete_webhook(webhook_id: str) -> Call[None]:
    return calls.delete(f"/v1/webhooks/{segment(webhook_id)}")


def list_deliveries(webhook_id: str, after: str | None, limit: int) -> Call[Page[Delivery]]:
    path = f"/v1/webhooks/{segment(webhook_id)}/deliveries"
    return calls.list_page(path, Delivery, after=after, limit=limit)


def redeliver(webhook_id: str, delivery_id: str) -> Call[Delivery]:
    path = f"/v1/webhooks/{segment(webhook_id)}/deliveries/{segment(delivery_id)}/redeliver"
    return calls.post(path, Delivery)


# triggers


def create_trigger(
    name: str,
    dataset_id: str,
    alias: str,
    gate: Mapping[str, Any],
    job: Mapping[str, Any] | None,
) -> Call[Trigger]:
    body = calls.without_none(
        {
            "name": name,
            "dataset_id": dataset_id,
            "alias": alias,
            "gate": dict(gate),
            "job": dict(job) if job is not None else None,
        }
    )
    return calls.post("/v1/triggers", Trigger, body)


def get_trigger(trigger_id: str) -> Call[Trigger]:
    return calls.get(f"/v1/triggers/{segment(trigger_id)}", Trigger)


def list_triggers(after: str | None, limit: int) -> Call[Page[Trigger]]:
    return calls.list_page("/v1/triggers", Trigger, after=after, limit=limit)


def rotate_trigger_secret(trigger_id: str) -> Call[Trigger]:
    return calls.post(f"/v1/triggers/{segment(trigger_id)}/secret", Trigger)


def delete_trigger(trigger_id: str) -> Call[None]:
    return calls.delete(f"/v1/triggers/{segment(trigger_id)}")


def list_trigger_runs(trigger_id: str, after: str | None, limit: int) -> Call[Page[TriggerRun]]:
    path = f"/v1/triggers/{segment(trigger_id)}/runs"
    return calls.list_page(path, TriggerRun, after=after, limit=limit)


# strategies


def list_strategies() -> Call[Page[Strategy]]:
    return calls.Call("GET", "/v1/strategies", calls.page_reader(Strategy))


# audit


def create_key(name: str, scopes: Sequence[str]) -> Call[ApiKey]:
    return calls.post("/v1/keys", ApiKey, {"name": name, "scopes": list(scopes)})


def list_keys(after: str | None, limit: int) -> Call[Page[ApiKey]]:
    return calls.list_page("/v1/keys", ApiKey, after=after, limit=limit)


def revoke_key(key_id: str) -> Call[None]:
    return calls.delete(f"/v1/keys/{segment(key_id)}")


def list_audit_entries(
    after: str | None,
    limit: int,
    actor: str | None,
    action: str | None,
    resource: str | None,
) -> Call[Page[AuditEntry]]:
    return calls.list_page(
        "/v1/audit",
        AuditEntry,
        after=after,
        limit=limit,
        actor=actor,
        action=action,
        resource=resource,
    )


# quotas


def get_quotas() -> Call[Quotas]:
    return calls.Call("GET", "/v1/quotas", calls.reader(Quotas))
