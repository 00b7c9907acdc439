"""Run a contract as a Great Expectations checkpoint and explain every failure in one line.

Per-series time rules (strictly increasing, frequency grid, regular steps, minimum history) have
no single GX expectation, so they are computed here as helper columns (whether a row comes after
every earlier row of its series, the periods since the latest earlier one, whether it sits on the
frequency grid, the length of its series) that ordinary expectations then check.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from data_contracts.contract import ColumnRule, Contract
from data_contracts.report import ContractReport, ContractViolation, RuleResult
from models.frame import DS, SERIES_ID

__all__ = ["ContractReport", "ContractViolation", "RuleResult", "run_contract"]

# Helper columns, named so the Data Docs read plainly ("_after_previous_row values must be 1.0").
STEP = "_periods_since_previous_row"
AFTER = "_after_previous_row"
ON_GRID = "_on_frequency_grid"
SERIES_ROWS = "_rows_in_series"
_FINITE = 1e300  # bounds that catch +-inf where the contract gives no range
_TYPES = {
    "number": ["float64", "int64", "float32", "int32", "Float64", "Int64"],
    "datetime": ["datetime64[ns]", "datetime64"],
    "string": ["str"],
}


@dataclass(frozen=True)
class Rule:
    """One rule of a contract as a GX expectation; ``row_level`` rules single out bad rows."""

    name: str
    column: str
    expectation: Any
    description: str
    row_level: bool = False


@dataclass(frozen=True)
class Checked:
    """A checkpoint's outcome: the report, and for row-level rules the index of each bad row."""

    report: ContractReport
    bad_rows: dict[Any, list[RuleResult]]


def on_grid(ds: pd.Series, freq: str) -> pd.Series:
    """Whether each timestamp sits on the frequency's grid (midnight for D, a Sunday for W-SUN)."""
    from pandas.tseries.frequencies import to_offset
    from pandas.tseries.offsets import Tick

    offset = to_offset(freq)
    present = ds.notna()
    result = pd.Series(True, index=ds.index)
    if isinstance(offset, Tick):
        result[present] = ds[present].astype("int64") % offset.nanos == 0
    else:
        # Few distinct dates even in big data: check each once, not each row.
        unique = pd.Series(ds[present].unique())
        valid = {value: offset.is_on_offset(value) and value == value.normalize() for value in unique}
        result[present] = ds[present].map(valid).astype(bool)
    return result


def _since_latest_earlier(values: pd.Series, series: pd.Series) -> pd.Series:
    """Each value minus the largest earlier value of its series, in file order (NaN for the first)."""
    latest = values.groupby(series).cummax().groupby(series).shift()
    return values - latest


def with_time_columns(df: pd.DataFrame, freq: str) -> pd.DataFrame:
    frame = df.copy()
    series, missing = frame[SERIES_ID], frame[DS].isna()
    # 1 where a row's timestamp is after every earlier one of its series; 0 for a duplicate or
    # a row out of order; NaN where ds is missing (the missing-value rule reports those).
    nanos = pd.Series(frame[DS].array.asi8, index=frame.index, dtype="float64").mask(missing)
    after = _since_latest_earlier(nanos, series)
    frame[AFTER] = (after.isna() | (after > 0)).astype(float).mask(missing)
    # Periods since the latest earlier period of the series: 1 is a regular step, >1 a gap.
    ordinals = pd.Series(frame[DS].dt.to_period(freq).array.asi8, index=frame.index, dtype="float64")
    frame[STEP] = _since_latest_earlier(ordinals.mask(missing), series)
    frame[ON_GRID] = on_grid(frame[DS], freq)
    frame[SERIES_ROWS] = frame.groupby(SERIES_ID, dropna=False)[DS].transform("size")
    return frame


def _bounds(rule: ColumnRule) -> str:
    low = "-inf" if rule.min is None else rule.min
    high = "inf" if rule.max is None else rule.max
    return f"[{low}, {high}]"


