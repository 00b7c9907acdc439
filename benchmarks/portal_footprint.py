"""Portal footprint: resident memory of the real portal with one logged-in browser session,
against two named peers in the same run: a minimal Streamlit app and `streamlit hello`.

    .venv/bin/python -m benchmarks.portal_footprint      # about 2 minutes; writes benchmarks/results/

Starts an MLflow server, registers a 100-series seasonal-naive champion (M4 Weekly, through the
real engine, as benchmarks/serving.py does), the API and `astralytiq portal`. Headless Debian
Chromium (Playwright) logs in, opens a forecast, then every page, and comes back to the
forecast; the portal's process tree is sampled every 0.2 s throughout. Each peer gets the same
one-session treatment: opened in the browser, every page of `streamlit hello` visited. The
target is the issue's: portal RSS <= 150 MB with one logged-in session (peak, not average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.serving import (
    MODEL,
    free_port,
    process_tree,
    register_champion,
    rss_bytes,
    say,
    start,
    start_tracking_server,
    stop,
    wait_ready,
)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "benchmarks" / "results"
CHROMIUM = "/usr/bin/chromium"
TARGET_MB = 150.0
SERIES = 100
USER = ("bench-viewer", "bench-viewer-password")
PORTAL_PAGES = ["Models", "Model health", "Pipelines", "Data quality", "Forecasts"]
MINIMAL_APP = """import streamlit as st

