"""A closed-loop HTTP load generator: `level` clients, each sending its next request when the
last one is answered. aiohttp, because on a small machine the load generator shares the cores
with the server, and httpx costs several times its CPU."""

import asyncio
import os
import random
import time
from dataclasses import dataclass

import aiohttp

PREDICT_PATH = "/v1/models/{model_id}/predict"
WARM_UP_SECONDS = 1.0


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    texts_per_second: float
    p50_ms: float
    p99_ms: float
    answered: int
    """Every request answered, the warm-up's included."""


def closed_loop(
    base: str,
    api_key: str,
    model_ids: list[str],
    texts: list[str],
    level: int,
    seconds: float,
    *,
    texts_per_request: int = 1,
    path: str = PREDICT_PATH,
    cpus: list[int] | None = None,
    body: dict[str, object] | None = None,
) -> Load:
    """Requests of `texts_per_request` random texts to random models of `model_ids`; the
    first second warms up and is not counted. With `cpus`, the calling thread (which runs the
    clients) is pinned to those cores."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    latencies: list[float] = []
    answered = 0
    warm_until = time.perf_counter() + WARM_UP_SECONDS
    stop_at = warm_until + seconds

    async def client_loop(client: aiohttp.ClientSession, number: int) -> None:
        nonlocal answered
        rng = random.Random(number)
        while time.perf_counter() < stop_at:
            model_id = rng.choice(model_ids)
            started = time.perf_counter()
            inputs = [rng.choice(texts) for _ in range(texts_per_request)]
            request = {"inputs": inputs, **(body or {})}
            async with client.post(path.format(model_id=model_id), json=request) as answer:
                answer.raise_for_status()
                await answer.read()
            answered += 1
            if started >= warm_until:
                latencies.append(time.perf_counter() - started)

    async def all_clients() -> None:
        connector = aiohttp.TCPConnector(limit=level)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(
            base, headers=headers, connector=connector, timeout=timeout
        ) as client:
            await asyncio.gather(*(client_loop(client, number) for number in range(level)))

    asyncio.run(all_clients())
    if not latencies:
        raise RuntimeError("no request was answered after the warm-up")
    latencies.sort()
    return Load(
        requests_per_second=len(latencies) / seconds,
        texts_per_second=len(latencies) * texts_per_request / seconds,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        answered=answered,
    )
