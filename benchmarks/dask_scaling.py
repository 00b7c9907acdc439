"""Per-series training through Prefect's Dask task runner: 1 worker against 2, on M4 Weekly.

The training flow's own code path (``flows.train.train_on_cluster``: chunked ``train_series``
tasks submitted to a ``DaskTaskRunner`` on a local cluster, results checkpointed as they come
back) runs the M4 Weekly series with 1 and then 2 worker processes. The named peer, in the same
run, is the same selection done serially in one process (``engine.train_series`` in a loop, no
Prefect, no Dask): the floor any parallel runner has to beat. Every run must select the same
model per series. Wall times include starting the cluster (what a training run pays: each Dask
worker imports Prefect and the engine, seconds of CPU). Runs are interleaved and repeated, the
best of each is reported, and so is the CPU time each run used per wall second: on a shared
machine that says how many cores a run actually got.

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
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
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
PEER = "serial, one process (peer)"


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
        outcomes, _, _ = train_on_cluster(df, config, checkpoints, dask_runner(workers=workers), workers)
        return {o.series_id: o.selected for o in outcomes}

    return run()


@dataclass
class Measured:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process and its finished children


def cpu_seconds() -> float:
    # Dask's local workers are child processes: their CPU time is counted once they are reaped.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, fn: Any, into: Measured) -> dict[str, str]:
    print(f"{label} ...", flush=True)
    cpu, start = cpu_seconds(), time.perf_counter()
    selection = fn()
    into.wall.append(time.perf_counter() - start)
    into.cpu.append(cpu_seconds() - cpu)
    print(f"{label}: {into.wall[-1]:.1f} s wall, {into.cpu[-1]:.1f} s CPU", flush=True)
    return selection  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=359, help="how many M4 Weekly series (all: 359)")
    parser.add_argument("--history", type=int, default=260, help="last points of each series kept")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each runner, interleaved")
    parser.add_argument(
        "--candidates",
        default=",".join(CANDIDATES),
        help="comma-separated candidates (more, e.g. adding theta, is more work per series)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "dask_scaling.json")
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    df = m4_long_frame(TRAIN, args.series, args.history)
    config = engine.TrainingConfig(
        freq="W-SUN",
        horizon=13,
        season_length=1,
        candidates=tuple(args.candidates.split(",")),
        backtest_windows=2,
    )
    load_before = os.getloadavg()
    runners = {
        PEER: lambda scratch: serial_peer(df, config),
        "Dask, 1 worker": lambda scratch: through_dask(df, config, 1, scratch),
        "Dask, 2 workers": lambda scratch: through_dask(df, config, 2, scratch),
    }
    measured = {label: Measured() for label in runners}
    reference: dict[str, str] | None = None
    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=180):
        # Interleaved, so a burst of load from other work hits every runner alike; best of each.
        for _ in range(args.repeat):
            for label, run in runners.items():
                selection = timed(label, lambda run=run: run(Path(tmp)), measured[label])
                reference = reference or selection
                assert selection == reference, f"{label} selected differently"
    assert reference is not None
    best = {label: min(m.wall) for label, m in measured.items()}
    # CPU seconds per wall second: how many cores a run actually got on this shared machine.
    cores = {label: round(m.cpu[m.wall.index(best[label])] / best[label], 2) for label, m in measured.items()}
    result = {
        "series": int(df["series_id"].nunique()),
        "points": len(df),
        "candidates": list(config.candidates),
        "backtest_windows": config.backtest_windows,
        "horizon": config.horizon,
        "repeats": args.repeat,
        "best_seconds": {k: round(v, 2) for k, v in best.items()},
        "all_seconds": {k: [round(x, 2) for x in m.wall] for k, m in measured.items()},
        "cpu_seconds": {k: [round(x, 2) for x in m.cpu] for k, m in measured.items()},
        "cores_obtained": cores,
        "series_per_second": {k: round(len(reference) / v, 2) for k, v in best.items()},
        "speedup_2_vs_1_workers": round(best["Dask, 1 worker"] / best["Dask, 2 workers"], 2),
        "speedup_2_workers_vs_serial": round(best[PEER] / best["Dask, 2 workers"], 2),
        "same_selection": True,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(
        f"| {label} | {best[label]:.1f} | {', '.join(f'{x:.1f}' for x in measured[label].wall)} | "
        f"{len(reference) / best[label]:.2f} | {cores[label]:.2f} |"
        for label in runners
    )
    args.out.with_suffix(".md").write_text(
        f"# Per-series training on Dask: M4 Weekly, {result['series']} series\n\n"
        f"Candidates {', '.join(config.candidates)}; {config.backtest_windows} backtest windows of "
        f"{config.horizon} weeks; last {args.history} points per series. `{' '.join(sys.argv)}` on "
        f"{os.cpu_count()} CPUs shared with other work (load average {load_before[0]:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end). Runs interleaved, {args.repeat} of each; best shown.\n\n"
        "| runner | best wall s (cluster start included) | every run | series/s | cores obtained (CPU s / wall s) |\n"
        "| --- | ---: | ---: | ---: | ---: |\n"
        f"{rows}\n\n"
        f"2 workers against 1: **{result['speedup_2_vs_1_workers']}x**; against the serial peer: "
        f"{result['speedup_2_workers_vs_serial']}x. Every run selected the same model for every series.\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
