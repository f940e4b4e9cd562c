"""`AsyncClient`: the service's resources over an asyncio httpx client."""

import asyncio
import builtins
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, Unpack

import httpx
from httpx_sse import EventSource

from adaptd.client import api, config
from adaptd.client.api import JobOptions, id_of
from adaptd.client.archives import unpack
from adaptd.client.calls import DEFAULT_PAGE_SIZE, Call, nothing
from adaptd.client.errors import ConnectionFailed, JobFailed
from adaptd.client.paging import AsyncPager
from adaptd.client.retries import Retries
from adaptd.client.signing import fire_call
from adaptd.client.transport import DEFAULT_TIMEOUT, AsyncTransport
from adaptd.client.types import (
    Acceleration,
    Alias,
    AliasMove,
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
    TriggerFired,
    TriggerRun,
    Webhook,
)
from adaptd.client.updates import ProgressCallback
from adaptd.client.uploads import Source, upload_call
from adaptd.client.waiting import Follow


class AsyncClient:
    """A connection to adaptd. `url` and `api_key` default to `ADAPTD_URL` and `ADAPTD_API_KEY`
    (see `adaptd.client.config.resolve`); calls are retried on broken connections, 429 and
    503 as `retries` allows, and raise `adaptd.client.errors` exceptions on error answers."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        connection = config.resolve(url, api_key)
        self._http = http or httpx.AsyncClient(base_url=connection.url, timeout=timeout)
        self._transport = AsyncTransport(connection, self._http, retries or Retries())
        self.datasets = Datasets(self._transport)
        self.jobs = Jobs(self._transport)
        self.models = Models(self._transport)
        self.aliases = Aliases(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.triggers = Triggers(self._transport)
        self.strategies = Strategies(self._transport)
        self.quotas = TeamQuotas(self._transport)
        self.audit = TeamAudit(self._transport)
        self.keys = TeamKeys(self._transport)

    @property
    def url(self) -> str:
        return self._transport.connection.url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Resource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def _send(self, call: Call[Any]) -> Any:
        return await self._transport.send(call)


class Datasets(_Resource):
    async def upload(
        self,
        source: Source,
        *,
        name: str | None = None,
        text_column: str | None = None,
        label_column: str | None = None,
    ) -> Dataset:
        """Upload a `.csv` / `.jsonl` file, or rows like `{"text": ..., "label": ...}`."""
        call = upload_call(source, name=name, text_column=text_column, label_column=label_column)
        return await self._transport.send(call)

    async def get(self, dataset: str | Dataset) -> Dataset:
        return await self._transport.send(api.get_dataset(id_of(dataset)))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[Dataset]:
        return AsyncPager(self._send, lambda after: api.list_datasets(after, page_size))

    async def delete(self, dataset: str | Dataset) -> None:
        await self._transport.send(api.delete_dataset(id_of(dataset)))


class Jobs(_Resource):
    async def create(
        self,
        dataset: str | Dataset | None,
        *,
        strategy: str = "full",
        **options: Unpack[JobOptions],
    ) -> Job:
        """Queue a job; it answers at once with the job `queued`. See `wait`."""
        dataset_id = id_of(dataset) if dataset is not None else None
        return await self._transport.send(api.create_job(dataset_id, strategy, options))

    async def get(self, job: str | Job) -> Job:
        return await self._transport.send(api.get_job(id_of(job)))

    def list(
        self, *, status: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncPager[Job]:
        return AsyncPager(self._send, lambda after: api.list_jobs(after, page_size, status))

    async def cancel(self, job: str | Job) -> Job:
        return await self._transport.send(api.cancel_job(id_of(job)))

    async def delete(self, job: str | Job) -> None:
        await self._transport.send(api.delete_job(id_of(job)))

    def events(self, job: str | Job, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[JobEvent]:
        job_id = id_of(job)
        return AsyncPager(self._send, lambda after: api.list_job_events(job_id, after, page_size))

    async def wait(
        self,
        job: str | Job,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> Job:
        """Follow the job's event stream until it has ended and return it as it ended.
        `on_progress` gets every logged event and progress snapshot, each once; a dropped
        connection is resumed after the last event seen (`Last-Event-ID`). A job that has
        already ended is returned at once."""
        current = await self.get(job)
        follow = Follow(current, self._transport.retries, on_progress, timeout)
        while not current.ended:
            try:
                response = await self._transport.open(follow.call(), read=False)
                try:
                    async for message in EventSource(response).aiter_sse():
                        follow.receive(message)
                finally:
                    await response.aclose()
            except (httpx.TransportError, ConnectionFailed) as error:
                await asyncio.sleep(follow.broke(error))
                continue
            follow.check()
            current = await self.get(current.id)
            if not current.ended:
                await asyncio.sleep(follow.reopen_delay())
        return current


class Models(_Resource):
    async def get(self, model: str | Model) -> Model:
        return await self._transport.send(api.get_model(id_of(model)))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[Model]:
        return AsyncPager(self._send, lambda after: api.list_models(after, page_size))

    async def update(self, model: str | Model, *, abstain_threshold: float | None) -> Model:
        return await self._transport.send(api.update_model(id_of(model), abstain_threshold))

    async def delete(self, model: str | Model) -> None:
        await self._transport.send(api.delete_model(id_of(model)))

    async def predict(
        self,
        model_or_alias: str | Model,
        texts: str | Sequence[str],
        *,
        top_k: int | None = None,
        thresholds: float | Mapping[str, float] | None = None,
        abstain_threshold: float | None = None,
    ) -> Predictions:
        call = api.predict(
            id_of(model_or_alias),
            texts,
            top_k=top_k,
            thresholds=thresholds,
            abstain_threshold=abstain_threshold,
        )
        return await self._transport.send(call)

    async def start_evaluation(self, model: str | Model, dataset: str | Dataset) -> Job:
        """Queue a job that scores the model on a labeled dataset of the team."""
        return await self._transport.send(api.evaluate(id_of(model), id_of(dataset)))

    async def evaluate(
        self, model: str | Model, dataset: str | Dataset, *, timeout: float | None = None
    ) -> Evaluation:
        """Score the model on a labeled dataset of the team (a job, run by a worker; this
        waits for it) and return the report, which is kept. Raises JobFailed if it fails."""
        await self._finished(await self.start_evaluation(model, dataset), timeout)
        return await self.evaluation(model, dataset=dataset)

    async def evaluation(
        self, model: str | Model, *, dataset: str | Dataset | None = None
    ) -> Evaluation:
        """The validation report, or the latest on `dataset`."""
        dataset_id = id_of(dataset) if dataset is not None else None
        return await self._transport.send(api.get_evaluation(id_of(model), dataset_id))

    async def accelerate(
        self,
        model: str | Model,
        *,
        method: str = "int8",
        dataset: str | Dataset | None = None,
        max_accuracy_drop: float | None = None,
        timeout: float | None = None,
    ) -> Acceleration:
        """Serve the model on `method` once a job (run by a worker; this waits for it) has
        measured that accuracy falls by at most `max_accuracy_drop`; the measurement.
        Raises JobFailed (code `accuracy_drop_too_large`) when it falls further."""
        job = await self.start_acceleration(
            model, method=method, dataset=dataset, max_accuracy_drop=max_accuracy_drop
        )
        ended = await self._finished(job, timeout)
        return Acceleration.model_validate(ended.result)

    async def start_acceleration(
        self,
        model: str | Model,
        *,
        method: str = "int8",
        dataset: str | Dataset | None = None,
        max_accuracy_drop: float | None = None,
    ) -> Job:
        """Queue the job that measures `method` and switches the model to it if it holds."""
        dataset_id = id_of(dataset) if dataset is not None else None
        call = api.accelerate(id_of(model), method, dataset_id, max_accuracy_drop)
        return await self._transport.send(call)

    async def _finished(self, job: Job, timeout: float | None) -> Job:
        ended = await Jobs(self._transport).wait(job, timeout=timeout)
        if ended.status != "succeeded":
            raise JobFailed(ended)
        return ended

    async def stop_acceleration(self, model: str | Model) -> None:
        await self._transport.send(api.stop_acceleration(id_of(model)))

    async def download(self, model: str | Model, directory: str | Path) -> Path:
        """Download the artifact into `directory`, checked against its manifest; returns the
        model's folder (a Hugging Face directory for `full` models)."""
        call = Call("GET", api.download_path(id_of(model)), nothing)
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "model.tar.gz"
            response = await self._transport.open(call, read=False)
            try:
                with archive.open("wb") as file:
                    async for chunk in response.aiter_bytes():
                        file.write(chunk)
            finally:
                await response.aclose()
            return await asyncio.to_thread(unpack, archive, Path(directory))


