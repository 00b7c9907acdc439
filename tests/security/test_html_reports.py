"""Series ids and other strings from data are text in every HTML the platform makes or serves: the
Evidently drift report, the GX Data Docs, the API that serves them (sandboxing CSP) and the portal
that shows them (a frame without the portal's origin). Checked by parsing, and in Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

HOSTILE = "</script><script>alert(document.domain)</script><img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# st.iframe's frame (Streamlit's IFrameUtil): scripts *and* the portal's origin.
STREAMLIT_IFRAME_SANDBOX = (
    "allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-same-origin "
    "allow-scripts allow-downloads"
)


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(document)
    return parser.tags


def injected(document: str) -> list[tuple[str, dict[str, str | None]]]:
    """Elements the hostile id would have created had it been written as markup."""
    return [
        (t, a)
        for t, a in tags(document)
        if (t == "img" and a.get("src") == "x") or any("alert(" in (v or "") for v in a.values())
    ]


def two_series(ids: list[str]) -> pd.DataFrame:
    ds = pd.date_range("2024-01-01", periods=60, freq="D")
    return pd.concat(
        [pd.DataFrame({"series_id": s, "ds": ds, "y": np.arange(60.0) * (i + 1)}) for i, s in enumerate(ids)]
    )


@pytest.fixture(scope="module")
def drift_reports() -> dict[str, str]:
    from monitoring.drift import compute_drift

    reports = {}
    for name, second in (("clean", "BOS"), ("hostile", HOSTILE)):
        frame = two_series(["ATL", second])
        cut = pd.Timestamp("2024-02-15")
        reports[name] = compute_drift(frame[frame.ds < cut], frame[frame.ds >= cut], [], 0.5).html
    return reports


def test_a_hostile_series_id_stays_inside_the_evidently_reports_data(drift_reports: dict[str, str]) -> None:
    clean, hostile = drift_reports["clean"], drift_reports["hostile"]
    assert "</script><script>alert" not in hostile
    scripts = [t for t, _ in tags(hostile) if t == "script"]
    assert len(scripts) == len([t for t, _ in tags(clean) if t == "script"])  # no script of its own
    assert not injected(hostile)
    assert "y:\\u003c/script\\u003e" in hostile  # the id is there, as a JSON escape


def test_an_evidently_report_whose_layout_changed_is_refused_not_passed_on() -> None:
    from monitoring.drift import UnexpectedReportLayout, script_safe_report

    with pytest.raises(UnexpectedReportLayout):
        script_safe_report("<html><script>var something_else = {};</script></html>")


def test_a_hostile_series_id_is_text_in_the_data_docs(tmp_path: Path) -> None:
    from data_contracts.contract import load_contract
    from data_contracts.validation import run_contract

    contract = load_contract("nyc_flights")
    contract.series.id_pattern = None  # let the id through, as a contract may; the docs must cope
    contract.series.min_history = 1
    frame = two_series([HOSTILE]).head(5).assign(temp_mean_f=50.0, precip_in=0.0)
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)  # a repeated (series_id, ds)
    report = run_contract(frame, contract, "D", tmp_path / "docs")
    assert not report.success and any(HOSTILE in f.message for f in report.failures)
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert len(pages) == 2
    for page in pages:
        document = page.read_text()
        assert HOSTILE not in document, page
        assert not injected(document), page
    validation = next(p for p in pages if "validations" in p.parts).read_text()
    assert "&lt;/script&gt;&lt;script&gt;alert(document.domain)" in validation  # shown, as text


def _note(dialogs: list[str], dialog: Any) -> None:
    dialogs.append(dialog.message)
    dialog.dismiss()


def _browser() -> Any:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    return playwright, browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright, browser = _browser()
    yield browser
    browser.close()
    playwright.stop()


ATTACK = """<!DOCTYPE html><html><head><title>report</title></head><body><p>report</p><script>
try { window.top.document.title = "owned"; } catch (e) {}
try { window.top.pwned = document.domain || "opaque"; } catch (e) {}
try { localStorage.setItem("stolen", "1"); window.top.localStorage.setItem("stolen", "1"); } catch (e) {}
</script></body></html>"""


def _portal_page(frame: str) -> str:
    """A stand-in for a portal page with an st.iframe: the frame Streamlit makes, srcdoc inside."""
    import html

    return (
        "<!DOCTYPE html><html><head><title>portal</title></head><body>"
        f'<iframe sandbox="{STREAMLIT_IFRAME_SANDBOX}" srcdoc="{html.escape(frame, quote=True)}" '
        'style="width:800px;height:600px"></iframe></body></html>'
    )


def _visit(browser: Any, page_html: str, wait_ms: int = 1500) -> Any:
    page = browser.new_page()
    page.route(
        "http://portal.test/",
        lambda route: route.fulfill(status=200, body=page_html, content_type="text/html"),
    )
    page.goto("http://portal.test/")
    page.wait_for_timeout(wait_ms)
    return page


def test_the_portal_frame_of_old_let_a_report_act_as_the_portal(browser: Any) -> None:
    """The control: a report embedded as st.iframe(html) ran with the portal's origin."""
    page = _visit(browser, _portal_page(ATTACK))
    assert page.title() == "owned" and page.evaluate("window.pwned") == "portal.test"
    page.close()


