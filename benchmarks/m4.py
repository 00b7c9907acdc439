"""Accuracy and speed of the platform's own model selection on an M4 competition set.

    .venv/bin/python -m benchmarks.m4 --train benchmarks/data/m4/Weekly-train.csv \\
        --test benchmarks/data/m4/Weekly-test.csv --horizon 13 --season-length 1 \\
        --out benchmarks/results/m4_weekly.json

Every series goes through the engine as ``train`` runs it: the plan (candidates that apply and
fit the time budget, drops logged), ``models.engine.train_all`` (rolling-origin backtest of each
candidate, per-series selection, refit) in worker processes, then the interval calibration on
the backtest errors (``models.engine.calibrate``). The global boosted trees (``gbm``) are first
fitted across all series twice: once on every series cut at its oldest backtest cutoff (that
model forecasts every backtest window) and once on everything (``models.engine.pooled_fits``). Scores are the M4
organisers': sMAPE and MASE averaged over series, OWA against Naive2 computed the M4 way in the
same run, and for the intervals the coverage of the 80% and 95% bands and MSIS (of the 95%
band). A named peer, StatsForecast's AutoETS and AutoARIMA, then forecasts the same series in
the same run with as many processes, after ours, so neither side slows the other on a small
machine. Nothing in here is frequency-specific: the defaults are the engine's
(``models/defaults.py``, the same as a dataset spec's), and horizon and season length(s) come
from arguments.
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

from models import defaults, metrics
from models.engine import BACKTEST_FITS, SeriesOutcome, TrainingConfig, calibrate, plan_training, train_all
from models.frame import Series
from models.gbm import LOSSES, STRATEGIES
from models.intervals import tail_ratio, z_score
from models.naive2 import Naive2

LEVELS = (80.0, 95.0)


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


def interval_scores(
    bands: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]],
    history: dict[str, np.ndarray],
    actual: dict[str, np.ndarray],
    season_length: int,
) -> dict[str, float]:
    """Coverage of the 80% and 95% bands (percent of actuals inside) and MSIS of the 95% band."""
    ids = sorted(actual)
    out = {
        f"coverage_{level:g}": round(
            100 * float(np.mean([metrics.coverage(actual[i], *bands[i][level]) for i in ids])), 2
        )
        for level in LEVELS
    }
    out["msis"] = round(
        float(np.mean([metrics.msis(actual[i], *bands[i][95.0], history[i], season_length) for i in ids])), 3
    )
    return out


def our_bands(
    outcomes: list[SeriesOutcome], tails: dict[str, dict[float, float]]
) -> dict[str, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """Each series' bands as the bundle serves them: z * sigma * the model's tail ratio."""
    out: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = {}
    for o in outcomes:
        mean, sigma = np.asarray(o.forecast.mean), np.asarray(o.forecast.sigma)
        model_tails = {f"{k:g}": v for k, v in tails.get(o.selected, {}).items()}
        out[o.series_id] = {}
        for level in LEVELS:
            half = z_score(level) * tail_ratio(model_tails, level) * sigma
            out[o.series_id][level] = (mean - half, mean + half)
    return out


def with_owa(scores: dict[str, float], naive2: dict[str, float]) -> dict[str, float]:
    return {
        **{k: round(v, 4) for k, v in scores.items()},
        "owa": round(metrics.owa(scores["smape"], scores["mase"], naive2["smape"], naive2["mase"]), 4),
    }


def run_peer(history: dict[str, np.ndarray], horizon: int, season_length: int, n_jobs: int) -> dict[str, Any]:
    """StatsForecast's AutoETS and AutoARIMA with 80% and 95% intervals (numba JIT compile
    time included)."""
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
    result = engine.forecast(df=frame, h=horizon, level=[int(level) for level in LEVELS])
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": round(seconds, 1), "models": {}, "bands": {}}
    groups = dict(list(result.groupby("unique_id")))
    for column in ("AutoETS", "AutoARIMA"):
        out["models"][column] = {sid: g[column].to_numpy(dtype=float) for sid, g in groups.items()}
        out["bands"][column] = {
            str(sid): {
                level: (
                    g[f"{column}-lo-{int(level)}"].to_numpy(dtype=float),
                    g[f"{column}-hi-{int(level)}"].to_numpy(dtype=float),
                )
                for level in LEVELS
            }
            for sid, g in groups.items()
        }
    return out


def progress(done: int, total: int, series_id: str) -> None:
    if done == total or done % max(1, total // 20) == 0:
        print(
            f"  backtested, selected and refitted {done}/{total} series ({series_id})",
            file=sys.stderr,
            flush=True,
        )


def stage(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True, help="M4-format training CSV")
    parser.add_argument("--test", type=Path, required=True, help="M4-format test CSV (the actuals)")
    parser.add_argument("--horizon", type=int, required=True, help="steps to forecast (M4 Weekly: 13)")
    parser.add_argument(
        "--season-length",
        required=True,
        help="M4 frequency (Weekly: 1, Hourly: 24); several, comma-separated, for multiple "
        "seasonalities (24,168): the first scales MASE and Naive2",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here (and a .md beside it)")
    parser.add_argument("--candidates", default=",".join(defaults.CANDIDATES), help="comma-separated")
    parser.add_argument(
        "--windows", type=int, default=defaults.BACKTEST_WINDOWS, help="backtest windows per series"
    )
    parser.add_argument(
        "--time-budget", type=float, default=0, help="seconds for our training (0: none); see models/plan.py"
    )
    parser.add_argument("--max-history", type=int, default=0, help="local models see this many points")
    parser.add_argument(
        "--gbm-lags", type=int, default=0, help="lag window of the boosted trees (0: four horizons)"
    )
    parser.add_argument(
        "--gbm-loss", choices=LOSSES, default=defaults.GBM_LOSS, help="loss of the boosted trees"
    )
    parser.add_argument(
        "--gbm-strategy",
        choices=STRATEGIES,
        default=defaults.GBM_STRATEGY,
        help="recursive: one model of the next step; direct: one model per step ahead",
    )
    parser.add_argument(
        "--gbm-backtest-fits",
        choices=BACKTEST_FITS,
        default=defaults.GBM_BACKTEST_FITS,
        help="shared: one pooled fit forecasts every backtest window; window: one fit per window",
    )
    parser.add_argument(
        "--no-calibration", action="store_true", help="serve the models' own intervals (an ablation)"
    )
    parser.add_argument("--freq", default="D", help="pandas frequency of the synthetic dates")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per core)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N series (a smoke run)")
    parser.add_argument("--peer", choices=["statsforecast", "none"], default="statsforecast")
    args = parser.parse_args(argv)
    try:
        periods = tuple(int(p) for p in str(args.season_length).split(","))
    except ValueError:
        parser.error(f"--season-length takes whole numbers, comma-separated; got {args.season_length!r}")
    season_length = periods[0]
    load_before = os.getloadavg()

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
        sid: Naive2(season_length).fit(as_series(sid, y, args.freq)).forecast(args.horizon).mean
        for sid, y in history.items()
    }
    naive2_scores = score(naive2, history, actual, season_length)

    config = TrainingConfig(
        freq=args.freq,
        horizon=args.horizon,
        season_length=season_length,
        season_lengths=periods,
        candidates=tuple(args.candidates.split(",")),
        backtest_windows=args.windows,
        max_history=args.max_history,
        gbm_lags=args.gbm_lags,
        gbm_loss=args.gbm_loss,
        gbm_strategy=args.gbm_strategy,
        gbm_backtest_fits=args.gbm_backtest_fits,
        calendar_features=False,  # M4 publishes no dates: the calendar would be synthetic
        time_budget=args.time_budget,
        calibrate_intervals=not args.no_calibration,
    )
    series = [as_series(sid, y, args.freq) for sid, y in history.items()]
    print(f"AstralytiQ selection on {len(series)} series with {jobs} processes", file=sys.stderr)
    started = time.perf_counter()
    plan_lines: list[str] = []

    def plan_stage(message: str) -> None:
        plan_lines.append(message)
        stage(message)

    planned = plan_training(series, config, jobs, plan_stage)
    outcomes = train_all(series, planned, n_jobs=jobs, progress=progress, stage=stage)
    calibration, outcomes = calibrate(outcomes, planned)
    seconds = time.perf_counter() - started
    ours = {o.series_id: np.asarray(o.forecast.mean) for o in outcomes}
    tails = calibration.tails if calibration is not None else {}
    results: dict[str, Any] = {
        "dataset": {"train": str(args.train), "test": str(args.test), "series": len(series)},
        "settings": {
            "horizon": args.horizon,
            "season_lengths": list(periods),
            "candidates": list(config.candidates),
            "planned_candidates": list(planned.candidates),
            "plan": plan_lines,
            "backtest_windows": args.windows,
            "max_history": args.max_history,
            "gbm_lags": args.gbm_lags,
            "gbm_loss": args.gbm_loss,
            "gbm_strategy": args.gbm_strategy,
            "gbm_backtest_fits": args.gbm_backtest_fits,
            "time_budget": args.time_budget,
            "calibration": not args.no_calibration,
            "selection_metric": config.selection_metric,
            "processes": jobs,
            "cpus": os.cpu_count(),
        },
        "load_average": {"before": [round(v, 2) for v in load_before]},
        "naive2": with_owa(naive2_scores, naive2_scores),
        "astralytiq": {
            **with_owa(score(ours, history, actual, season_length), naive2_scores),
            **interval_scores(our_bands(outcomes, tails), history, actual, season_length),
            "seconds": round(seconds, 1),
            "series_per_second": round(len(series) / seconds, 3),
            "wins": dict(Counter(o.selected for o in outcomes).most_common()),
        },
    }
    results["load_average"]["after_ours"] = [round(v, 2) for v in os.getloadavg()]
    if args.out:
        write(results, args.out)  # ours are safe on disk before waiting for the peer
    if args.peer == "statsforecast":
        print(f"StatsForecast AutoETS + AutoARIMA (peer) with {jobs} processes", file=sys.stderr)
        peer = run_peer(history, args.horizon, season_length, jobs)
        if "error" in peer:
            results["peer"] = peer
        else:
            results["peer"] = {
                "name": "statsforecast",
                "n_jobs": jobs,
                "seconds": peer["seconds"],
                "series_per_second": round(len(series) / peer["seconds"], 3),
                **{
                    model: {
                        **with_owa(score(fc, history, actual, season_length), naive2_scores),
                        **interval_scores(peer["bands"][model], history, actual, season_length),
                    }
                    for model, fc in peer["models"].items()
                },
            }
        results["load_average"]["after_peer"] = [round(v, 2) for v in os.getloadavg()]
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
        "| method | sMAPE | MASE | OWA | coverage 80% | coverage 95% | MSIS | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| Naive2 (M4 way) | {results['naive2']['smape']:.3f} | {results['naive2']['mase']:.3f} | 1.000 | | | | |",
        f"| AstralytiQ selection | {ours['smape']:.3f} | {ours['mase']:.3f} | {ours['owa']:.3f} "
        f"| {ours['coverage_80']:.1f} | {ours['coverage_95']:.1f} | {ours['msis']:.3f} | {ours['seconds']} |",
    ]
    peer = results.get("peer", {})
    for model in ("AutoETS", "AutoARIMA"):
        if model in peer:
            p = peer[model]
            lines.append(
                f"| StatsForecast {model} | {p['smape']:.3f} | {p['mase']:.3f} | {p['owa']:.3f} "
                f"| {p['coverage_80']:.1f} | {p['coverage_95']:.1f} | {p['msis']:.3f} | {peer['seconds']} (both) |"
            )
    if "error" in peer:
        lines.append(f"\nPeer not run: {peer['error']}")
    wins = ", ".join(f"{k} {v}" for k, v in ours["wins"].items())
    lines += [
        "",
        f"Series per second (ours): {ours['series_per_second']}. Wins per model: {wins}.",
        f"Settings: {json.dumps(results['settings'])}",
        f"Load average (1, 5, 15 min): {json.dumps(results['load_average'])}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
