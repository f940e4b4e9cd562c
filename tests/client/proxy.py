"""A real HTTP proxy in front of a live service that loses the answer to the first request it
is told to: the service does the work, the client's connection is closed unanswered."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@contextmanager
def answer_losing_proxy(
    upstream: str, loses: Callable[[str, str], bool]
) -> Iterator[tuple[str, list[str]]]:
    """Yields the proxy's URL and the list of requests whose answer it lost."""
    lost: list[str] = []
    lock = threading.Lock()
    forward = httpx.Client(base_url=upstream, timeout=120)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _proxy(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            answer = forward.request(self.command, self.path, headers=headers, content=body)
            with lock:
                lose = not lost and loses(self.command, self.path)
                if lose:
                    lost.append(f"{self.command} {self.path}")
            if lose:
                self.close_connection = True
                return
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                    self.send_header(name, value)
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _proxy  # noqa: N815 (http.server's names)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", lost
    finally:
        server.shutdown()
        server.server_close()
        forward.close()
