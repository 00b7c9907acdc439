"""How long the demo dataset (nyc_flights) takes to train, with the engine's defaults.

    .venv/bin/python -m benchmarks.demo_training

The spec (datasets/nyc_flights.yaml) names no candidates, so this is the engine's default list,
gbm included, planned, backtested, selected, refitted and calibrated exactly as the training flow
does (``flows.train.training_config`` and the engine's ``plan_training``, ``train_all`` and
``assemble``), minus MLflow and Prefect bookkeeping. The named peer, StatsForecast's AutoETS and
AutoARIMA, forecasts the same series (one fit each, no backtest) in the same run, after ours.
Target (issue 15): the demo trains in at most 60 s with gbm among its candidates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per core)")
    parser.add_argument("--out", type=Path, default=RESULTS / "demo_training.json")
    args = parser.parse_args(argv)

    from data_contracts.sources import read_dataset
    from data_contracts.spec import load_spec
    from flows.train import training_config
    from models import engine
    from models.frame import DS, SERIES_ID, Y, iter_series

    spec = load_spec("nyc_flights", ROOT / "datasets")
    df = read_dataset(spec).frame
    if spec.training.until is not None:
        df = df[df[DS] <= str(spec.training.until)]
    df = df[[SERIES_ID, DS, Y, *spec.covariate_names]]
    jobs = args.jobs or os.cpu_count() or 1
    config = training_config(spec)
    load_before = os.getloadavg()

    def stage(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    series = list(iter_series(df, config.freq, config.covariates))
    planned = engine.plan_training(series, config, jobs, stage)
    outcomes = engine.train_all(series, planned, n_jobs=jobs, stage=stage)
    result = engine.assemble(outcomes, planned, spec.model_name, df)
    seconds = time.perf_counter() - started
    ours = {
        "seconds": round(seconds, 1),
        "series": len(series),
        "candidates": list(planned.candidates),
        "wins": result.selection["model"].value_counts().to_dict(),
        "backtest_mase": round(result.summary["backtest_mase"], 4),
        "candidate_mase": {
            k.removeprefix("candidate_").removesuffix("_mase"): round(v, 4)
            for k, v in result.summary.items()
            if k.startswith("candidate_") and k.endswith("_mase")
        },
        "covariates": config.covariates.describe(),
        **{k: round(v, 4) for k, v in result.summary.items() if "coverage" in k},
    }
    print(f"ours: {ours}", file=sys.stderr)
    results: dict[str, Any] = {
        "dataset": spec.name,
        "horizon": spec.horizon,
        "season_lengths": list(spec.season_lengths),
        "processes": jobs,
        "astralytiq": ours,
        "load_average": {"before": [round(v, 2) for v in load_before]},
    }
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoARIMA, AutoETS

        frame = df[[SERIES_ID, DS, Y]].rename(columns={SERIES_ID: "unique_id"})  # the peer: no covariates
        started = time.perf_counter()
        StatsForecast(
            models=[
                AutoETS(season_length=spec.primary_season_length),
                AutoARIMA(season_length=spec.primary_season_length),
            ],
            freq=spec.frequency,
            n_jobs=jobs,
        ).forecast(df=frame, h=spec.horizon)
        results["peer"] = {
            "name": "StatsForecast AutoETS + AutoARIMA",
            "seconds": round(time.perf_counter() - started, 1),
        }
    except ImportError as exc:
        results["peer"] = {"error": f"statsforecast is not installed: {exc}"}
    results["load_average"]["after"] = [round(v, 2) for v in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=_plain) + "\n")
    peer = results["peer"]
    args.out.with_suffix(".md").write_text(
        "\n".join(
            [
                f"# Demo training: {spec.name} ({len(series)} series, horizon {spec.horizon})",
                "",
                "| method | seconds | candidates |",
                "| --- | ---: | --- |",
                f"| AstralytiQ (engine defaults, {jobs} processes) | {ours['seconds']} | {', '.join(ours['candidates'])} |",
                f"| {peer.get('name', 'peer')} (one fit each, no backtest) | {peer.get('seconds', peer.get('error'))} | |",
                "",
                f"Wins: {ours['wins']}. Load average: {json.dumps(results['load_average'])}",
                "",
            ]
        )
    )
    print(json.dumps(results, indent=2, default=_plain))
    return results


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    main()
