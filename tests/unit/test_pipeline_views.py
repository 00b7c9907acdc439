"""What the Pipelines routes show of Prefect without a server: schedules in words, server paths
left out of run messages and log lines, links to Prefect's UI only to a configured web address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from astralytiq.settings import Settings
from orchestration.prefect_api import FlowRun
from orchestration.schedules import describe, describe_cron, describe_interval
from serving.datasets import hide_paths
from serving.routes.pipelines import _run_out


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/60 * * * *", "every hour"),
        ("5 * * * *", "hourly at :05"),
        ("0 6 * * *", "daily at 06:00"),
        ("30 6 * * 1", "weekly on Monday at 06:30"),
        ("0 0 * * 0", "weekly on Sunday at 00:00"),
        ("0 0 * * 7", "weekly on Sunday at 00:00"),
        ("0 3 1 * *", "monthly on day 1 at 03:00"),
        ("0 6 * * 1-5", "cron '0 6 * * 1-5'"),  # not guessed at: the expression itself
        ("0 6 1 1 *", "cron '0 6 1 1 *'"),
        ("0 6 * *", "cron '0 6 * *'"),
        ("75 6 * * *", "cron '75 6 * * *'"),
    ],
)
def test_cron_schedules_in_words(cron: str, words: str) -> None:
    assert describe_cron(cron) == words


def test_prefect_schedules_in_words() -> None:
    assert (
        describe({"cron": "0 6 * * 1", "timezone": "Europe/Berlin"})
        == "weekly on Monday at 06:00 (Europe/Berlin)"
    )
    assert describe({"cron": "* * * * *", "timezone": None}) == "every minute (UTC)"
    assert describe({"interval": 3600.0, "anchor_date": "2026-01-01T00:00:00Z"}) == "every hour"
    assert describe({"interval": 172800}) == "every 2 days"
    assert describe_interval(90) == "every 90 seconds"
    assert describe_interval(0.5) == "every 0.5 seconds"
    assert describe({"rrule": "FREQ=DAILY"}) == "rrule FREQ=DAILY (UTC)"
    assert describe({}) == "custom schedule"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "source file /srv/astralytiq/datasets/shop_sales.csv not found",
            "source file shop_sales.csv not found",
        ),
        ("spec '/tmp/pytest-1/x/ticking_demo.yaml' invalid", "spec 'ticking_demo.yaml' invalid"),
        ("in ~/data/a.csv", "in a.csv"),
        ("C:\\data\\shop.csv is locked", "shop.csv is locked"),
        ("reached http://127.0.0.1:4200/api/health", "reached http://127.0.0.1:4200/api/health"),
        ("1/2 of the series and/or the rest", "1/2 of the series and/or the rest"),
        ("=cmd|' /C calc'!A0 in km /h", "=cmd|' /C calc'!A0 in km /h"),  # one part: not a path
        ('File "/app/flows/train.py", line 3', 'File "train.py", line 3'),
    ],
)
def test_server_paths_are_shown_by_their_last_part(text: str, shown: str) -> None:
    assert hide_paths(text) == shown


def run(message: str | None = None) -> FlowRun:
    return FlowRun(
        "1b0c", "brave-otter", "train", "/srv/specs/shop.yaml", "FAILED", "Failed", message, None, None, None
    )


def test_a_run_links_to_prefects_ui_only_when_its_address_is_set() -> None:
    assert _run_out(run(), "").prefect_url is None
    shown = _run_out(run("no file /srv/data/shop.csv"), "http://prefect.internal:4200")
    assert shown.prefect_url == "http://prefect.internal:4200/runs/flow-run/1b0c"
    assert shown.dataset == "shop" and shown.message == "no file shop.csv"
    assert _run_out(run("x" * 5000), "").message == "x" * 500


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "prefect:4200", "http://a b", 'http://x/"><script>'])
def test_the_prefect_ui_address_must_be_a_web_address(bad: str) -> None:
    with pytest.raises(ValidationError, match="not an http\\(s\\) address"):
        Settings(environment="development", prefect_ui_url=bad)
    assert Settings(environment="development", prefect_ui_url="https://p.example/").prefect_ui_url == (
        "https://p.example"
    )