def _has_time_keys(df: pd.DataFrame) -> bool:
    return {SERIES_ID, DS} <= set(df.columns) and pd.api.types.is_datetime64_any_dtype(df[DS])


def _rules(contract: Contract, columns: list[str], freq: str, time_rules: bool) -> list[Rule]:
    """Every rule of the contract that applies to these columns, as a GX expectation."""
    import great_expectations as gx

    E = gx.expectations
    rules: list[Rule] = []
    for name, spec in contract.columns.items():
        if name not in columns:
            if spec.required:
                rules.append(Rule("column exists", name, E.ExpectColumnToExist(column=name), "present"))
            continue
        rules.append(
            Rule(
                "column type",
                name,
                E.ExpectColumnValuesToBeInTypeList(column=name, type_list=_TYPES[spec.type]),
                f"{spec.type} values",
            )
        )
        budget = spec.max_missing_share
        if budget < 1:
            rules.append(
                Rule(
                    "missing-value budget",
                    name,
                    E.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - budget),
                    f"at most {budget:.1%} missing" if budget else "no missing values",
                    row_level=budget == 0,
                )
            )
        if spec.type == "number":
            low = spec.min if spec.min is not None else -_FINITE
            high = spec.max if spec.max is not None else _FINITE
            rules.append(
                Rule(
                    "value range",
                    name,
                    E.ExpectColumnValuesToBeBetween(column=name, min_value=low, max_value=high),
                    f"finite values in {_bounds(spec)}",
                    row_level=True,
                )
            )
    if not time_rules:
        return rules  # they need both keys, ds as timestamps; the column rules above say what is wrong
    s = contract.series
    rules.append(
        Rule(
            "unique timestamps per series",
            DS,
            E.ExpectCompoundColumnsToBeUnique(column_list=[SERIES_ID, DS]),
            "one row per (series_id, ds)",
        )
    )
    if s.strictly_increasing:
        rules.append(
            Rule(
                "strictly increasing timestamps",
                DS,
                E.ExpectColumnValuesToBeInSet(column=AFTER, value_set=[1.0]),
                "each row after the earlier rows of its series",
                row_level=True,
            )
        )
    if s.regular_frequency:
        rules.append(
            Rule(
                "frequency grid",
                DS,
                E.ExpectColumnValuesToBeInSet(column=ON_GRID, value_set=[True]),
                f"timestamps on the {freq!r} grid",
                row_level=True,
            )
        )
        rules.append(
            Rule(
                "regular frequency",
                DS,
                E.ExpectColumnValuesToBeInSet(column=STEP, value_set=[1.0], mostly=1 - s.max_gap_share),
                f"one {freq!r} period per step, at most {s.max_gap_share:.1%} gaps",
            )
        )
    if s.id_pattern is not None:
        rules.append(
            Rule(
                "series id characters",
                SERIES_ID,
                E.ExpectColumnValuesToMatchRegex(column=SERIES_ID, regex=s.id_pattern),
                f"ids matching {s.id_pattern}",
                row_level=True,
            )
        )
    rules.append(
        Rule(
            "minimum history",
            SERIES_ID,
            E.ExpectColumnValuesToBeBetween(column=SERIES_ROWS, min_value=s.min_history),
            f"at least {s.min_history} observations per series",
        )
    )
    rules.append(
        Rule(
            "maximum series",
            SERIES_ID,
            E.ExpectColumnUniqueValueCountToBeBetween(
                column=SERIES_ID, min_value=1, max_value=contract.limits.max_series
            ),
            f"1 to {contract.limits.max_series:,} series",
        )
    )
    return rules


def _table_rule(contract: Contract) -> Rule:
    import great_expectations as gx

    return Rule(
        "maximum rows",
        "(table)",
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1, max_value=contract.limits.max_rows),
        f"1 to {contract.limits.max_rows:,} rows",
    )


