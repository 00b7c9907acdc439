"""The whole platform: the training flow's champion served by a real API process, used over
HTTP, and the portal driven in headless Chromium (Debian's, installed by `make test`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Platform
from tests.support import BIN, REPO, free_port, start, stop, wait_http

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def api_url(
    platform_env: Platform,
    trained_demo: dict[str, Any],
    admin_credentials: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    from flows.monitor import monitor_flow

    monitor_flow(dataset="nyc_flights")  # so the health page has a drift report to show
    port = free_port()
    logs = tmp_path_factory.mktemp("api")
    process = start(
        [str(BIN / "astralytiq"), "serve", "--port", str(port)], logs / "api.log", platform_env.env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", 60, process)
        yield url
    finally:
        stop(process)


def test_served_forecast_over_http(
    api_url: str, admin_credentials: tuple[str, str], trained_demo: dict[str, Any]
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
    assert response.headers["x-model-version"] == trained_demo["version"]
    assert [len(f["points"]) for f in response.json()["forecasts"]] == [14, 14, 14]


@pytest.fixture(scope="module")
def portal_url(
    api_url: str, platform_env: Platform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
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


def test_log_in_and_see_a_forecast_in_a_real_browser(
    portal_url: str, admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    shots = _screenshot_dir(tmp_path)
    username, password = admin_credentials
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
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Log in").click()

        expect(page.get_by_role("heading", name="Forecasts")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Selected model")).to_be_visible()
        page.wait_for_timeout(1500)  # let Plotly finish drawing before the picture
        page.screenshot(path=str(shots / "portal-forecasts.png"), full_page=True)

        page.get_by_role("link", name="Model health").click()
        expect(page.get_by_text("Drifted share")).to_be_visible(timeout=60_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "portal-health.png"), full_page=True)

        page.get_by_role("link", name="Models").click()
        expect(page.get_by_text("Model chosen per series")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots / "portal-models.png"), full_page=True)

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=30_000)
        browser.close()
    assert (shots / "portal-forecasts.png").stat().st_size > 20_000
