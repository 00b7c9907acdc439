"""The champion/challenger rule and the head-to-head comparison on the same backtest windows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from registry.gate import CHALLENGER, CHAMPION, decide, head_to_head


def test_first_version_is_champion() -> None:
    decision = decide(1.2, None, None, margin=0.05)
    assert decision.alias == CHAMPION and decision.promoted
    assert decision.reason == "first version of this model"


def test_promotes_only_past_the_margin() -> None:
    # 0.94 < 1.0 * (1 - 0.05): promoted; 0.96 is better but not by 5%.
    assert decide(0.94, 1.0, "3", margin=0.05).alias == CHAMPION
    held = decide(0.96, 1.0, "3", margin=0.05)
    assert held.alias == CHALLENGER and not held.promoted
    assert "does not beat champion v3 (1.0000) by 5.0%" in held.reason
    assert "needs < 0.9500" in held.reason
    assert decide(1.0, 1.0, "3", margin=0.0).alias == CHALLENGER  # a tie never moves the alias


def test_non_finite_scores() -> None:
    assert decide(math.inf, 1.0, "2", margin=0.0).alias == CHALLENGER
    assert decide(0.9, math.inf, "2", margin=0.0).alias == CHAMPION


def test_decision_tags_keep_the_evidence() -> None:
    tags = decide(0.8, 1.0, "7", margin=0.01, basis="the same 3 backtest window(s) of 5 series").tags()
    assert tags["gate_decision"] == CHAMPION
    assert tags["gate_champion_version"] == "7" and tags["gate_margin"] == "0.01"
    assert float(tags["gate_new_score"]) == 0.8 and float(tags["gate_champion_score"]) == 1.0
    assert "5 series" in tags["gate"]


def test_margin_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        decide(1.0, 1.0, "1", margin=1.5)


def scores(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["series_id", "model", "window", "mase"]).assign(error="")


def test_head_to_head_uses_the_same_windows_and_series() -> None:
    table = scores(
        [
            ("a", "ets", 0, 1.0),
            ("a", "ets", 1, 2.0),
            ("a", "naive", 0, 3.0),
            ("a", "naive", 1, 3.0),
            ("b", "theta", 0, 0.5),
            ("b", "theta", 1, 0.5),
        ]
    )
    match = head_to_head(table, {"a": "ets", "b": "theta", "c": "ets"}, {"a": "naive", "b": "theta"})
    assert match is not None
    assert match.series == 2 and match.windows == 2
    assert match.new_score == pytest.approx((1.5 + 0.5) / 2)
    assert match.champion_score == pytest.approx((3.0 + 0.5) / 2)
    assert set(match.left_out) == {"c"} and "new series" in match.left_out["c"]
    assert "1 series not comparable" in match.basis


def test_head_to_head_skips_failed_windows_and_returns_none_without_overlap() -> None:
    table = scores([("a", "ets", 0, 1.0), ("a", "naive", 0, 2.0)])
    table.loc[1, "error"] = "did not converge"
    match = head_to_head(table, {"a": "ets"}, {"a": "naive"})
    assert match is None
    assert head_to_head(table, {"a": "ets"}, {"z": "ets"}) is None
