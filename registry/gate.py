"""Champion/challenger gate: a new version takes ``champion`` only when it beats the current one.

The comparison is head to head on the same backtest windows: the new run's rolling-origin
windows score both the new per-series selection and the champion's per-series choices, over the
series both know. A new version must be better by ``margin`` (relative; the dataset spec's
``training.promotion_margin``) to be promoted; otherwise it is registered as ``challenger`` and
the reason is kept on the version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from registry.names import CHALLENGER, CHAMPION, Alias

DEFAULT_MARGIN = 0.01  # a 1% better MASE: less would swap champions on backtest noise
GATE_METRIC = "mase"


@dataclass(frozen=True)
class HeadToHead:
    """Mean backtest metric of the new selection and of the champion's, on the same series and windows."""

    new_score: float
    champion_score: float
    series: int  # series compared
    windows: int  # backtest windows per series
    left_out: dict[str, str] = field(default_factory=dict)  # series_id -> why it was not compared

    @property
    def basis(self) -> str:
        text = f"the same {self.windows} backtest window(s) of {self.series} series"
        if self.left_out:
            text += f" ({len(self.left_out)} series not comparable)"
        return text


@dataclass(frozen=True)
class GateDecision:
    alias: Alias
    reason: str
    margin: float
    metric: str = GATE_METRIC
    new_score: float | None = None
    champion_score: float | None = None
    champion_version: str | None = None

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION

    def tags(self) -> dict[str, str]:
        """What the model version keeps of the decision (MLflow tags are strings)."""
        tags = {
            "gate": self.reason,
            "gate_decision": self.alias,
            "gate_metric": self.metric,
            "gate_margin": f"{self.margin:g}",
        }
        if self.champion_version is not None:
            tags["gate_champion_version"] = self.champion_version
        if self.new_score is not None:
            tags["gate_new_score"] = f"{self.new_score:.6g}"
        if self.champion_score is not None:
            tags["gate_champion_score"] = f"{self.champion_score:.6g}"
        return tags


def decide(
    new_score: float,
    champion_score: float | None,
    champion_version: str | None,
    margin: float = DEFAULT_MARGIN,
    basis: str = "backtest",
    metric: str = GATE_METRIC,
) -> GateDecision:
    """The gate's rule (lower is better): promote when ``new < champion * (1 - margin)``."""
    if not 0 <= margin < 1:
        raise ValueError(f"the promotion margin is a fraction in [0, 1), got {margin}")

    def made(alias: Alias, reason: str, champion: float | None = champion_score) -> GateDecision:
        return GateDecision(alias, reason, margin, metric, new_score, champion, champion_version)

    if champion_version is None:
        return made(CHAMPION, "first version of this model", None)
    if not math.isfinite(new_score):
        return made(CHALLENGER, f"the new version has no finite backtest {metric}")
    if champion_score is None or not math.isfinite(champion_score):
        return made(CHAMPION, f"champion v{champion_version} has no finite backtest {metric} on {basis}")
    needed = champion_score * (1 - margin)
    if new_score < needed:
        return made(
            CHAMPION,
            f"{metric} {new_score:.4f} beats champion v{champion_version} ({champion_score:.4f}) "
            f"by more than {margin:.1%} on {basis}",
        )
    return made(
        CHALLENGER,
        f"{metric} {new_score:.4f} does not beat champion v{champion_version} ({champion_score:.4f}) "
        f"by {margin:.1%} (needs < {needed:.4f}) on {basis}",
    )


def head_to_head(
    scores: pd.DataFrame,
    new_selection: dict[str, str],
    champion_selection: dict[str, str],
    metric: str = GATE_METRIC,
) -> HeadToHead | None:
    """Score both selections on the windows in ``scores`` (one row per series, model, window).

    ``new_selection`` and ``champion_selection`` map series to the model each chose. A series is
    compared only when both models have a score on every window of it without error; the others
    are listed with the reason. None when no series can be compared.
    """
    left_out: dict[str, str] = {}
    new_values: list[float] = []
    champion_values: list[float] = []
    windows = 0
    by_series = dict(tuple(scores.groupby("series_id"))) if len(scores) else {}
    for series_id, new_model in sorted(new_selection.items()):
        champion_model = champion_selection.get(series_id)
        if champion_model is None:
            left_out[series_id] = "new series: the champion has no forecast for it"
            continue
        rows = by_series.get(series_id)
        if rows is None:
            left_out[series_id] = "no backtest scores"
            continue
        pair = []
        for model in (new_model, champion_model):
            chosen = rows[rows["model"] == model]
            failed = chosen["error"].astype(bool).any() if "error" in chosen else False
            if chosen.empty or failed or chosen[metric].isna().any():
                break
            pair.append(chosen)
        if len(pair) < 2:
            left_out[series_id] = f"no complete backtest of {champion_model!r} or {new_model!r}"
            continue
        if len(pair[0]) != len(pair[1]):
            left_out[series_id] = "the two models were scored on different windows"
            continue
        windows = max(windows, len(pair[0]))
        new_values.append(float(pair[0][metric].mean()))
        champion_values.append(float(pair[1][metric].mean()))
    if not new_values:
        return None
    return HeadToHead(
        new_score=sum(new_values) / len(new_values),
        champion_score=sum(champion_values) / len(champion_values),
        series=len(new_values),
        windows=windows,
        left_out=left_out,
    )
