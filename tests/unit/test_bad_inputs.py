"""The bad-input corpus (tests/data/bad/): every case is refused with a one-line reason that names
the rule and the column, nothing crashes, and memory stays bounded however big the input claims to be.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO

BAD = REPO / "tests" / "data" / "bad"
CASES: dict[str, dict[str, str]] = yaml.safe_load((BAD / "cases.yaml").read_text())
# Peak memory a case may add on top of the warmed-up process. The bomb expands to 256 MiB and
# the oversized file claims 3 MB against a 1 MB cap: a reader that let either through whole
# would blow far past this.
PEAK_GROWTH_MB = 64
BOMB_BYTES = 256 * 1024 * 1024


def _wide(path: Path) -> None:
    names = ["series_id", "ds", "y", *(f"extra_{i}" for i in range(3, 10_000))]
    rows = [",".join(names)] + [",".join(["ATL", f"2024-01-0{d}", "1", *("0" * 9_997)]) for d in (1, 2, 3)]
    path.write_text("\n".join(rows) + "\n")


def _gzip_bomb(path: Path) -> None:
    # Gzip members concatenate into one stream: a 4 MiB member of repeated rows compresses to
    # about 10 KB, and 64 copies of it expand to 256 MiB, in a file of about 650 KB.
    row = b"ATL,2024-01-01,1\n"
    member = gzip.compress(row * (4 * 1024 * 1024 // len(row)), compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(b"series_id,ds,y\n"))
        for _ in range(BOMB_BYTES // (4 * 1024 * 1024)):
            out.write(member)


def _oversized(path: Path) -> None:
    with path.open("wb") as out:  # sparse: 3 MB by its size, nothing on disk
        out.truncate(3 * 1024 * 1024)


GENERATORS = {
    "wide": (_wide, "wide.csv"),
    "gzip_bomb": (_gzip_bomb, "bomb.csv.gz"),
    "oversized": (_oversized, "big.csv"),
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every case run once, in one probe process (imports are paid once, memory read per case)."""
    folder = tmp_path_factory.mktemp("bad")
    files = {}
    for name, case in CASES.items():
        if "generate" in case:
            make, filename = GENERATORS[case["generate"]]
            make(folder / filename)
            files[name] = str(folder / filename)
        else:
            files[name] = str(BAD / case["file"])
    job = {"spec": str(BAD / "spec.yaml"), "warm_up": str(BAD / "good.csv"), "cases": files}
    probe = subprocess.run(
        [sys.executable, "-m", "tests.support.bad_input_probe"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    results = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in results}


def test_generated_cases_are_what_they_claim(tmp_path: Path) -> None:
    _wide(tmp_path / "wide.csv")
    assert (tmp_path / "wide.csv").read_text().splitlines()[0].count(",") == 9_999
    _gzip_bomb(tmp_path / "bomb.csv.gz")
    assert (tmp_path / "bomb.csv.gz").stat().st_size < 1024 * 1024  # under the 1 MB file cap
    with gzip.open(tmp_path / "bomb.csv.gz") as stream:
        expanded = sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))
    assert expanded > 0.99 * BOMB_BYTES
    _oversized(tmp_path / "big.csv")
    assert (tmp_path / "big.csv").stat().st_size == 3 * 1024 * 1024


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_one_line_reason(case: str, verdicts: dict[str, dict[str, Any]]) -> None:
    expected = CASES[case]
    verdict = verdicts[case]
    assert verdict["outcome"] == "refused", verdict
    rule, column = expected["rule"], expected.get("column")
    assert [rule, column] in verdict["rules"] or (
        column is None and any(r[0] == rule for r in verdict["rules"])
    ), verdict
    reason = next(r for r in verdict["reasons"] if f"[rule: {rule}]" in r)
    assert "\n" not in reason and len(reason) < 500, reason
    if column is not None:
        assert (repr(column) if column != "(table)" else "table") in reason, reason
    else:  # file-level rules name the file instead of a column
        file_name = Path(expected.get("file") or GENERATORS[expected["generate"]][1]).name
        assert file_name in reason, reason
    assert verdict["peak_growth_mb"] < PEAK_GROWTH_MB, verdict


def test_good_file_passes_the_corpus_contract() -> None:
    from data_contracts.contract import load_contract_for
    from data_contracts.quarantine import enforce_contract
    from data_contracts.sources import read_dataset
    from data_contracts.spec import load_spec

    spec = load_spec(BAD / "spec.yaml", BAD)
    outcome = enforce_contract(read_dataset(spec), load_contract_for(spec), spec.frequency)
    assert outcome.report.success, outcome.report.summary()
    assert len(outcome.kept) == 20
