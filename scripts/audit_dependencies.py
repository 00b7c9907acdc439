"""Audit the locked dependencies for known vulnerabilities: `make audit` (part of `make test`).

pip-audit checks every package of uv.lock (exported as pinned requirements) against PyPI's
vulnerability data, or OSV's when PyPI's cannot be had. Where neither service can be reached
(a network that allows the package index only: PyPI's per-version JSON and OSV are then out of
reach), that is said plainly, and the audit falls back to the advisories listed below: the
lock and pyproject's floors must clear each. Any vulnerability found fails the audit;
ASTRALYTIQ_AUDIT_REQUIRE_SERVICE=1 also fails it when no service could be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Advisory:
    package: str
    fixed_in: str
    ids: str
    what: str


# Known advisories of the packages that face untrusted input here (tokens, forms, the registry
# and the portal). Kept for the fallback above; a service, when reachable, knows all of them.
ADVISORIES = (
    Advisory("pyjwt", "2.10.1", "CVE-2024-53861", "issuer checked as a substring"),
    Advisory("python-multipart", "0.0.18", "CVE-2024-53981", "boundary parsing DoS"),
    Advisory("python-multipart", "0.0.22", "CVE-2026-24486", "arbitrary file write"),
    Advisory("python-multipart", "0.0.31", "GHSA-v9pg-7xvm-68hf, GHSA-5rvq-cxj2-64vf", "form parsing DoS"),
    Advisory("mlflow", "3.8.1", "GHSA-r23q-823p-vmf7", "command injection"),
    Advisory("mlflow", "3.11.1", "GHSA-7qhf-v65m-g5f3, GHSA-fh64-r2vc-xvhr", "auth bypass, stored XSS"),
    Advisory("streamlit", "1.54.0", "CVE-2026-33682", "SSRF in the component handler"),
)


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def locked_versions(lock: Path = REPO / "uv.lock") -> dict[str, Version]:
    data = tomllib.loads(lock.read_text())
    return {canonical(p["name"]): Version(p["version"]) for p in data["package"] if "version" in p}


def declared_floors(pyproject: Path = REPO / "pyproject.toml") -> dict[str, Version]:
    floors: dict[str, Version] = {}
    for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator in (">=", "=="):
                floors[canonical(requirement.name)] = Version(spec.version)
    return floors


def advisory_problems(locked: dict[str, Version], floors: dict[str, Version]) -> list[str]:
    """Each advisory the lock or a pyproject floor does not clear."""
    problems = []
    for advisory in ADVISORIES:
        fixed = Version(advisory.fixed_in)
        package = canonical(advisory.package)
        where = f"{advisory.package} ({advisory.ids}: {advisory.what}; fixed in {fixed})"
        if package in locked and locked[package] < fixed:
            problems.append(f"uv.lock pins {package} {locked[package]}: {where}")
        if package in floors and floors[package] < fixed:
            problems.append(f"pyproject.toml allows {package} >={floors[package]}: {where}")
    return problems


def run_pip_audit(requirements: Path, service: str) -> dict[str, object] | None:
    """pip-audit's JSON report, or None when the service could not be reached at all."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        result = subprocess.run(
            [
                str(BIN / "pip-audit"),
                "--disable-pip",
                "--no-deps",  # the export pins every package of the lock already
                "-r",
                str(requirements),
                "--vulnerability-service",
                service,
                "--format",
                "json",
                "--output",
                str(out),
                "--progress-spinner",
                "off",
                "--timeout",
                "15",
            ],
            capture_output=True,
            text=True,
        )
        if not out.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"pip-audit ({service}) could not run: {last[:300]}")
            return None
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        exported = subprocess.run(
            [
                str(REPO / ".tools" / "bin" / "uv"),
                "export",
                "--frozen",
                "--format",
                "requirements-txt",
                "--no-emit-project",
                "--no-hashes",
                "--all-groups",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        requirements.write_text(exported.stdout)
        audited_by = None
        for service in ("pypi", "osv"):
            report = run_pip_audit(requirements, service)
            if report is None:
                continue
            dependencies = report["dependencies"]
            assert isinstance(dependencies, list)
            skipped = [d for d in dependencies if "skip_reason" in d]
            vulnerable = [d for d in dependencies if d.get("vulns")]
            for dependency in vulnerable:
                for vuln in dependency["vulns"]:
                    fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
                    print(
                        f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixes})"
                    )
            if vulnerable:
                return 1
            if len(skipped) < len(dependencies):
                audited_by = service
                print(
                    f"pip-audit ({service}): {len(dependencies) - len(skipped)} of {len(dependencies)} "
                    "locked packages audited, no known vulnerability"
                )
                for dependency in skipped:
                    print(f"  not audited: {dependency['skip_reason']}")
                break
            print(
                f"pip-audit ({service}): none of {len(dependencies)} packages could be audited "
                f"({skipped[0]['skip_reason'] if skipped else 'empty report'}); the service is out of reach"
            )
    problems = advisory_problems(locked_versions(), declared_floors())
    for problem in problems:
        print(f"VULNERABLE {problem}")
    if problems:
        return 1
    print(f"known advisories: the lock and pyproject floors clear all {len(ADVISORIES)}")
    if audited_by is None:
        print(
            "WARNING: no vulnerability service could be reached from here; only the advisories "
            "listed in scripts/audit_dependencies.py were checked"
        )
        if os.environ.get("ASTRALYTIQ_AUDIT_REQUIRE_SERVICE") == "1":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