class Aliases(_Resource):
    async def set(self, name: str, model: str | Model, *, reason: str | None = None) -> Alias:
        """Create the alias, or move it to `model`; the move is kept in its history."""
        return await self._transport.send(api.set_alias(name, id_of(model), reason))

    async def get(self, name: str) -> Alias:
        return await self._transport.send(api.get_alias(name))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[Alias]:
        return AsyncPager(self._send, lambda after: api.list_aliases(after, page_size))

    async def rollback(self, name: str, *, reason: str | None = None) -> Alias:
        """Move the alias back one step; repeated rollbacks walk further back."""
        return await self._transport.send(api.rollback_alias(name, reason))

    async def history(self, name: str) -> builtins.list[AliasMove]:
        """Every move of the alias, newest first."""
        return (await self.get(name)).history

    async def delete(self, name: str) -> None:
        await self._transport.send(api.delete_alias(name))


class Webhooks(_Resource):
    async def create(self, url: str, events: Sequence[str]) -> Webhook:
        """Subscribe `url`; the answer's `secret` is shown only here."""
        return await self._transport.send(api.create_webhook(url, events))

    async def get(self, webhook: str | Webhook) -> Webhook:
        return await self._transport.send(api.get_webhook(id_of(webhook)))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[Webhook]:
        return AsyncPager(self._send, lambda after: api.list_webhooks(after, page_size))

    async def update(
        self,
        webhook: str | Webhook,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        return await self._transport.send(api.update_webhook(id_of(webhook), url, events, enabled))

    async def rotate_secret(self, webhook: str | Webhook) -> Webhook:
        return await self._transport.send(api.rotate_webhook_secret(id_of(webhook)))

    async def delete(self, webhook: str | Webhook) -> None:
        await self._transport.send(api.delete_webhook(id_of(webhook)))

    def deliveries(
        self, webhook: str | Webhook, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncPager[Delivery]:
        webhook_id = id_of(webhook)
        return AsyncPager(
            self._send, lambda after: api.list_deliveries(webhook_id, after, page_size)
        )

    async def redeliver(self, webhook: str | Webhook, delivery: str | Delivery) -> Delivery:
        return await self._transport.send(api.redeliver(id_of(webhook), id_of(delivery)))


class Triggers(_Resource):
    async def create(
        self,
        name: str,
        *,
        dataset: str | Dataset,
        alias: str,
        gate: Mapping[str, Any],
        job: Mapping[str, Any] | None = None,
    ) -> Trigger:
        """A retraining trigger; the answer's `url` and `secret` (shown only here) are what a
        pipeline needs to `fire` it."""
        call = api.create_trigger(name, id_of(dataset), alias, gate, job)
        return await self._transport.send(call)

    async def get(self, trigger: str | Trigger) -> Trigger:
        return await self._transport.send(api.get_trigger(id_of(trigger)))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[Trigger]:
        return AsyncPager(self._send, lambda after: api.list_triggers(after, page_size))

    async def delete(self, trigger: str | Trigger) -> None:
        await self._transport.send(api.delete_trigger(id_of(trigger)))

    async def rotate_secret(self, trigger: str | Trigger) -> Trigger:
        """A new signing secret (in `secret`, shown only now); the previous one still
        verifies during the server's grace period."""
        return await self._transport.send(api.rotate_trigger_secret(id_of(trigger)))

    def runs(
        self, trigger: str | Trigger, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncPager[TriggerRun]:
        trigger_id = id_of(trigger)
        return AsyncPager(
            self._send, lambda after: api.list_trigger_runs(trigger_id, after, page_size)
        )

    async def fire(
        self,
        url: str,
        secret: str,
        examples: Sequence[Mapping[str, Any]] | None = None,
    ) -> TriggerFired:
        """Fire a trigger at its `url`, signed with its `secret` (no API key is sent). A retry
        carries the same `webhook-id`, so the service starts one retrain however often the
        call is repeated."""
        return await self._transport.send(fire_call(url, secret, examples))


class Strategies(_Resource):
    async def list(self) -> list[Strategy]:
        return (await self._transport.send(api.list_strategies())).data


class TeamKeys(_Resource):
    """The team's API keys, managed with a key that has the `admin` scope."""

    async def create(self, name: str, *, scopes: Sequence[str] = ("read", "write")) -> ApiKey:
        """A new key for this team; its secret (`key`) is in this answer only."""
        return await self._transport.send(api.create_key(name, scopes))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncPager[ApiKey]:
        return AsyncPager(self._send, lambda after: api.list_keys(after, page_size))

    async def revoke(self, key: str | ApiKey) -> None:
        """Revoke another of the team's keys (a key cannot revoke itself)."""
        await self._transport.send(api.revoke_key(id_of(key)))


class TeamAudit(_Resource):
    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncPager[AuditEntry]:
        """The team's writes, newest first (needs a key with the `admin` scope)."""
        return AsyncPager(
            self._send,
            lambda after: api.list_audit_entries(after, page_size, actor, action, resource),
        )


class TeamQuotas(_Resource):
    async def get(self) -> Quotas:
        """This key's team's limits and what it holds of them now."""
        return await self._transport.send(api.get_quotas())
