"""Log records are put on a queue by the thread that logs them and written out by a thread of
their own, so a request's access-log line never makes the event loop wait on a slow stderr."""

import logging
import queue
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def queued_logging(level: int = logging.INFO) -> Iterator[None]:
    """Route every record of the process through one queue to stderr, for the block."""
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(logging.Formatter(FORMAT))
    listener = QueueListener(records, writer, respect_handler_level=True)
    root = logging.getLogger()
    previous = root.handlers[:]
    root.handlers = [QueueHandler(records)]
    root.setLevel(level)
    listener.start()
    try:
        yield
    finally:
        listener.stop()
        root.handlers = previous