st.title("Hello")
st.write("A minimal Streamlit app: the floor any Streamlit portal starts from.")
name = st.text_input("Your name")
st.write(f"Hello, {name or 'world'}!")
"""


@dataclass
class Footprint:
    name: str
    description: str
    idle: list[int] = field(default_factory=list)  # before any browser session
    session: list[int] = field(default_factory=list)  # while the browser session works
    steady: list[int] = field(default_factory=list)  # the session open, nothing happening

    def summary(self) -> dict[str, Any]:
        mb = 1024 * 1024
        return {
            "description": self.description,
            "idle_mb": round(statistics.median(self.idle) / mb, 1),
            "peak_mb": round(max(self.session + self.steady) / mb, 1),
            "steady_mb": round(statistics.median(self.steady) / mb, 1),
            "samples": len(self.idle) + len(self.session) + len(self.steady),
        }


def tree_rss(root: int) -> int:
    """RSS of the whole process tree: Streamlit spawns nothing, but nothing would be missed."""
    return sum(rss_bytes(pid) for pid in process_tree(root))


@contextmanager
def sampling(root: int, into: list[int], every: float = 0.2) -> Iterator[None]:
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            into.append(tree_rss(root))
            done.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        into.append(tree_rss(root))


def browser_session(url: str, drive: Callable[[Any], None], footprint: Footprint, root: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        with sampling(root, footprint.session):
            page.goto(url)
            drive(page)
        with sampling(root, footprint.steady):
            time.sleep(6)  # one session open, idle: what a person reading a forecast costs
        browser.close()


def drive_portal(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("textbox", name="Username").fill(USER[0])
    page.get_by_role("textbox", name="Password").fill(USER[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=90_000)
    for title in PORTAL_PAGES:
        page.get_by_role("link", name=title).click()
        expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)


def drive_minimal(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Hello")).to_be_visible(timeout=60_000)
    page.get_by_role("textbox", name="Your name").fill("bench")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Hello, bench!")).to_be_visible(timeout=30_000)


def drive_hello(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Welcome to Streamlit!")).to_be_visible(timeout=60_000)
    for link in ("Animation demo", "Plotting demo", "Mapping demo", "DataFrame demo"):
        page.get_by_role("link", name=link).click()
        page.wait_for_timeout(3000)


def measure(name: str, description: str, command: list[str], env: dict[str, str], workdir: Path,
            port: int, drive: Callable[[Any], None]) -> Footprint:  # fmt: skip
    footprint = Footprint(name, description)
    process = start(command, workdir / f"{name}.log", env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/_stcore/health", process, lambda r: r.status_code == 200, 120)
        time.sleep(1)
        with sampling(process.pid, footprint.idle):
            time.sleep(2)
        browser_session(url, drive, footprint, process.pid)
    finally:
        stop(process)
    say(f"{name}: {footprint.summary()}")
    return footprint


def streamlit_command(target: list[str], port: int) -> list[str]:
    return [
        str(BIN / "python"), "-m", "streamlit", *target,
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def run(workdir: Path) -> dict[str, Any]:
    base_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    running: list[subprocess.Popen[bytes]] = []
    try:
        tracking_uri = start_tracking_server(workdir, base_env, running)
        say(f"registering a {SERIES}-series champion in MLflow at {tracking_uri}")
        register_champion(tracking_uri, SERIES)

        app_env = {
            **base_env,
            "ASTRALYTIQ_DATA_DIR": str(workdir / "app"),
            "ASTRALYTIQ_MLFLOW_TRACKING_URI": tracking_uri,
            "ASTRALYTIQ_METRICS_TOKEN": os.urandom(24).hex(),  # what is served is not for anonymous callers
        }
        subprocess.run(
            [str(BIN / "astralytiq"), "users", "create", USER[0], "--role", "viewer", "--password-stdin"],
            input=USER[1], text=True, env=app_env, check=True, capture_output=True, cwd=REPO,
        )  # fmt: skip
        api_port = free_port()
        api = start([str(BIN / "astralytiq"), "serve", "--port", str(api_port)], workdir / "api.log", app_env)
        running.append(api)
        api_url = f"http://127.0.0.1:{api_port}"
        operator = {"Authorization": f"Bearer {app_env['ASTRALYTIQ_METRICS_TOKEN']}"}
        wait_ready(f"{api_url}/readyz", api, lambda r: MODEL in r.json().get("models", {}), 120, operator)
        say(f"API ready on :{api_port}")

        (workdir / "minimal_app.py").write_text(MINIMAL_APP)
        results = {}
        port = free_port()
        results["portal"] = measure(
            "portal",
            "astralytiq portal: log in, a forecast, every page, back to the forecast",
            [str(BIN / "astralytiq"), "portal", "--port", str(port)],
            {**app_env, "ASTRALYTIQ_API_URL": api_url},
            workdir, port, drive_portal,
        )  # fmt: skip
        port = free_port()
        results["minimal_streamlit"] = measure(
            "minimal_streamlit",
            "a minimal Streamlit app (title, text input, write), one session",
            streamlit_command(["run", str(workdir / "minimal_app.py")], port),
            base_env, workdir, port, drive_minimal,
        )  # fmt: skip
        port = free_port()
        results["streamlit_hello"] = measure(
            "streamlit_hello",
            "`streamlit hello`: Streamlit's own demo, its four demo pages visited in one session",
            streamlit_command(["hello"], port),
            base_env, workdir, port, drive_hello,
        )  # fmt: skip
    finally:
        for process in reversed(running):
            stop(process)

    summaries = {name: f.summary() for name, f in results.items()}
    portal = summaries["portal"]
    return {
        "benchmark": "portal_footprint",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "streamlit": _version("streamlit"),
        "model": {"name": MODEL, "series": SERIES},
        "results": summaries,
        "target": {"portal_peak_mb_max": TARGET_MB, "met": portal["peak_mb"] <= TARGET_MB},
        "portal_over_minimal_mb": round(portal["peak_mb"] - summaries["minimal_streamlit"]["peak_mb"], 1),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Portal footprint",
        "",
        f"{report['when']}, {report['machine']['cpus']} CPUs, Streamlit {report['streamlit']}; "
        "RSS of each server's process tree, sampled every 0.2 s; one headless Chromium session; "
        "MB here is 2^20 bytes.",
        "",
        "| app | what the session did | idle MB | peak MB | steady MB |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, r in report["results"].items():
        lines.append(f"| {name} | {r['description']} | {r['idle_mb']} | {r['peak_mb']} | {r['steady_mb']} |")
    target = report["target"]
    lines += [
        "",
        f"Target: portal peak RSS <= {target['portal_peak_mb_max']:.0f} MB with one logged-in session: "
        f"**{'met' if target['met'] else 'NOT met'}** "
        f"({report['results']['portal']['peak_mb']} MB; {report['portal_over_minimal_mb']} MB over a minimal "
        "Streamlit app).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", help="Keep servers' logs and data here (default: a temp folder).")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Chromium is missing: `make system-deps` installs Debian's chromium")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="astralytiq-portal-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = run(workdir)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "portal_footprint.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "portal_footprint.md").write_text(markdown(report))
    print(markdown(report))
    if not report["target"]["met"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
