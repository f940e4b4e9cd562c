"""The dashboard end to end in headless Chromium against a live `adaptd serve`, with hostile
label names: sign in, watch a job succeed, open its model, predict, roll an alias back."""

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect, sync_playwright

from adaptd.client import Client
from tests.client.live import WEBHOOKS_TO_LOOPBACK, LiveService, live_service
from tests.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.e2e

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM = os.environ.get("ADAPTD_CHROMIUM", "/usr/bin/chromium")
TINY_JOB = {"epochs": 12, "batch_size": 4, "learning_rate": 1e-3}


def hostile_rows() -> list[dict[str, str]]:
    texts = {
        "billing": ["refund my payment", "charged twice", "invoice is wrong", "update my card"],
        HOSTILE: ["app crashes", "cannot log in", "blank screen", "upload fails", "sync broke"],
        "<b>feature</b>": ["add dark mode", "export to pdf", "pdf please", "share folders", "sso"],
    }
    rows = [{"text": t, "label": label} for label, items in texts.items() for t in items]
    return [*rows, {"text": "<script>alert('text')</script> my bill", "label": "billing"}]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiving:
        yield receiving


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_path: str, receiver: Receiver
) -> Iterator[LiveService]:
    workdir = tmp_path_factory.mktemp("dashboard")
    with live_service(workdir, tiny_model_path, extra_env=WEBHOOKS_TO_LOOPBACK) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM), f"the dashboard tests need Chromium at {CHROMIUM}"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ADAPTD_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watched:
    """A page whose dialogs (an injected `alert`) and console errors (a CSP violation, a
    failed script) are recorded, so that a test can assert there were none."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


def sign_in(watched: Watched, service: LiveService) -> None:
    page = watched.page
    page.goto(f"{service.url}/ui")
    page.fill("input[name=api-key]", service.api_key)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Datasets")


def test_job_to_prediction_and_rollback_in_the_browser(
    service: LiveService, browser: Browser, screenshots: Path
) -> None:
    with Client(service.url, service.api_key) as sdk:
        dataset = sdk.datasets.upload(hostile_rows(), name="<b>hostile</b> support")
        earlier = sdk.jobs.wait(sdk.jobs.create(dataset, strategy="frozen"))
        job = sdk.jobs.create(dataset, hyperparameters=TINY_JOB, validation_split=0.25)
        watched = Watched(browser.new_page(viewport={"width": 1280, "height": 900}))
        page = watched.page

        sign_in(watched, service)
        page.goto(f"{service.url}/ui#/jobs/{job.id}")
        expect(page.locator("[data-job-status]")).to_have_text("succeeded", timeout=120_000)
        expect(page.locator("canvas[data-chart='training curves']")).to_be_visible()
        page.screenshot(path=screenshots / "job.png", full_page=True)
        model_id = sdk.jobs.get(job).model_id
        assert model_id

        page.get_by_role("link", name=model_id).click()
        expect(page.locator("canvas[data-chart='confusion matrix']")).to_be_visible()
        expect(page.locator("canvas[data-chart='reliability diagram']")).to_be_visible()
        expect(page.get_by_role("cell", name=HOSTILE).first).to_be_visible()
        page.fill("textarea[name=text]", "refund my payment, I was charged twice")
        page.get_by_role("button", name="Predict").click()
        expect(page.locator("[data-scores] .score-row")).to_have_count(3)
        best = page.locator("[data-best]").inner_text()
        shown_labels = page.locator("[data-scores] .score-row .label").all_inner_texts()
        page.screenshot(path=screenshots / "model.png", full_page=True)

        sdk.aliases.set("router", earlier.model_id or "", reason="first")
        sdk.aliases.set("router", model_id, reason=f"better {HOSTILE}")
        page.get_by_role("link", name="Aliases").click()
        page.locator("[data-rollback=router]").click()
        expect(page.locator("[data-alias-model=router]")).to_have_text(earlier.model_id or "")
        page.screenshot(path=screenshots / "aliases.png", full_page=True)
        alias = sdk.aliases.get("router")

    assert best in {"billing", HOSTILE, "<b>feature</b>"}
    assert sorted(shown_labels) == sorted(["billing", HOSTILE, "<b>feature</b>"])
    assert alias.model_id == earlier.model_id
    assert alias.history[0].is_rollback
    assert watched.dialogs == ["confirm: Move router back one step?"], "no injected alert ran"
    assert watched.errors == []


def test_hostile_names_are_shown_as_text_everywhere(
    service: LiveService, browser: Browser, screenshots: Path
) -> None:
    with Client(service.url, service.api_key) as sdk:
        dataset = sdk.datasets.upload(hostile_rows(), name=f"{HOSTILE} support")
    watched = Watched(browser.new_page(viewport={"width": 390, "height": 844}))
    page = watched.page

    sign_in(watched, service)
    expect(page.get_by_role("cell", name=f"{HOSTILE} support")).to_be_visible()
    page.goto(f"{service.url}/ui#/datasets/{dataset.id}")
    expect(page.locator("h1")).to_have_text(f"{HOSTILE} support")
    expect(page.locator("canvas[data-chart='label distribution']")).to_be_visible()
    page.screenshot(path=screenshots / "dataset-phone.png", full_page=True)
    injected = page.evaluate("document.querySelectorAll('main img, main b, main script').length")
    width = page.evaluate("document.documentElement.scrollWidth")

    assert injected == 0
    assert width <= 390, "readable on a phone without sideways scrolling"
    assert watched.dialogs == []
    assert watched.errors == []


def test_the_key_stays_in_the_tab_and_a_wrong_one_is_refused(
    service: LiveService, browser: Browser
) -> None:
    watched = Watched(browser.new_page())
    page = watched.page
    page.goto(f"{service.url}/ui")
    page.fill("input[name=api-key]", "adk_not_a_key")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("not known")

    sign_in(watched, service)
    stored = page.evaluate("sessionStorage.getItem('adaptd.api-key')")
    persisted = page.evaluate("localStorage.length")
    url_after_sign_in = page.url
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("input[name=api-key]")).to_be_visible()
    after_sign_out = page.evaluate("sessionStorage.getItem('adaptd.api-key')")
    policy = httpx.get(f"{service.url}/ui").headers["content-security-policy"]

    assert stored == service.api_key
    assert persisted == 0
    assert service.api_key not in url_after_sign_in
    assert not re.search(r"adk_", url_after_sign_in)
    assert after_sign_out is None
    assert "script-src 'self'" in policy


def test_webhook_deliveries_and_trigger_decisions_in_the_browser(
    service: LiveService, browser: Browser, receiver: Receiver, screenshots: Path
) -> None:
    with Client(service.url, service.api_key) as sdk:
        webhook = sdk.webhooks.create(receiver.url, ["job.succeeded", "retrain.promoted"])
        dataset = sdk.datasets.upload(hostile_rows(), name="triggered")
        trigger = sdk.triggers.create(
            f"nightly {HOSTILE}",
            dataset=dataset,
            alias="triggered",
            gate={"metric": "accuracy", "min_delta": 0.0, "eval_dataset_id": dataset.id},
            job={"strategy": "frozen"},
        )
        sdk.triggers.fire(trigger.url, trigger.secret or "")
        decision = _decided(sdk, trigger.id)
    watched = Watched(browser.new_page(viewport={"width": 1280, "height": 900}))
    page = watched.page

    sign_in(watched, service)
    page.goto(f"{service.url}/ui#/triggers/{trigger.id}")
    expect(page.locator("h1")).to_have_text(f"nightly {HOSTILE}")
    expect(page.locator("td .badge")).to_have_text(decision)
    page.screenshot(path=screenshots / "trigger.png", full_page=True)
    page.goto(f"{service.url}/ui#/webhooks/{webhook.id}")
    expect(page.get_by_role("cell", name="job.succeeded").first).to_be_visible()
    expect(page.locator("td .badge.delivered").first).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshots / "webhook.png", full_page=True)

    assert watched.dialogs == []
    assert watched.errors == []


def _decided(sdk: Client, trigger_id: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = list(sdk.triggers.runs(trigger_id))
        if runs and runs[0].status in {"promoted", "rejected", "failed"}:
            return runs[0].status
        time.sleep(0.3)
    raise AssertionError(f"trigger {trigger_id} made no decision")
