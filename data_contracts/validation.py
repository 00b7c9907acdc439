"""Run a contract as a Great Expectations checkpoint and explain every failure in one line.

The rules themselves (what each checks, expects and says when broken) are ``data_contracts.rules``;
this module builds their suite once, runs it on a frame and turns GX's results into a report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from data_contracts.contract import Contract
from data_contracts.report import ContractReport, ContractViolation, RuleResult
from data_contracts.rules import Failure, Rule, rules_for, with_helpers
from models.frame import SERIES_ID

__all__ = ["ContractReport", "ContractViolation", "RuleResult", "run_contract"]


@dataclass(frozen=True)
class Checked:
    """A checkpoint's outcome: the report, and for row-level rules the index of each bad row."""

    report: ContractReport
    bad_rows: dict[Any, list[RuleResult]]


def _show(value: Any) -> str:
    """An example value as a person writes it: ``ATL 2024-01-04`` rather than a dict of Timestamps."""
    if isinstance(value, dict):
        return " ".join(_show(v) for v in value.values())
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _failure(result: dict[str, Any]) -> Failure:
    examples = result.get("partial_unexpected_list") or []
    return Failure(
        count=result.get("unexpected_count"),
        observed=result.get("observed_value"),
        example=f" (e.g. {_show(examples[0])})" if examples else "",
    )


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
        expectations = []
        for rule in rules:
            expectation = rule.expectation()
            expectation.meta = {"rule": rule.name, "column": rule.column}
            expectations.append(expectation)
        # Built whole and stored once: adding expectations one by one rewrites the stored suite
        # each time, which cost about half a second per check.
        suite = context.suites.add(
            gx.ExpectationSuite(name=f"{contract.dataset}_contract", expectations=expectations)
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
    if checkpoint is None:
        checkpoint = _Checkpoint(contract, rules_for(contract, df, freq), docs_root, row_indexes)
    frame = with_helpers(df, list(checkpoint.rules.values()))
    results: list[RuleResult] = []
    bad_rows: dict[Any, list[RuleResult]] = {}
    for rule, success, detail in checkpoint.run(frame, run_name):
        examples = list(detail.get("partial_unexpected_list") or [])[:5]
        outcome = RuleResult(
            rule=rule.name,
            column=rule.column,
            success=success,
            expectation=rule.expects,
            message="" if success else rule.explain(_failure(detail)),
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
