"""Evidently data drift of the newest actuals (each series' y and each covariate) against the
window the champion was trained on. Pure core: DataFrames in, a dataclass and HTML out."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date

import pandas as pd

from models.frame import DS, SERIES_ID, Y


@dataclass(frozen=True)
class DriftWindows:
    reference_start: date
    reference_end: date
    current_start: date
    current_end: date


@dataclass(frozen=True)
class FeatureDrift:
    score: float  # the test's statistic or p-value, as Evidently reports it
    method: str
    drifted: bool


@dataclass
class DriftResult:
    windows: DriftWindows
    drift_share: float  # share of features that drifted
    dataset_drift: bool  # drift_share reached the dataset's threshold
    features: dict[str, FeatureDrift]
    html: str


class NoNewActuals(ValueError):
    """There is no data after the training window yet, so there is nothing to compare."""


def to_features(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """One row per date, one column per series' target (``y:<id>``) and per covariate."""
    wide = df.pivot_table(index=DS, columns=SERIES_ID, values=Y, aggfunc="mean")
    wide.columns = [f"y:{c}" for c in wide.columns]
    for covariate in covariates:
        # Covariates are per date; where series carry their own values, their mean stands in.
        wide[covariate] = df.groupby(DS)[covariate].mean()
    return wide.sort_index()


def split_windows(
    df: pd.DataFrame, train_start: date, train_end: date, window: int
) -> tuple[pd.DataFrame, pd.DataFrame, DriftWindows]:
    """Reference: the training window. Current: up to ``window`` periods after it."""
    dates = pd.to_datetime(df[DS])
    reference = df[(dates >= pd.Timestamp(train_start)) & (dates <= pd.Timestamp(train_end))]
    later = df[dates > pd.Timestamp(train_end)]
    if later.empty:
        raise NoNewActuals(f"no actuals after the training window (ends {train_end}) yet")
    current_dates = sorted(later[DS].unique())[:window]
    current = later[later[DS].isin(current_dates)]
    if reference.empty:
        raise ValueError(f"the data holds nothing of the training window {train_start}..{train_end}")
    windows = DriftWindows(
        reference_start=reference[DS].min().date(),
        reference_end=reference[DS].max().date(),
        current_start=current[DS].min().date(),
        current_end=current[DS].max().date(),
    )
    return reference, current, windows


def compute_drift(
    reference: pd.DataFrame, current: pd.DataFrame, covariates: list[str], threshold: float
) -> DriftResult:
    """Evidently's DataDriftPreset over every series and covariate; ``threshold``: drifted share."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref_wide, cur_wide = to_features(reference, covariates), to_features(current, covariates)
    windows = DriftWindows(
        ref_wide.index.min().date(),
        ref_wide.index.max().date(),
        cur_wide.index.min().date(),
        cur_wide.index.max().date(),
    )
    columns = [c for c in ref_wide.columns if c in cur_wide.columns]
    definition = DataDefinition(numerical_columns=columns)
    report = Report([DataDriftPreset(drift_share=threshold)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant columns; Evidently handles them
        snapshot = report.run(
            current_data=Dataset.from_pandas(
                cur_wide[columns].reset_index(drop=True), data_definition=definition
            ),
            reference_data=Dataset.from_pandas(
                ref_wide[columns].reset_index(drop=True), data_definition=definition
            ),
        )
    features: dict[str, FeatureDrift] = {}
    share = 0.0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        kind = config.get("type", "")
        if kind.endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif kind.endswith("ValueDrift"):
            method, score, limit = config["method"], float(metric["value"]), float(config["threshold"])
            # p-value tests drift when below the threshold; distance measures when above it.
            drifted = score < limit if "p_value" in method else score >= limit
            features[config["column"]] = FeatureDrift(score=score, method=method, drifted=drifted)
    return DriftResult(
        windows=windows,
        drift_share=share,
        dataset_drift=share >= threshold,
        features=features,
        html=script_safe_report(snapshot.get_html_str(as_iframe=False)),
    )


# Evidently's standalone report holds its data as JSON in the first <script> of the page:
# "var metric_<id> = {...};" and "var additional_graphs_metric_<id> = {...};". json.dumps leaves
# "<" as it is, so a column named "y:</script><script>..." would end that script and start one
# of its own. JSON strings cannot hold a raw newline, so the block ends at the first ";\n</script>".
_DATA_BLOCK = re.compile(
    r"<script>\s*var metric_\w+ = .*?;\s*var additional_graphs_metric_\w+ = .*?;\n</script>", re.S
)
_UNSAFE_IN_SCRIPT = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


class UnexpectedReportLayout(RuntimeError):
    """Evidently changed how it embeds a report's data; the escaping below must be revisited."""


def script_safe_report(html: str) -> str:
    """The report with ``<``, ``>`` and ``&`` in its embedded data written as JSON escapes: the
    same strings to the report's script, and nothing in the data can close the script."""
    start = html.find("<script>")
    match = _DATA_BLOCK.match(html, start) if start >= 0 else None
    if match is None:
        raise UnexpectedReportLayout("the Evidently report's data block was not found where expected")
    opening, body = match.group(0)[: len("<script>")], match.group(0)[len("<script>") : -len("</script>")]
    safe = re.sub("[<>&]", lambda m: _UNSAFE_IN_SCRIPT[m.group(0)], body)
    return html[: match.start()] + opening + safe + "</script>" + html[match.end() :]
