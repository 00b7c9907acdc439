"""Run a contract as a Great Expectations checkpoint and explain every failure in one line.

Per-series time rules (strictly increasing, regular frequency, minimum history) have no single
GX expectation, so they are computed here as helper columns (``_step``: periods since the
previous row of the same series; ``_series_rows``) that ordinary expectations then check.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.contract import Contract
from models.frame import DS, SERIES_ID

STEP = "_step"
SERIES_ROWS = "_series_rows"
_FINITE = 1e300  # bounds that catch +-inf where the contract gives no range


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    column: str
    unexpected: int
    message: str
    examples: list[Any] = field(default_factory=list)


@dataclass
class ContractReport:
    dataset: str
    success: bool
    rows: int
    series: int
    evaluated: int
    failures: list[RuleFailure]
    docs_dir: Path | None = None

    def summary(self) -> str:
        if self.success:
            return f"contract {self.dataset!r} passed: {self.evaluated} rules on {self.rows} rows, {self.series} series"
        lines = [f"contract {self.dataset!r} failed {len(self.failures)} of {self.evaluated} rules:"]
        lines += [f"  - {f.message}" for f in self.failures]
        return "\n".join(lines)


class ContractViolation(RuntimeError):
    """Data broke its contract; ``report`` says which rules and where the data docs are."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.summary())
        self.report = report


def _with_time_columns(df: pd.DataFrame, freq: str) -> pd.DataFrame:
    frame = df.copy()
    # Periods since the previous row of the same series, in file order: 0 means a duplicate,
    # negative means unsorted, >1 a gap; non-integer steps cannot occur with periods.
    ordinals = frame[DS].dt.to_period(freq).map(lambda p: p.ordinal if pd.notna(p) else np.nan)
    frame[STEP] = ordinals.groupby(frame[SERIES_ID]).diff()
    frame[SERIES_ROWS] = frame.groupby(SERIES_ID)[DS].transform("size")
    return frame


def _expectations(contract: Contract, columns: list[str]) -> list[tuple[str, str, Any]]:
    """(rule name, column, GX expectation) for every rule of the contract."""
    import great_expectations as gx

    E = gx.expectations
    rules: list[tuple[str, str, Any]] = []
    for name, rule in contract.columns.items():
        if name not in columns:
            if rule.required:
                rules.append(("column exists", name, E.ExpectColumnToExist(column=name)))
            continue
        if rule.required or rule.max_missing_share < 1:
            rules.append(
                (
                    "missing-value budget",
                    name,
                    E.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - rule.max_missing_share),
                )
            )
        if rule.type == "number":
            low = rule.min if rule.min is not None else -_FINITE
            high = rule.max if rule.max is not None else _FINITE
            rules.append(
                (
                    "value range",
                    name,
                    E.ExpectColumnValuesToBeBetween(column=name, min_value=low, max_value=high),
                )
            )
    s = contract.series
    rules.append(
        ("unique timestamps per series", DS, E.ExpectCompoundColumnsToBeUnique(column_list=[SERIES_ID, DS]))
    )
    if s.strictly_increasing:
        rules.append(
            ("strictly increasing timestamps", DS, E.ExpectColumnValuesToBeBetween(column=STEP, min_value=1))
        )
    if s.regular_frequency:
        rules.append(
            (
                "regular frequency",
                DS,
                E.ExpectColumnValuesToBeInSet(column=STEP, value_set=[1.0], mostly=1 - s.max_gap_share),
            )
        )
    rules.append(
        (
            "minimum history",
            SERIES_ID,
            E.ExpectColumnValuesToBeBetween(column=SERIES_ROWS, min_value=s.min_history),
        )
    )
    rules.append(
        (
            "maximum rows",
            "(table)",
            E.ExpectTableRowCountToBeBetween(min_value=1, max_value=contract.limits.max_rows),
        )
    )
    rules.append(
        (
            "maximum series",
            SERIES_ID,
            E.ExpectColumnUniqueValueCountToBeBetween(
                column=SERIES_ID, min_value=1, max_value=contract.limits.max_series
            ),
        )
    )
    return rules


