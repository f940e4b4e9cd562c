"""Dynamic micro-batching. Predict requests wait in a bounded lane per batch group (one model,
or every model reading one shared encoder); the lane's loop gathers what is waiting into one
forward pass on the inference thread and hands each request its rows.

Under no load a request runs at once; while a pass runs, the requests arriving meanwhile
gather, and the next pass takes them all (up to `max_batch_texts`), waiting at most
`max_wait_seconds` for more when it is not full. Requests are taken one per tenant (team) in
turn, so one team's backlog does not push another team's request out of the next pass. A full
lane, or a request that outlives `timeout_seconds`, is answered 503 with Retry-After."""

import asyncio
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from app.core.problems import Overloaded
from app.ml.predictor import Predictor, probabilities_together
from app.serving.metrics import ServingMetrics


@dataclass(frozen=True)
class BatchSettings:
    max_batch_texts: int = 64
    max_wait_seconds: float = 0.002
    max_queue_texts: int = 1024
    timeout_seconds: float = 30.0


@dataclass
class _Request:
    predictor: Predictor
    texts: list[str]
    future: asyncio.Future[torch.Tensor]


class Batcher:
    def __init__(
        self, settings: BatchSettings, executor: ThreadPoolExecutor, metrics: ServingMetrics
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.metrics = metrics
        self._lanes: dict[str, _Lane] = {}

    async def probabilities(
        self, predictor: Predictor, texts: list[str], *, tenant: str = ""
    ) -> torch.Tensor:
        """The rows of `texts`, computed in a forward pass shared with concurrent requests."""
        group = predictor.batch_group
        lane = self._lanes.get(group)
        if lane is None:
            lane = self._lanes[group] = _Lane(self, group, _lane_label(predictor))
        return await lane.submit(predictor, texts, tenant)

    def queued_texts(self) -> int:
        return sum(lane.queued_texts for lane in self._lanes.values())

    def _forget(self, lane: "_Lane") -> None:
        if self._lanes.get(lane.group) is lane:
            del self._lanes[lane.group]


class _Lane:
    def __init__(self, batcher: Batcher, group: str, label: str) -> None:
        self.batcher = batcher
        self.settings = batcher.settings
        self.group = group
        self.label = label
        self.pending: dict[str, deque[_Request]] = {}
        self.queued_texts = 0
        self.arrived = asyncio.Event()
        self.loop: asyncio.Task[None] | None = None
        self.pass_seconds = 0.0

    async def submit(self, predictor: Predictor, texts: list[str], tenant: str) -> torch.Tensor:
        settings = self.settings
        if self.queued_texts and self.queued_texts + len(texts) > settings.max_queue_texts:
            self.batcher.metrics.rejected.labels("queue_full").inc()
            raise Overloaded(
                f"{self.queued_texts} texts are already waiting for this model "
                f"(at most {settings.max_queue_texts}); retry after the time given",
                retry_after_seconds=self._retry_after(),
            )
        future: asyncio.Future[torch.Tensor] = asyncio.get_running_loop().create_future()
        self.pending.setdefault(tenant, deque()).append(_Request(predictor, texts, future))
        self._count(len(texts))
        self.arrived.set()
        if self.loop is None:
            self.loop = asyncio.create_task(self._run())
        try:
            return await asyncio.wait_for(future, settings.timeout_seconds)
        except TimeoutError:
            self.batcher.metrics.rejected.labels("timeout").inc()
            raise Overloaded(
                f"the prediction did not finish within {settings.timeout_seconds:g} s",
                retry_after_seconds=self._retry_after(),
            ) from None

    async def _run(self) -> None:
        try:
            while self.pending:
                batch = self._take()
                if batch:
                    await self._score(batch)
                if self.pending and self.queued_texts < self.settings.max_batch_texts:
                    await self._wait_for_company()
        finally:
            self.loop = None
            if not self.pending:
                self.batcher._forget(self)

    async def _wait_for_company(self) -> None:
        """Under load, let a partly filled batch wait a moment for more requests."""
        deadline = time.monotonic() + self.settings.max_wait_seconds
        while self.queued_texts < self.settings.max_batch_texts:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Request]:
        """Waiting requests up to the batch size (a larger single request goes alone), one
        tenant's oldest after another's; a tenant served goes to the back of the line."""
        batch: list[_Request] = []
        texts = 0
        while self.pending:
            tenant, waiting = next(iter(self.pending.items()))
            request = waiting[0]
            if batch and texts + len(request.texts) > self.settings.max_batch_texts:
                break
            waiting.popleft()
            del self.pending[tenant]
            if waiting:
                self.pending[tenant] = waiting
            self._count(-len(request.texts))
            if request.future.done():
                continue
            batch.append(request)
            texts += len(request.texts)
        return batch

    async def _score(self, batch: list[_Request]) -> None:
        metrics = self.batcher.metrics
        started = time.perf_counter()
        work = [(request.predictor, request.texts) for request in batch]
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self.batcher.executor, probabilities_together, work
            )
        except Exception as error:
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        elapsed = time.perf_counter() - started
        self.pass_seconds = elapsed
        metrics.batch_seconds.observe(elapsed)
        metrics.batch_size.observe(sum(len(request.texts) for request in batch))
        metrics.batch_requests.observe(len(batch))
        for request, rows in zip(batch, results, strict=True):
            if not request.future.done():
                request.future.set_result(rows)

    def _count(self, texts: int) -> None:
        self.queued_texts += texts
        self.batcher.metrics.queue_depth.labels(self.label).set(self.queued_texts)

    def _retry_after(self) -> int:
        passes = self.queued_texts / self.settings.max_batch_texts + 1
        return max(1, math.ceil(passes * self.pass_seconds))


def _lane_label(predictor: Predictor) -> str:
    if predictor.shared_encoder is not None:
        return f"base:{predictor.manifest.base_model}"
    return f"model:{predictor.name}"
