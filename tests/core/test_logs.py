import logging
import logging.handlers

import pytest

from app.core.logs import queued_logging


def test_records_go_through_a_queue_and_reach_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with queued_logging():
        handlers = logging.getLogger().handlers
        logging.getLogger("uvicorn.access").info('%s - "%s %s"', "127.0.0.1", "POST", "/v1/x")

    assert len(handlers) == 1
    assert isinstance(handlers[0], logging.handlers.QueueHandler)
    assert 'INFO uvicorn.access: 127.0.0.1 - "POST /v1/x"' in capfd.readouterr().err
