"""The result of a contract check: one line per rule, saved beside the GX Data Docs as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "report.json"
SUMMARY_FILE = "summary.txt"


@dataclass(frozen=True)
class RuleResult:
    """One rule of the contract on one column: whether it held, and if not, why in one line."""

    rule: str
    column: str
    success: bool
    expectation: str  # what the rule asks, e.g. "values in [0, 2000]"
    message: str = ""  # why it failed; empty when it held
    unexpected: int = 0
    examples: list[Any] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return f"{self.message} [rule: {self.rule}]"


@dataclass
class ContractReport:
    dataset: str
    success: bool
    rows: int
    series: int
    results: list[RuleResult]
    docs_dir: Path | None = None
    quarantined: int = 0
    quarantine_counts: dict[str, int] = field(default_factory=dict)  # "rule on 'column'" -> rows
    quarantine_file: Path | None = None
    validation_page: str | None = None  # the Data Docs page of this check, relative to docs_dir

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success]

    @property
    def evaluated(self) -> int:
        return len(self.results)

    def summary(self) -> str:
        set_aside = ""
        if self.quarantined:
            counts = ", ".join(f"{what}: {n}" for what, n in self.quarantine_counts.items())
            set_aside = f"; {self.quarantined} row(s) set aside in quarantine ({counts})"
        if self.success:
            return (
                f"contract {self.dataset!r} passed: {self.evaluated} rules on {self.rows} rows, "
                f"{self.series} series{set_aside}"
            )
        lines = [
            f"contract {self.dataset!r} failed {len(self.failures)} of {self.evaluated} rules{set_aside}:"
        ]
        lines += [f"  - {f.reason}" for f in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "success": self.success,
            "rows": self.rows,
            "series": self.series,
            "quarantined": self.quarantined,
            "quarantine_counts": self.quarantine_counts,
            "validation_page": self.validation_page,
            "results": [
                {
                    **asdict(r),
                    "examples": [_plain(e) for e in r.examples],
                    "reason": r.reason if not r.success else "",
                }
                for r in self.results
            ],
        }

    def save(self, folder: Path) -> None:
        """Write ``report.json`` and ``summary.txt`` into ``folder`` (the Data Docs folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REPORT_FILE).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        (folder / SUMMARY_FILE).write_text(self.summary() + "\n", encoding="utf-8")


def _plain(value: Any) -> Any:
    """An example value made JSON-safe (timestamps, NaN and infinities become text)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return str(value)


class ContractViolation(RuntimeError):
    """Data broke its contract; ``report`` says which rules and where the data docs are."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.summary())
        self.report = report
