"""A live `adaptd serve` for the client tests, started the way a user starts it: in a working
directory, on its embedded default or on PostgreSQL, with the tiny model as the default base."""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.processes import adaptd_process, free_port, wait_for
from tests.tiny_model import TINY_BASE_MODEL

# Lets a service deliver webhooks to a receiver on this machine.
WEBHOOKS_TO_LOOPBACK = {"ADAPTD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}


@dataclass(frozen=True)
class LiveService:
    url: str
    workdir: Path
    log: Path

    @property
    def api_key(self) -> str:
        return (self.workdir / "adaptd-data" / "api-key").read_text().strip()

    def environment(self) -> dict[str, str]:
        """What a user's shell has: the service's URL; the key is found in `adaptd-data/`."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTD_")}
        return {**environment, "ADAPTD_URL": self.url, "HF_HUB_OFFLINE": "1"}


@contextmanager
def live_service(
    workdir: Path,
    tiny_model_path: str,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LiveService]:
    workdir.mkdir(parents=True, exist_ok=True)
    venv = workdir / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.executable).parent.parent)
    port, log = free_port(), workdir / "serve.log"
    env = {
        "ADAPTD_BASE_MODELS": json.dumps({TINY_BASE_MODEL: tiny_model_path}),
        "ADAPTD_DEFAULT_BASE_MODEL": TINY_BASE_MODEL,
        "ADAPTD_RUNNER_POLL_SECONDS": "0.2",
        "ADAPTD_HEARTBEAT_SECONDS": "1",
        **({"ADAPTD_DATABASE_URL": database_url} if database_url else {}),
        **(extra_env or {}),
    }
    url = f"http://127.0.0.1:{port}"
    with adaptd_process(["serve", "--port", str(port)], env, log, cwd=workdir):
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "readiness", log)
        yield LiveService(url=url, workdir=workdir, log=log)
