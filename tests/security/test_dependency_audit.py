"""`make test` audits the lock: the fallback advisories are cleared by the real lock and floors,
and a vulnerable pin or floor is caught."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.version import Version

from tests.support import REPO

sys.path.insert(0, str(REPO / "scripts"))
import audit_dependencies as audit


def test_the_lock_and_the_floors_clear_every_known_advisory() -> None:
    assert audit.advisory_problems(audit.locked_versions(), audit.declared_floors()) == []
    floors = audit.declared_floors()
    for package in ("pyjwt", "python-multipart", "mlflow", "streamlit"):
        assert package in floors, package  # each exposed package has a floor to check


def test_a_vulnerable_pin_or_floor_is_caught(tmp_path: Path) -> None:
    locked = audit.locked_versions()
    problems = audit.advisory_problems(
        {**locked, "pyjwt": Version("2.10.0")}, {**audit.declared_floors(), "mlflow": Version("3.1")}
    )
    assert any("uv.lock pins pyjwt 2.10.0" in p and "CVE-2024-53861" in p for p in problems)
    assert any("pyproject.toml allows mlflow >=3.1" in p for p in problems)


def test_make_test_runs_the_audit() -> None:
    makefile = (REPO / "Makefile").read_text()
    test_line = re.search(r"^test: (.*?)##", makefile, re.MULTILINE)
    assert test_line and "audit" in test_line.group(1).split()
    assert "scripts/audit_dependencies.py" in makefile
