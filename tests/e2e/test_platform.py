"""The whole platform: the training flow's champion served by a real API process, used over
HTTP, and the portal driven in headless Chromium (Debian's, installed by `make test`)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, start, stop, wait_http

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def api_url(api_server: str) -> str:
    return api_server


def test_served_forecast_over_http(
    api_url: str, admin_credentials: tuple[str, str], trained_demo: TrainOutcome
) -> None:
    username, password = admin_credentials
    token = httpx.post(f"{api_url}/v1/auth/token", data={"username": username, "password": password}).json()[
        "access_token"
    ]
    response = httpx.post(
        f"{api_url}/v1/models/nyc_flights/forecast",
        json={"series_ids": ["ATL", "MCO", "ORD"], "horizon": 14, "levels": [80, 95]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.headers["x-model-version"] == trained_demo.version
    assert [len(f["points"]) for f in response.json()["forecasts"]] == [14, 14, 14]


@pytest.fixture(scope="module")
def portal_url(
    api_url: str, platform_env: Platform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    # The portal talks to the real API process; its pipelines page lists the session's own flow
    # runs on the Prefect test server.
    port = free_port()
    logs = tmp_path_factory.mktemp("portal")
    process = start(
        [str(BIN / "astralytiq"), "portal", "--port", str(port)],
        logs / "portal.log",
        {**platform_env.env, "ASTRALYTIQ_API_URL": api_url},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_stcore/health", 90, process)
        yield url
    finally:
        stop(process)


def _screenshot_dir(tmp_path: Path) -> Path:
    # ASTRALYTIQ_SCREENSHOTS=docs refreshes the screenshots the README shows.
    target = os.environ.get("ASTRALYTIQ_SCREENSHOTS")
    return (REPO / target) if target else tmp_path


def nested_frame(page: Any, timeout: float = 60) -> Any:
    """The first frame inside a frame inside the page (the portal's sandbox in Streamlit's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.parent_frame is not None and frame.parent_frame.parent_frame is not None:
                return frame
        page.wait_for_timeout(250)
    raise AssertionError(f"no nested frame; frames: {[f.url for f in page.frames]}")


def test_log_in_and_see_a_forecast_in_a_real_browser(
    portal_url: str, admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    shots = _screenshot_dir(tmp_path)
    username, password = admin_credentials

    def shoot(page: Page, name: str) -> None:
        page.wait_for_timeout(1500)  # let Plotly finish drawing before the picture
        page.screenshot(path=str(shots / f"portal-{name}.png"), full_page=True)

    def open_page(page: Page, link: str, heading: str) -> None:
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(portal_url)
        expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=60_000)
        shoot(page, "login")
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Log in").click()

        expect(page.get_by_role("heading", name="Forecasts")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Selected model")).to_be_visible()
        # Below it, the version's forecast as trained against the December actuals since.
        expect(page.get_by_role("heading", name="Forecast vs actual")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Actuals arrived")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=60_000)
        shoot(page, "forecasts")
        page.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright
        expect(page.get_by_text("Selected model")).to_be_visible()
        shoot(page, "forecasts-tablet")
        page.set_viewport_size({"width": 1360, "height": 900})

        open_page(page, "Models", "Models")
        expect(page.get_by_text("Model chosen per series")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("tab", name="Promote a version")).to_be_visible()
        expect(page.get_by_role("heading", name="Backtest windows")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("fitted to")).to_be_visible(timeout=60_000)
        shoot(page, "models")

        open_page(page, "Model health", "Model health")
        expect(page.get_by_text("Drifted share")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        shoot(page, "health")
        # The Evidently report, in the real portal: drawn by its own scripts inside a frame
        # sandboxed without the portal's origin (portal/sandbox.py), nested in Streamlit's frame.
        page.get_by_text("Show the full Evidently report").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('iframe')].some(f => (f.srcdoc || '').includes('sandbox=\"allow-scripts allow-popups\"'))",
            timeout=60_000,
        )
        report = nested_frame(page)
        report.wait_for_selector("text=Dataset Drift", timeout=60_000)
        assert report.evaluate("window.origin") == "null"  # an opaque origin: not the portal's
        assert (
            report.evaluate(
                "(() => { try { return window.top.document.title; } catch (e) { return 'blocked'; } })()"
            )
            == "blocked"
        )
        page.get_by_text("Show the full Evidently report").click()
        page.get_by_role("tab", name="Live accuracy").click()
        # The session's monitor run scored the champion (or, before any actuals, says none yet).
        scored = page.get_by_text("Live MASE").or_(page.get_by_text("No served forecast has been scored yet"))
        expect(scored).to_be_visible(timeout=30_000)
        shoot(page, "health-accuracy")
        page.get_by_role("tab", name="Latency and throughput").click()
        expect(page.get_by_text("Requests served")).to_be_visible(timeout=30_000)
        shoot(page, "health-latency")

        open_page(page, "Pipelines", "Pipelines")
        expect(page.get_by_role("button", name="Start training")).to_be_visible(timeout=60_000)
        shoot(page, "pipelines")

        open_page(page, "Data quality", "Data quality")
        expect(page.get_by_text("Recent checks")).to_be_visible(timeout=60_000)
        shoot(page, "data-quality")

        open_page(page, "Users and keys", "Users and API keys")
        expect(page.get_by_text("Add a person")).to_be_visible(timeout=60_000)
        shoot(page, "admin")

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("You have logged out.")).to_be_visible()
        browser.close()
    assert (shots / "portal-forecasts.png").stat().st_size > 20_000
