"""How the API process spends its cores on inference.

Every forward pass runs on one inference thread, one batch at a time, and torch's intra-op
pool (ADAPTD_TORCH_THREADS, torch's default of one thread per core when unset) parallelises
inside it. One pass using every core beats several passes contending for them, and keeps the
event loop's thread free to take requests and gather the next batch."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

from app.core.config import Settings
from app.serving.batcher import BatchSettings


def use_torch_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


@contextmanager
def inference_thread() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adaptd-inference")
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def batch_settings(settings: Settings) -> BatchSettings:
    return BatchSettings(
        max_batch_texts=settings.predict_batch_max_texts,
        max_wait_seconds=settings.predict_batch_max_wait_ms / 1000,
        max_queue_texts=settings.predict_queue_max_texts,
        timeout_seconds=settings.predict_timeout_seconds,
    )
