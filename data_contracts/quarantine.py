"""Enforce a contract on loaded rows, setting bad rows aside when the contract asks for quarantine.

Strict contracts refuse the data if any rule fails. In quarantine mode, rows that break a
row-level rule (a value that is not a number or date, a missing value where none is allowed, a
value out of range, a timestamp out of order or off the frequency grid) go to a CSV file with
the reason, and the remaining rows are checked again: the run continues only if they pass.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.contract import Contract
from data_contracts.report import ContractReport, RuleResult
from data_contracts.rules import ColumnType
from data_contracts.sources import COLUMN, REASON, ROW, RULE, SourceRows
from data_contracts.validation import check, keep_docs
from models.frame import DS

QUARANTINE_FILE = "quarantine.csv"


@dataclass
class ContractOutcome:
    """The verdict, the rows to use downstream, and the rows set aside (empty unless quarantine)."""

    report: ContractReport
    kept: pd.DataFrame
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)


def _type_results(results: list[RuleResult], unparsed: pd.DataFrame) -> list[RuleResult]:
    """The "column type" results, failed where the source held values of another type.

    Such values never reach the checkpoint (they have no typed form), so the loader's count
    replaces the checkpoint's verdict on the parsed rows for those columns.
    """
    if unparsed.empty:
        return results
    out = []
    for result in results:
        bad = unparsed[unparsed[COLUMN] == result.column]
        if result.rule != ColumnType.name or bad.empty:
            out.append(result)
            continue
        first = bad.iloc[0]
        what = "dates" if result.column == DS else "numbers"
        out.append(
            replace(
                result,
                success=False,
                unexpected=len(bad),
                message=f"column {result.column!r}: {len(bad)} value(s) are not {what}, "
                f"e.g. {first[result.column]!r} on row {first[ROW]}",
                examples=list(bad[result.column].head(5)),
            )
        )
    return out


def _set_aside(frame: pd.DataFrame, bad_rows: dict[object, list[RuleResult]]) -> pd.DataFrame:
    index = list(bad_rows)
    rows = frame.loc[index]
    return rows.assign(
        **{
            ROW: index,
            RULE: [", ".join(dict.fromkeys(r.rule for r in bad_rows[i])) for i in index],
            COLUMN: [", ".join(dict.fromkeys(r.column for r in bad_rows[i])) for i in index],
            REASON: [_row_reason(rows.loc[i], bad_rows[i]) for i in index],
        }
    )


def _row_reason(row: pd.Series, failures: list[RuleResult]) -> str:
    parts = []
    for failure in failures:
        value = row.get(failure.column)
        if isinstance(value, pd.Timestamp):
            value = value.isoformat()
        elif isinstance(value, np.generic):
            value = value.item()
        parts.append(f"column {failure.column!r}: {value!r} breaks {failure.rule} ({failure.expectation})")
    return "; ".join(parts)


def write_quarantine(rows: pd.DataFrame, path: Path) -> Path:
    """The set-aside rows as CSV: source row, rule, column and reason first, then the values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    front = [ROW, RULE, COLUMN, REASON]
    ordered = rows[front + [c for c in rows.columns if c not in front]].sort_values(ROW)
    ordered.to_csv(path, index=False)
    return path


def enforce_contract(
    rows: SourceRows,
    contract: Contract,
    freq: str,
    docs_dir: Path | None = None,
    quarantine_path: Path | None = None,
) -> ContractOutcome:
    """Check ``rows`` against ``contract``; in quarantine mode set bad rows aside and check the rest.

    ``docs_dir`` receives the GX Data Docs, ``report.json`` and (if any) ``quarantine.csv``;
    ``quarantine_path`` is where the set-aside rows are kept for people to fix.
    """
    with tempfile.TemporaryDirectory(prefix="astralytiq-gx-") as tmp:
        docs_root = Path(tmp) if docs_dir is not None else None
        checked, checkpoint = check(rows.frame, contract, freq, docs_root, row_indexes=contract.quarantine)
        quarantined = pd.DataFrame()
        kept = rows.frame
        if not contract.quarantine:
            report = checked.report
            report.results = _type_results(report.results, rows.unparsed)
            report.success = report.success and rows.unparsed.empty
        elif not checked.bad_rows and rows.unparsed.empty:
            report = checked.report
        else:
            parts = [rows.unparsed, _set_aside(rows.frame, checked.bad_rows)]
            quarantined = pd.concat([p for p in parts if len(p)], ignore_index=True)
            kept = rows.frame.drop(index=list(checked.bad_rows))
            rechecked, _ = check(
                kept, contract, freq, docs_root, run_name="after quarantine", checkpoint=checkpoint
            )
            report = rechecked.report
            report.quarantined = len(quarantined)
            counts = quarantined.groupby([RULE, COLUMN]).size()
            report.quarantine_counts = {
                f"{rule} on {column!r}": int(n) for (rule, column), n in counts.items()
            }
        if docs_dir is not None and docs_root is not None:
            report.validation_page = keep_docs(docs_root, docs_dir)
            report.docs_dir = docs_dir
    if len(quarantined):
        if quarantine_path is not None:
            report.quarantine_file = write_quarantine(quarantined, quarantine_path)
        if docs_dir is not None:
            if report.quarantine_file is not None:
                shutil.copyfile(report.quarantine_file, docs_dir / QUARANTINE_FILE)
            else:
                write_quarantine(quarantined, docs_dir / QUARANTINE_FILE)
    if docs_dir is not None:
        report.save(docs_dir)
    return ContractOutcome(report, kept.reset_index(drop=True), quarantined)
