"""The documentation builds without a broken link or reference, and every example in it runs
against a live `adaptd serve`."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.live import WEBHOOKS_TO_LOOPBACK, LiveService, live_service
from tests.client.readme import example
from tests.docs.examples import as_script, examples, pages_with_examples
from tests.webhook_receiver import Receiver, webhook_receiver

ROOT = Path(__file__).resolve().parents[2]
PAGES = pages_with_examples()


def test_documentation_builds_strictly(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert built.returncode == 0, built.stderr
    assert (tmp_path / "sdk" / "index.html").read_text().count("Follow the job") == 1


def test_the_pages_hold_the_examples_they_promise() -> None:
    names = {page.name for page in PAGES}

    assert {"api.md", "cli.md", "sdk.md", "webhooks.md"} <= names
    assert all(example.code.strip() for page in PAGES for example in examples(page))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiving:
        yield receiving


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_path: str, receiver: Receiver
) -> Iterator[LiveService]:
    workdir = tmp_path_factory.mktemp("docs")
    with live_service(workdir, tiny_model_path, extra_env=WEBHOOKS_TO_LOOPBACK) as live:
        subprocess.run(["bash", "-c", example("data")], cwd=workdir, check=True)
        yield live


@pytest.mark.e2e
@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_every_example_on_the_page_runs(
    page: Path, service: LiveService, receiver: Receiver
) -> None:
    environment = {
        **service.environment(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ADAPTD": service.url,
        "KEY": service.api_key,
        "ADAPTD_API_KEY": service.api_key,
        "HOOK_URL": receiver.url,
    }

    ran = subprocess.run(
        ["bash", "-c", as_script(page)],
        cwd=service.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert ran.returncode == 0, f"{page.name}:\n{ran.stdout[-4000:]}\n{ran.stderr[-4000:]}"