def _explain(rule: str, column: str, result: dict[str, Any], contract: Contract) -> str:
    count = result.get("unexpected_count")
    examples = result.get("partial_unexpected_list") or []
    example = f" (e.g. {examples[0]})" if examples else ""
    s = contract.series
    match rule:
        case "column exists":
            return f"column {column!r}: required by the contract but missing from the data"
        case "missing-value budget":
            return f"column {column!r}: {count} missing value(s), over the budget of {contract.columns[column].max_missing_share:.1%}"
        case "value range":
            c = contract.columns[column]
            bounds = f"[{c.min if c.min is not None else '-inf'}, {c.max if c.max is not None else 'inf'}]"
            return f"column {column!r}: {count} value(s) outside {bounds} or not finite{example}"
        case "unique timestamps per series":
            return f"column {DS!r}: {count} row(s) repeat a (series_id, ds) pair{example}"
        case "strictly increasing timestamps":
            return f"column {DS!r}: {count} row(s) not after the previous row of their series (unsorted or duplicated)"
        case "regular frequency":
            return f"column {DS!r}: {count} step(s) skip or break the frequency, over the gap budget of {s.max_gap_share:.1%}"
        case "minimum history":
            return f"column {SERIES_ID!r}: {count} row(s) belong to series shorter than {s.min_history} observations"
        case "maximum rows":
            return f"table: {result.get('observed_value')} rows, outside 1..{contract.limits.max_rows}"
        case "maximum series":
            return f"column {SERIES_ID!r}: {result.get('observed_value')} series, outside 1..{contract.limits.max_series}"
    return f"{rule} failed on column {column!r}"


def run_contract(
    df: pd.DataFrame, contract: Contract, freq: str, docs_dir: Path | None = None
) -> ContractReport:
    """Check ``df`` (long format) against ``contract``; keep GX Data Docs in ``docs_dir``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no phoning home from a flow
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = _with_time_columns(df, freq) if {SERIES_ID, DS} <= set(df.columns) else df
    rules = _expectations(contract, list(df.columns))
    with tempfile.TemporaryDirectory(prefix="astralytiq-gx-") as root:
        context = gx.get_context(mode="file", project_root_dir=root)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("incoming").add_dataframe_asset(contract.dataset)
        batch = asset.add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{contract.dataset}_contract"))
        for rule, column, expectation in rules:
            expectation.meta = {"rule": rule, "column": column}
            suite.add_expectation(expectation)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{contract.dataset}_validation", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{contract.dataset}_checkpoint",
                validation_definitions=[validation],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                result_format={"result_format": "SUMMARY"},
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        failures = []
        evaluated = 0
        for run in result.run_results.values():
            for er in run.results:
                evaluated += 1
                if er.success:
                    continue
                config = er.expectation_config
                meta = (config.meta if config else None) or {}
                rule, column = meta.get("rule", config.type if config else "?"), meta.get("column", "")
                res = dict(er.result or {})
                if er.exception_info and er.exception_info.get("raised_exception"):
                    res = {"unexpected_count": None}
                failures.append(
                    RuleFailure(
                        rule,
                        column,
                        int(res.get("unexpected_count") or 0),
                        _explain(rule, column, res, contract),
                        list(res.get("partial_unexpected_list") or [])[:5],
                    )
                )
        kept_docs = None
        if docs_dir is not None:
            site = Path(root) / "gx" / "uncommitted" / "data_docs" / "local_site"
            if site.is_dir():
                if docs_dir.exists():
                    shutil.rmtree(docs_dir)
                shutil.copytree(site, docs_dir)
                kept_docs = docs_dir
    return ContractReport(
        dataset=contract.dataset,
        success=bool(result.success),
        rows=len(df),
        series=int(df[SERIES_ID].nunique()) if SERIES_ID in df.columns else 0,
        evaluated=evaluated,
        failures=failures,
        docs_dir=kept_docs,
    )
