"""Load and validate each bad-input case in this process and report its verdict and peak memory.

Run by tests/unit/test_bad_inputs.py as a subprocess, so a case that did blow up memory would
take down this probe, not the test session. Input (stdin, JSON): the corpus spec and a file per
case. Output: one JSON line per case. Peak memory is the kernel's high-water mark of this
process (VmHWM), reset before each case by writing 5 to /proc/self/clear_refs.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from data_contracts.contract import load_contract_for
from data_contracts.quarantine import enforce_contract
from data_contracts.sources import DataSourceError, read_dataset
from data_contracts.spec import DatasetSpec, load_spec


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert match, field
    return int(match.group(1))


def _with_file(spec: DatasetSpec, path: str) -> DatasetSpec:
    return spec.model_copy(update={"source": spec.source.model_copy(update={"path": path})})


def run_case(spec: DatasetSpec, path: str, docs: Path) -> dict[str, Any]:
    try:
        rows = read_dataset(_with_file(spec, path))
        report = enforce_contract(rows, load_contract_for(spec), spec.frequency, docs).report
    except DataSourceError as refused:
        return {"outcome": "refused", "reasons": [str(refused)], "rules": [[refused.rule, refused.column]]}
    except Exception:  # the point of the corpus: anything else is a crash to report
        return {"outcome": "crashed", "reasons": [traceback.format_exc()], "rules": []}
    return {
        "outcome": "passed" if report.success else "refused",
        "reasons": [f.reason for f in report.failures],
        "rules": [[f.rule, f.column] for f in report.failures],
    }


def main() -> None:
    job = json.load(sys.stdin)
    spec = load_spec(Path(job["spec"]), Path(job["spec"]).parent)
    with tempfile.TemporaryDirectory() as tmp:
        # Warm up: imports and GX's first-run caches are not a case's memory.
        warm = run_case(spec, job["warm_up"], Path(tmp) / "warm")
        assert warm["outcome"] == "passed", warm
        for name, path in job["cases"].items():
            Path("/proc/self/clear_refs").write_text("5")
            before = _status_kb("VmRSS")
            result = run_case(spec, path, Path(tmp) / name)
            result.update(case=name, peak_growth_mb=(_status_kb("VmHWM") - before) / 1024)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
