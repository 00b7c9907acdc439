"""Per-series training through Prefect's Dask task runner: 1 worker against 2, on M4 Weekly.

The training flow's own code path (``flows.train.train_on_cluster``: chunked ``train_series``
tasks submitted to a ``DaskTaskRunner`` on a local cluster, results checkpointed as they come
back) runs the M4 Weekly series with 1 and then 2 worker processes. The named peer, in the same
run, is the same selection done serially in one process (``engine.train_series`` in a loop, no
Prefect, no Dask): the floor any parallel runner has to beat. Every run must select the same
model per series. Wall times include starting the cluster (what a training run pays).

    .venv/bin/python benchmarks/dask_scaling.py          # writes benchmarks/results/dask_scaling.json/.md

The candidates (seasonal naive and damped ETS; Theta and Prophet, ten times slower per series
here, are left out to keep the run to minutes: the scaling is the same per-series work) are
backtested on 2 rolling windows of the 13-week horizon, on each series' last 260 weeks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# One BLAS thread per process, as Dask's nanny gives each worker: the serial peer must not be
# slowed (or sped up) by a thread pool the workers do not have.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402

from models import engine  # noqa: E402
from models.frame import iter_series  # noqa: E402

TRAIN = REPO / "benchmarks" / "data" / "m4" / "Weekly-train.csv"
RESULTS = REPO / "benchmarks" / "results"
CANDIDATES = ("seasonal_naive", "ets")


def m4_long_frame(path: Path, series: int, history: int) -> pd.DataFrame:
    """M4's wide file (id, then values) as a long frame on a weekly calendar ending together."""
    wide = pd.read_csv(path)
    frames = []
    for _, row in wide.head(series).iterrows():
        values = row.iloc[1:].dropna().to_numpy(dtype=float)[-history:]
        ds = pd.date_range(end="2018-12-30", periods=len(values), freq="W-SUN")
        frames.append(pd.DataFrame({"series_id": str(row.iloc[0]), "ds": ds, "y": values}))
    return pd.concat(frames, ignore_index=True)


def serial_peer(df: pd.DataFrame, config: engine.TrainingConfig) -> dict[str, str]:
    return {
        o.series_id: o.selected for o in (engine.train_series(s, config) for s in iter_series(df, "W-SUN"))
    }


def through_dask(
    df: pd.DataFrame, config: engine.TrainingConfig, workers: int, scratch: Path
) -> dict[str, str]:
    from prefect import flow

    from flows.checkpoints import SeriesCheckpoints
    from flows.train import dask_runner, train_on_cluster

    @flow(name="dask-scaling")
    def run() -> dict[str, str]:
        checkpoints = SeriesCheckpoints(scratch, uuid.uuid4().hex)  # empty: nothing to resume
        outcomes, _ = train_on_cluster(df, config, checkpoints, dask_runner(workers=workers), workers)
        return {o.series_id: o.selected for o in outcomes}

    return run()


def timed(label: str, fn: Any) -> tuple[float, dict[str, str]]:
    print(f"{label} ...", flush=True)
    start = time.perf_counter()
    selection = fn()
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds, selection


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=359, help="how many M4 Weekly series (all: 359)")
    parser.add_argument("--history", type=int, default=260, help="last points of each series kept")
    parser.add_argument("--out", type=Path, default=RESULTS / "dask_scaling.json")
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    df = m4_long_frame(TRAIN, args.series, args.history)
    config = engine.TrainingConfig(
        freq="W-SUN", horizon=13, season_length=1, candidates=CANDIDATES, backtest_windows=2
    )
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=180):
        runs: dict[str, float] = {}
        selections: dict[str, dict[str, str]] = {}
        for label, fn in (
            ("serial, one process (peer)", lambda: serial_peer(df, config)),
            ("Dask, 1 worker", lambda: through_dask(df, config, 1, Path(tmp))),
            ("Dask, 2 workers", lambda: through_dask(df, config, 2, Path(tmp))),
        ):
            runs[label], selections[label] = timed(label, fn)
    reference = selections["serial, one process (peer)"]
    assert all(s == reference for s in selections.values()), "runners disagree on the selection"
    one, two = runs["Dask, 1 worker"], runs["Dask, 2 workers"]
    result = {
        "series": int(df["series_id"].nunique()),
        "points": len(df),
        "candidates": list(CANDIDATES),
        "backtest_windows": config.backtest_windows,
        "horizon": config.horizon,
        "seconds": {k: round(v, 2) for k, v in runs.items()},
        "series_per_second": {k: round(len(reference) / v, 2) for k, v in runs.items()},
        "speedup_2_vs_1_workers": round(one / two, 2),
        "speedup_2_workers_vs_serial": round(runs["serial, one process (peer)"] / two, 2),
        "same_selection": True,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(
        f"| {label} | {runs[label]:.1f} | {len(reference) / runs[label]:.2f} |" for label in runs
    )
    args.out.with_suffix(".md").write_text(
        f"# Per-series training on Dask: M4 Weekly, {result['series']} series\n\n"
        f"Candidates {', '.join(CANDIDATES)}; {config.backtest_windows} backtest windows of "
        f"{config.horizon} weeks; last {args.history} points per series. `{' '.join(sys.argv)}` on "
        f"{os.cpu_count()} CPUs (load average {load_before[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end: the machine is shared).\n\n"
        "| runner | wall seconds (cluster start included) | series/s |\n| --- | ---: | ---: |\n"
        f"{rows}\n\n"
        f"2 workers against 1: **{result['speedup_2_vs_1_workers']}x**; against the serial peer: "
        f"{result['speedup_2_workers_vs_serial']}x. Every runner selected the same model for every series.\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
