"""Accuracy and speed of the platform's own model selection on an M4 competition set.

    .venv/bin/python -m benchmarks.m4 --train benchmarks/data/m4/Weekly-train.csv \\
        --test benchmarks/data/m4/Weekly-test.csv --horizon 13 --season-length 1 \\
        --out benchmarks/results/m4_weekly.json

Every series goes through ``models.engine.train_all`` (rolling-origin backtest of each candidate,
per-series selection, refit) in worker processes; the global boosted trees (``gbm``) are first
fitted across all series once per backtest window and once on everything. Scores are the M4
organisers': sMAPE and MASE averaged over series, and OWA against Naive2 computed the M4 way in
the same run. A named peer, StatsForecast's AutoETS and AutoARIMA, then forecasts the same series
in the same run with as many processes, after ours, so neither side slows the other on a small
machine. Nothing in here is frequency-specific: horizon, season length, the boosted trees' lag
window and the candidates all come from arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import metrics
from models.engine import TrainingConfig, train_all
from models.frame import Series
from models.gbm import LOSSES
from models.naive2 import Naive2

M4_CANDIDATES = ("naive2", "ets", "arima", "gbm", "combo_mean", "combo_median")


def read_m4(path: Path) -> dict[str, np.ndarray]:
    """One row per series: the id, then the values (trailing blanks pad the shorter series)."""
    frame = pd.read_csv(path, index_col=0)
    return {str(sid): row.dropna().to_numpy(dtype=float) for sid, row in frame.iterrows()}


def as_series(series_id: str, y: np.ndarray, freq: str) -> Series:
    # M4 publishes no usable dates; a synthetic regular calendar keeps the engine's contract.
    return Series(series_id, pd.date_range("1900-01-01", periods=len(y), freq=freq), y, freq)


def score(
    forecasts: dict[str, np.ndarray],
    history: dict[str, np.ndarray],
    actual: dict[str, np.ndarray],
    season_length: int,
) -> dict[str, float]:
    ids = sorted(actual)
    smape = float(np.mean([metrics.smape(actual[i], forecasts[i]) for i in ids]))
    mase = float(np.mean([metrics.mase(actual[i], forecasts[i], history[i], season_length) for i in ids]))
    return {"smape": smape, "mase": mase}


def with_owa(scores: dict[str, float], naive2: dict[str, float]) -> dict[str, float]:
    return {
        **{k: round(v, 4) for k, v in scores.items()},
        "owa": round(metrics.owa(scores["smape"], scores["mase"], naive2["smape"], naive2["mase"]), 4),
    }


def run_peer(history: dict[str, np.ndarray], horizon: int, season_length: int, n_jobs: int) -> dict[str, Any]:
    """StatsForecast's AutoETS and AutoARIMA (numba JIT compile time included)."""
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoARIMA, AutoETS
    except ImportError as exc:  # a dev dependency; say so rather than crash
        return {"error": f"statsforecast is not installed: {exc}"}
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": sid, "ds": np.arange(1, len(y) + 1), "y": y})
            for sid, y in history.items()
        ],
        ignore_index=True,
    )
    started = time.perf_counter()
    engine = StatsForecast(
        models=[AutoETS(season_length=season_length), AutoARIMA(season_length=season_length)],
        freq=1,
        n_jobs=n_jobs,
    )
    result = engine.forecast(df=frame, h=horizon)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": round(seconds, 1), "models": {}}
    for column in ("AutoETS", "AutoARIMA"):
        out["models"][column] = {
            sid: group[column].to_numpy(dtype=float) for sid, group in result.groupby("unique_id")
        }
    return out