def test_a_report_in_the_portals_sandbox_cannot_reach_the_portal(browser: Any) -> None:
    from portal.sandbox import sandboxed

    page = _visit(browser, _portal_page(sandboxed(ATTACK)))
    assert page.title() == "portal" and page.evaluate("window.pwned") is None
    assert page.evaluate("localStorage.getItem('stolen')") is None
    report = page.frames[-1]  # the innermost frame: the report itself, running, in an opaque origin
    assert report.evaluate("document.body.innerText").strip() == "report"
    assert report.evaluate("window.origin") == "null"
    page.close()


def test_the_evidently_report_renders_in_the_portals_sandbox_with_the_hostile_id_as_text(
    browser: Any, drift_reports: dict[str, str]
) -> None:
    from portal.sandbox import sandboxed

    dialogs: list[str] = []
    page = browser.new_page()
    page.on("dialog", lambda d: _note(dialogs, d))
    page.route(
        "http://portal.test/",
        lambda route: route.fulfill(
            status=200, body=_portal_page(sandboxed(drift_reports["hostile"])), content_type="text/html"
        ),
    )
    page.goto("http://portal.test/")
    report = page.frames[-1]
    report.wait_for_selector("text=ATL", timeout=30_000)  # drawn by the report's own scripts
    assert dialogs == []
    assert "y:</script><script>alert(document.domain)</script>" in report.evaluate("document.body.innerText")
    page.close()


@pytest.fixture
def stored_report(api: TestClient, drift_reports: dict[str, str]) -> Iterator[str]:
    """The hostile report stored as the monitor flow stores one, for model 'alpha'."""
    from astralytiq.db import DriftReport, session_scope
    from astralytiq.settings import get_settings

    settings = get_settings()
    path = settings.reports_dir / "hostile.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(drift_reports["hostile"], encoding="utf-8")
    moment = datetime(2024, 2, 1)
    with session_scope(settings.app_database_url) as session:
        row = DriftReport(
            model_name="alpha", model_version="1", reference_start=moment, reference_end=moment,
            current_start=moment, current_end=moment, drift_share=0.5, dataset_drift=True,
            features={}, report_path=str(path),
        )  # fmt: skip
        session.add(row)
        session.flush()
        report_id = row.id
    yield f"/v1/models/alpha/drift/{report_id}/html"


def test_the_api_serves_a_report_sandboxed_and_streamed(
    api: TestClient, admin: dict[str, str], stored_report: str, browser: Any
) -> None:
    answer = api.get(stored_report, headers=admin)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "connect-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-length" in answer.headers  # a file response, sent in chunks
    # Opened straight from the API in a browser: the report draws, the hostile id is text.
    dialogs: list[str] = []
    page = browser.new_page()
    page.on("dialog", lambda d: _note(dialogs, d))
    page.route(
        "http://api.test/report",
        lambda route: route.fulfill(status=200, body=answer.content, headers=dict(answer.headers)),
    )
    page.goto("http://api.test/report")
    page.wait_for_selector("text=ATL", timeout=30_000)
    assert dialogs == [] and page.evaluate("window.origin") == "null"
    page.close()


def test_reports_beyond_the_stream_limit_wait_their_turn(
    api: TestClient, admin: dict[str, str], stored_report: str
) -> None:
    streams = api.app.state.report_streams  # type: ignore[attr-defined]
    streams.open = streams.limit  # every slot taken by readers still downloading
    try:
        busy = api.get(stored_report, headers=admin)
    finally:
        streams.open = 0
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "ASTRALYTIQ_REPORT_STREAMS" in busy.json()["detail"]
    assert api.get(stored_report, headers=admin).status_code == 200
