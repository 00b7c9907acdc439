"""How long a data contract check takes in a flow: ours against the set-up it replaced.

Ours: an ephemeral GX context, Data Docs with only the index and the validation page, and
without GX's images and fonts. Peer: a file-backed GX context (``gx.get_context(mode="file")``)
building the default Data Docs site, as the contract step ran before. Both check the same
expectations on the same frame, so only the GX set-up differs. Cold runs (a fresh process:
imports and the first check) are measured in subprocesses; warm runs in this process.

    .venv/bin/python benchmarks/contracts.py      # writes benchmarks/results/contracts.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from data_contracts.contract import Contract, load_contract  # noqa: E402
from data_contracts.sources import load_dataset  # noqa: E402
from data_contracts.spec import load_spec  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "contracts.json"


def ours(df: pd.DataFrame, contract: Contract, docs: Path) -> bool:
    from data_contracts.validation import run_contract

    return run_contract(df, contract, "D", docs).success


def file_context_peer(df: pd.DataFrame, contract: Contract, docs: Path) -> bool:
    """The contract step as it ran before: a file context in a temporary project folder."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from data_contracts.rules import rules_for, with_helpers

    rules = rules_for(contract, df, "D")
    frame = with_helpers(df, rules)
    with tempfile.TemporaryDirectory() as root:
        context = gx.get_context(mode="file", project_root_dir=root)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        batch = (
            context.data_sources.add_pandas("incoming")
            .add_dataframe_asset(contract.dataset)
            .add_batch_definition_whole_dataframe("whole")
        )
        suite = context.suites.add(gx.ExpectationSuite(name=f"{contract.dataset}_contract"))
        for rule in rules:
            suite.add_expectation(rule.expectation())
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name="validation", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name="checkpoint",
                validation_definitions=[validation],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                result_format={"result_format": "SUMMARY"},
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        if docs.exists():
            shutil.rmtree(docs)
        shutil.copytree(Path(root) / "gx" / "uncommitted" / "data_docs" / "local_site", docs)
    return bool(result.success)


CHECKS: dict[str, Callable[[pd.DataFrame, Contract, Path], bool]] = {
    "ours (ephemeral context)": ours,
    "peer (file context, default Data Docs)": file_context_peer,
}


def demo(copies: int) -> pd.DataFrame:
    """The demo dataset, with ``copies`` renamed copies of every series for a bigger frame."""
    df = load_dataset(load_spec("nyc_flights", REPO / "datasets"))
    return pd.concat(
        [df.assign(series_id=df["series_id"] + f"_{i}") for i in range(copies)], ignore_index=True
    )


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def warm(name: str, df: pd.DataFrame, contract: Contract, repeats: int) -> dict[str, float]:
    check = CHECKS[name]
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        assert check(df, contract, docs)  # first call: GX's own caches, not timed
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            check(df, contract, docs)
            times.append(time.perf_counter() - start)
        return {"median_s": statistics.median(times), "min_s": min(times), "docs_mb": _size_mb(docs)}


def cold(name: str) -> float:
    """Seconds for a fresh process to import, load the demo and run one check."""
    out = subprocess.run(
        [sys.executable, __file__, "--cold", name], capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed warm runs per case")
    parser.add_argument("--cold", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            assert CHECKS[args.cold](demo(1), load_contract("nyc_flights"), Path(tmp) / "docs")
        print(time.perf_counter() - start)
        return
    contract = load_contract("nyc_flights")
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "note": "same expectations on the same frame; only the GX set-up and Data Docs differ",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],  # shared machine: context for noise
        "cases": [],
    }
    for copies in (1, 20):
        df = demo(copies)
        for name in CHECKS:
            figures = warm(name, df, contract, args.repeats)
            row = {"check": name, "rows": len(df), "series": int(df["series_id"].nunique()), **figures}
            print(json.dumps(row), flush=True)
            results["cases"].append(row)  # type: ignore[attr-defined]
    for name in CHECKS:
        row = {"check": name, "cold_process_s": cold(name)}
        print(json.dumps(row), flush=True)
        results["cases"].append(row)  # type: ignore[attr-defined]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
