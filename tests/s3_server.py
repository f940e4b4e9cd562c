"""An S3-compatible server on loopback (moto's server mode), reachable from every process a
test starts, that a test can stop and start again with its objects kept."""

import logging
import os
import secrets
import socket
from dataclasses import dataclass, field

import fsspec
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "adaptd-test",
    "AWS_SECRET_ACCESS_KEY": "adaptd-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3Server:
    port: int = field(default_factory=_free_port)
    _server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        os.environ.update(CREDENTIALS)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def new_bucket(self) -> str:
        name = f"adaptd-{secrets.token_hex(4)}"
        fsspec.filesystem("s3", endpoint_url=self.endpoint_url, skip_instance_cache=True).mkdir(
            name
        )
        return name

    def environment(self, bucket: str) -> dict[str, str]:
        """What an adaptd process needs to keep its artifacts in `bucket`."""
        return {
            **CREDENTIALS,
            "ADAPTD_ARTIFACT_STORE_URL": f"s3://{bucket}/artifacts",
            "ADAPTD_S3_ENDPOINT_URL": self.endpoint_url,
        }
