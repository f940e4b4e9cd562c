"""The dashboard's pages and assets as the app serves them: security headers, no inline code,
the pinned chart libraries, and text that only ever enters the page as text."""

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.ui import STATIC

UI = STATIC.parent


def test_dashboard_is_served_with_a_strict_content_security_policy(app_client: TestClient) -> None:
    page = app_client.get("/ui")
    script = app_client.get("/ui/static/js/main.js")
    api = app_client.get("/healthz")

    policy = page.headers["content-security-policy"]
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "content-security-policy" in script.headers
    assert "content-security-policy" not in api.headers, "the API's answers are left alone"


def test_page_has_no_inline_scripts_styles_or_remote_assets() -> None:
    html = (STATIC / "index.html").read_text()

    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts
    assert all('src="/ui/static/' in attributes for attributes in scripts)
    assert "style=" not in html
    assert "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing is fetched from elsewhere"


def test_scripts_put_text_in_the_page_only_as_text() -> None:
    sources = {path.name: path.read_text() for path in (STATIC / "js").rglob("*.js")}

    for name, source in sources.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"
        assert "localStorage" not in source, f"{name}: the key stays in sessionStorage"


def test_vendored_chart_libraries_are_the_pinned_versions() -> None:
    pins = json.loads((UI / "package.json").read_text())["dependencies"]
    lock = json.loads((UI / "package-lock.json").read_text())["packages"]
    headers = {
        "chart.js": (STATIC / "vendor" / "chart.umd.min.js").read_text()[:200],
        "chartjs-chart-matrix": (STATIC / "vendor" / "chartjs-chart-matrix.min.js").read_text()[
            :200
        ],
    }

    for package, version in pins.items():
        assert lock[f"node_modules/{package}"]["version"] == version
        assert f"v{version}" in headers[package], f"static/vendor holds another {package}"
        assert any(Path(STATIC / "vendor").glob(f"{package}.LICENSE*"))