def progress(done: int, total: int, series_id: str) -> None:
    if done == total or done % max(1, total // 20) == 0:
        print(f"  {done}/{total} series ({series_id})", file=sys.stderr, flush=True)


def stage(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True, help="M4-format training CSV")
    parser.add_argument("--test", type=Path, required=True, help="M4-format test CSV (the actuals)")
    parser.add_argument("--horizon", type=int, required=True, help="steps to forecast (M4 Weekly: 13)")
    parser.add_argument("--season-length", type=int, required=True, help="M4 frequency (Weekly: 1)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here (and a .md beside it)")
    parser.add_argument("--candidates", default=",".join(M4_CANDIDATES), help="comma-separated")
    parser.add_argument("--windows", type=int, default=4, help="backtest windows per series")
    parser.add_argument("--max-history", type=int, default=0, help="local models see this many points")
    parser.add_argument(
        "--gbm-lags", type=int, default=0, help="lag window of the boosted trees (0: four horizons)"
    )
    parser.add_argument(
        "--gbm-loss",
        choices=LOSSES,
        default="absolute_error",
        help="loss of the boosted trees",
    )
    parser.add_argument("--freq", default="D", help="pandas frequency of the synthetic dates")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per core)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N series (a smoke run)")
    parser.add_argument("--peer", choices=["statsforecast", "none"], default="statsforecast")
    args = parser.parse_args(argv)

    history = read_m4(args.train)
    actual = read_m4(args.test)
    if args.limit:
        history = dict(list(history.items())[: args.limit])
    actual = {sid: actual[sid] for sid in history}
    short = [sid for sid, y in actual.items() if len(y) != args.horizon]
    if short:
        raise SystemExit(f"test rows must hold {args.horizon} values; {short[:3]} do not")
    jobs = args.jobs or os.cpu_count() or 1

    naive2 = {
        sid: Naive2(args.season_length).fit(as_series(sid, y, args.freq)).forecast(args.horizon).mean
        for sid, y in history.items()
    }
    naive2_scores = score(naive2, history, actual, args.season_length)

    config = TrainingConfig(
        freq=args.freq,
        horizon=args.horizon,
        season_length=args.season_length,
        candidates=tuple(args.candidates.split(",")),
        backtest_windows=args.windows,
        max_history=args.max_history,
        gbm_lags=args.gbm_lags,
        gbm_loss=args.gbm_loss,
        calendar_features=False,
        selection_metric="mase",
    )
    series = [as_series(sid, y, args.freq) for sid, y in history.items()]
    print(f"AstralytiQ selection on {len(series)} series with {jobs} processes", file=sys.stderr)
    started = time.perf_counter()
    outcomes = train_all(series, config, n_jobs=jobs, progress=progress, stage=stage)
    seconds = time.perf_counter() - started
    ours = {o.series_id: np.asarray(o.forecast.mean) for o in outcomes}
    results: dict[str, Any] = {
        "dataset": {"train": str(args.train), "test": str(args.test), "series": len(series)},
        "settings": {
            "horizon": args.horizon,
            "season_length": args.season_length,
            "candidates": list(config.candidates),
            "backtest_windows": args.windows,
            "max_history": args.max_history,
            "gbm_lags": args.gbm_lags,
            "gbm_loss": args.gbm_loss,
            "selection_metric": config.selection_metric,
            "processes": jobs,
            "cpus": os.cpu_count(),
        },
        "naive2": with_owa(naive2_scores, naive2_scores),
        "astralytiq": {
            **with_owa(score(ours, history, actual, args.season_length), naive2_scores),
            "seconds": round(seconds, 1),
            "series_per_second": round(len(series) / seconds, 3),
            "wins": dict(Counter(o.selected for o in outcomes).most_common()),
        },
    }
    if args.out:
        write(results, args.out)  # ours are safe on disk before waiting for the peer
    if args.peer == "statsforecast":
        print(f"StatsForecast AutoETS + AutoARIMA (peer) with {jobs} processes", file=sys.stderr)
        peer = run_peer(history, args.horizon, args.season_length, jobs)
        if "error" in peer:
            results["peer"] = peer
        else:
            results["peer"] = {
                "name": "statsforecast",
                "n_jobs": jobs,
                "seconds": peer["seconds"],
                "series_per_second": round(len(series) / peer["seconds"], 3),
                **{
                    model: with_owa(score(fc, history, actual, args.season_length), naive2_scores)
                    for model, fc in peer["models"].items()
                },
            }
    print(json.dumps(results, indent=2))
    if args.out:
        write(results, args.out)
    return results


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(to_markdown(results))


def to_markdown(results: dict[str, Any]) -> str:
    ours = results["astralytiq"]
    lines = [
        f"# M4 benchmark: {results['dataset']['train']} ({results['dataset']['series']} series)",
        "",
        "| method | sMAPE | MASE | OWA | seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| Naive2 (M4 way) | {results['naive2']['smape']:.3f} | {results['naive2']['mase']:.3f} | 1.000 | |",
        f"| AstralytiQ selection | {ours['smape']:.3f} | {ours['mase']:.3f} | {ours['owa']:.3f} | {ours['seconds']} |",
    ]
    peer = results.get("peer", {})
    for model in ("AutoETS", "AutoARIMA"):
        if model in peer:
            p = peer[model]
            lines.append(
                f"| StatsForecast {model} | {p['smape']:.3f} | {p['mase']:.3f} | {p['owa']:.3f} | {peer['seconds']} (both) |"
            )
    if "error" in peer:
        lines.append(f"\nPeer not run: {peer['error']}")
    wins = ", ".join(f"{k} {v}" for k, v in ours["wins"].items())
    lines += [
        "",
        f"Series per second (ours): {ours['series_per_second']}. Wins per model: {wins}.",
        f"Settings: {json.dumps(results['settings'])}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
