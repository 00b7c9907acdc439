"""`astralytiq validate` prints names from files and users (dataset, column, failure texts) as
plain text: rich markup in them is shown, not obeyed, and a stray closing tag cannot crash it."""

from __future__ import annotations

import pytest

from cli.commands.contracts import print_report
from data_contracts.report import ContractReport, RuleResult

HOSTILE_COLUMN = "[/]y[link=https://evil.example]click[/link]"
HOSTILE_MESSAGE = "value [bold red]FAKE PASS[/] in [/x]"


def test_hostile_names_are_printed_literally(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no cell folds
    report = ContractReport(
        dataset="[red]shop[/red]",
        success=False,
        rows=10,
        series=1,
        results=[
            RuleResult(
                rule="range",
                column=HOSTILE_COLUMN,
                success=False,
                expectation="[0, 1]",
                message=HOSTILE_MESSAGE,
            )
        ],
    )
    print_report(report)  # unescaped, rich raises MarkupError on the closing tags above
    out = " ".join(capsys.readouterr().out.split())
    assert "[red]shop[/red]" in out
    assert "[bold red]FAKE PASS[/]" in out
    assert HOSTILE_COLUMN in out
