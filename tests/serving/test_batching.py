import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
import torch

from app.core.problems import Overloaded
from app.ml.predictor import Predictor, probabilities_together
from app.ml.sentence_classifier import SentenceClassifier
from app.serving.batcher import Batcher, BatchSettings
from app.serving.encoders import SharedEncoders
from app.serving.metrics import ServingMetrics

TEXTS = [
    "refund my money",
    "hi",
    "my card was charged twice last week and nobody answers my emails",
    "good morning to you",
    "hello friend, can you help me with a refund of a double charge?",
    "charged",
]
STRATEGIES = ["full", "lora", "frozen", "few_shot", "zero_shot"]


def one_by_one(predictor: Predictor, texts: list[str]) -> torch.Tensor:
    return torch.cat([predictor.probabilities([text]) for text in texts])


def _reads(predictor: Predictor) -> int:
    scorer = predictor.scorer
    assert isinstance(scorer, SentenceClassifier)
    return scorer.features.layers


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_batched_answer_equals_the_unbatched_one_for_every_input(
    predictors: dict[str, Predictor], strategy: str
) -> None:
    predictor = predictors[strategy]
    requests = [(predictor, TEXTS[:2]), (predictor, TEXTS[2:3]), (predictor, TEXTS[3:])]

    batched = torch.cat(probabilities_together(requests))

    torch.testing.assert_close(batched, one_by_one(predictor, TEXTS), atol=1e-5, rtol=1e-4)


def test_models_on_one_base_share_its_weights_and_one_forward_pass(
    predictors: dict[str, Predictor], shared_encoders: SharedEncoders
) -> None:
    sharing = [predictors["frozen"], predictors["frozen_b"], predictors["zero_shot"]]
    requests = [(sharing[0], TEXTS[:3]), (sharing[1], TEXTS[3:]), (sharing[2], TEXTS)]

    batched = probabilities_together(requests)

    assert shared_encoders.encoders_loaded == 1
    assert len({predictor.batch_group for predictor in sharing}) == 1
    assert [_reads(predictor) for predictor in sharing] == [2, 2, 1]
    assert predictors["few_shot"].batch_group != sharing[0].batch_group
    assert predictors["full"].batch_group != predictors["lora"].batch_group
    for (predictor, texts), rows in zip(requests, batched, strict=True):
        torch.testing.assert_close(rows, one_by_one(predictor, texts), atol=1e-5, rtol=1e-4)


def test_a_model_on_a_shared_base_holds_only_its_head(predictors: dict[str, Predictor]) -> None:
    head_only = predictors["frozen"].size_bytes
    own_encoder = predictors["few_shot"].size_bytes

    assert head_only < own_encoder / 10


def test_concurrent_requests_are_gathered_into_few_forward_passes(
    predictors: dict[str, Predictor], executor: ThreadPoolExecutor
) -> None:
    metrics = ServingMetrics()
    settings = BatchSettings(max_batch_texts=64, max_wait_seconds=0.05)
    models = [predictors["frozen"], predictors["frozen_b"], predictors["full"]]
    requests = [(models[index % 3], [TEXTS[index % len(TEXTS)]]) for index in range(30)]

    async def send_all() -> list[torch.Tensor]:
        batcher = Batcher(settings, executor, metrics)
        return await asyncio.gather(
            *(batcher.probabilities(predictor, texts) for predictor, texts in requests)
        )

    answers = asyncio.run(send_all())

    for (predictor, texts), rows in zip(requests, answers, strict=True):
        torch.testing.assert_close(rows, one_by_one(predictor, texts), atol=1e-5, rtol=1e-4)
    passes = metrics.batch_size.collect()[0].samples
    count = next(sample.value for sample in passes if sample.name.endswith("_count"))
    assert count <= 4


def _blocked(executor: ThreadPoolExecutor) -> threading.Event:
    release = threading.Event()
    executor.submit(release.wait, 30)
    return release


def test_a_full_queue_answers_overloaded_with_retry_after_and_loses_no_queued_request(
    predictors: dict[str, Predictor], executor: ThreadPoolExecutor
) -> None:
    predictor = predictors["full"]
    metrics = ServingMetrics()
    batcher = Batcher(BatchSettings(max_batch_texts=2, max_queue_texts=2), executor, metrics)
    release = _blocked(executor)

    async def scenario() -> tuple[list[torch.Tensor], Overloaded]:
        running = asyncio.create_task(batcher.probabilities(predictor, TEXTS[:2]))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(batcher.probabilities(predictor, TEXTS[2:4]))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded) as refused:
            await batcher.probabilities(predictor, TEXTS[4:5])
        release.set()
        return list(await asyncio.gather(running, queued)), refused.value

    answers, refused = asyncio.run(scenario())

    assert refused.status == 503
    assert refused.headers is not None
    assert int(refused.headers["Retry-After"]) >= 1
    torch.testing.assert_close(
        torch.cat(answers), one_by_one(predictor, TEXTS[:4]), atol=1e-5, rtol=1e-4
    )
    assert metrics.rejected.labels("queue_full")._value.get() == 1


def test_a_request_past_its_timeout_is_answered_and_skipped_by_the_lane(
    predictors: dict[str, Predictor], executor: ThreadPoolExecutor
) -> None:
    predictor = predictors["full"]
    metrics = ServingMetrics()
    batcher = Batcher(BatchSettings(timeout_seconds=0.2), executor, metrics)
    release = _blocked(executor)

    async def scenario() -> torch.Tensor:
        with pytest.raises(Overloaded, match="did not finish within"):
            await batcher.probabilities(predictor, TEXTS[:1])
        release.set()
        return await batcher.probabilities(predictor, TEXTS[1:2])

    after = asyncio.run(scenario())

    torch.testing.assert_close(after, one_by_one(predictor, TEXTS[1:2]), atol=1e-5, rtol=1e-4)
    assert metrics.rejected.labels("timeout")._value.get() == 1
    assert batcher.queued_texts() == 0


def test_a_teams_backlog_does_not_push_another_team_out_of_the_next_pass(
    predictors: dict[str, Predictor], executor: ThreadPoolExecutor
) -> None:
    predictor = predictors["frozen"]
    batcher = Batcher(BatchSettings(max_batch_texts=2), executor, ServingMetrics())
    release = _blocked(executor)
    finished: list[str] = []

    async def scenario() -> None:
        requests = []
        for name, tenant in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("a4", "a"), ("b1", "b")]:
            task = asyncio.create_task(batcher.probabilities(predictor, TEXTS[:2], tenant=tenant))
            task.add_done_callback(partial(_record, finished, name))
            requests.append(task)
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*requests)

    asyncio.run(scenario())

    assert finished.index("b1") <= 2
    assert finished[0] == "a1"


def _record(finished: list[str], name: str, _task: object) -> None:
    finished.append(name)