def _show(value: Any) -> str:
    """An example value as a person writes it: ``ATL 2024-01-04`` rather than a dict of Timestamps."""
    if isinstance(value, dict):
        return " ".join(_show(v) for v in value.values())
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _explain(rule: Rule, result: dict[str, Any], contract: Contract, freq: str) -> str:
    count = result.get("unexpected_count")
    examples = result.get("partial_unexpected_list") or []
    example = f" (e.g. {_show(examples[0])})" if examples else ""
    column, s = rule.column, contract.series
    match rule.name:
        case "column exists":
            return f"column {column!r}: required by the contract but missing from the data"
        case "column type":
            return f"column {column!r}: holds {result.get('observed_value', 'other')} values, the contract says {contract.columns[column].type}"
        case "missing-value budget":
            budget = contract.columns[column].max_missing_share
            allowed = f"over the budget of {budget:.1%}" if budget else "the contract allows none"
            return f"column {column!r}: {count} missing value(s), {allowed}"
        case "value range":
            return f"column {column!r}: {count} value(s) outside {_bounds(contract.columns[column])} or not finite{example}"
        case "unique timestamps per series":
            return f"column {DS!r}: {count} row(s) repeat a (series_id, ds) pair{example}"
        case "strictly increasing timestamps":
            return f"column {DS!r}: {count} row(s) not after the previous row of their series (unsorted or duplicated)"
        case "frequency grid":
            return f"column {DS!r}: {count} timestamp(s) off the {freq!r} grid (mixed frequency?)"
        case "regular frequency":
            return f"column {DS!r}: {count} step(s) skip or break the frequency, over the gap budget of {s.max_gap_share:.1%}"
        case "series id characters":
            shown = f" (e.g. {str(examples[0])[:60]!r})" if examples else ""
            return f"column {SERIES_ID!r}: {count} row(s) have an id outside the contract's id_pattern{shown}; rename those series or set series.id_pattern"
        case "minimum history":
            return f"column {SERIES_ID!r}: {count} row(s) belong to series shorter than {s.min_history} observations"
        case "maximum rows":
            observed = result.get("observed_value")
            return f"table: {observed} rows, outside 1..{contract.limits.max_rows:,}"
        case "maximum series":
            return f"column {SERIES_ID!r}: {result.get('observed_value')} series, outside 1..{contract.limits.max_series:,}"
    return f"{rule.name} failed on column {column!r}"


class _Checkpoint:
    """One ephemeral GX context holding the contract's suite; each ``run`` validates a frame."""

    def __init__(
        self, contract: Contract, rules: list[Rule], docs_root: Path | None, row_indexes: bool
    ) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from data_contracts import docs_view

        # Ephemeral: no project folder or YAML stores to write; only the Data Docs touch disk.
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        actions: list[Any] = []
        if docs_root is not None:
            site: dict[str, Any] = {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_root),
                },
                # Views that escape the data they show (a series id is text, never markup); the
                # suite's own page, which repeats each validation page, is not built.
                "site_index_builder": docs_view.SITE_INDEX,
                "site_section_builders": docs_view.SITE_SECTIONS,
            }
            context.add_data_docs_site("contract", cast(Any, site))
            actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["contract"]))
        asset = context.data_sources.add_pandas("incoming").add_dataframe_asset(contract.dataset)
        batch = asset.add_batch_definition_whole_dataframe("whole")
        for rule in rules:
            rule.expectation.meta = {"rule": rule.name, "column": rule.column}
        # Built whole and stored once: adding expectations one by one rewrites the stored suite
        # each time, which cost about half a second per check.
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=f"{contract.dataset}_contract", expectations=[r.expectation for r in rules]
            )
        )
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{contract.dataset}_validation", data=batch, suite=suite)
        )
        self.checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{contract.dataset}_checkpoint",
                validation_definitions=[validation],
                actions=actions,
                result_format={"result_format": "COMPLETE" if row_indexes else "SUMMARY"},
            )
        )
        self.rules = {(r.name, r.column): r for r in rules}

    def run(self, frame: pd.DataFrame, run_name: str) -> list[tuple[Rule, bool, dict[str, Any]]]:
        from great_expectations.core.run_identifier import RunIdentifier

        result = self.checkpoint.run(
            batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_name)
        )
        outcomes = []
        for run in result.run_results.values():
            for er in run.results:
                meta = (er.expectation_config.meta if er.expectation_config else None) or {}
                rule = self.rules[(meta["rule"], meta["column"])]
                detail = dict(er.result or {})
                if er.exception_info and er.exception_info.get("raised_exception"):
                    detail = {"unexpected_count": None, "error": er.exception_info.get("exception_message")}
                outcomes.append((rule, bool(er.success), detail))
        order = list(self.rules.values())
        return sorted(outcomes, key=lambda o: order.index(o[0]))


def check(
    df: pd.DataFrame,
    contract: Contract,
    freq: str,
    docs_root: Path | None = None,
    row_indexes: bool = False,
    run_name: str = "incoming",
    checkpoint: _Checkpoint | None = None,
) -> tuple[Checked, _Checkpoint]:
    """Validate ``df``; with ``row_indexes`` also say which rows break each row-level rule."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no phoning home from a flow
    time_rules = _has_time_keys(df)
    frame = with_time_columns(df, freq) if time_rules else df
    if checkpoint is None:
        rules = [_table_rule(contract), *_rules(contract, list(df.columns), freq, time_rules)]
        checkpoint = _Checkpoint(contract, rules, docs_root, row_indexes)
    results: list[RuleResult] = []
    bad_rows: dict[Any, list[RuleResult]] = {}
    for rule, success, detail in checkpoint.run(frame, run_name):
        examples = list(detail.get("partial_unexpected_list") or [])[:5]
        outcome = RuleResult(
            rule=rule.name,
            column=rule.column,
            success=success,
            expectation=rule.description,
            message="" if success else _explain(rule, detail, contract, freq),
            unexpected=int(detail.get("unexpected_count") or 0),
            examples=examples,
        )
        results.append(outcome)
        if row_indexes and rule.row_level and not success:
            for item in detail.get("unexpected_index_list") or []:
                # A named index comes back as {column: value, index name: index}.
                index = item[frame.index.name] if isinstance(item, dict) else item
                bad_rows.setdefault(index, []).append(outcome)
    report = ContractReport(
        dataset=contract.dataset,
        success=all(r.success for r in results),
        rows=len(df),
        series=int(df[SERIES_ID].nunique()) if SERIES_ID in df.columns else 0,
        results=results,
    )
    return Checked(report, bad_rows), checkpoint


def keep_docs(docs_root: Path, docs_dir: Path) -> str | None:
    """Copy the Data Docs site to ``docs_dir`` (without GX's unused images and fonts).

    Returns the newest validation page, relative to ``docs_dir``.
    """
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    shutil.copytree(
        docs_root,
        docs_dir,
        ignore=lambda folder, names: [
            n
            for n in names
            if (folder.endswith("static") and n == "fonts")
            or (folder.endswith("images") and n != "favicon.ico")
        ],
    )
    pages = sorted((docs_dir / "validations").rglob("*.html"), key=lambda p: p.parent.name)
    return str(pages[-1].relative_to(docs_dir)) if pages else None


def run_contract(
    df: pd.DataFrame, contract: Contract, freq: str, docs_dir: Path | None = None
) -> ContractReport:
    """Check ``df`` (long format) against ``contract``; keep GX Data Docs and the report in ``docs_dir``."""
    with tempfile.TemporaryDirectory(prefix="astralytiq-gx-") as root:
        checked, _ = check(df, contract, freq, Path(root) if docs_dir else None)
        report = checked.report
        if docs_dir is not None:
            report.validation_page = keep_docs(Path(root), docs_dir)
            report.docs_dir = docs_dir
            report.save(docs_dir)
    return report
