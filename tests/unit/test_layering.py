"""The layers of DESIGN.md, enforced: imports point down only.

    entrypoints   cli (the command, `up`), serving (the API), portal (HTTP only), flows (Prefect)
    adapters      registry (every MLflow call), orchestration (Prefect's REST API)
    core          models (the engine), data_contracts (rules, sources), monitoring (computations)
    kernel        astralytiq (settings, app database, accounts, keys, audit, migrations)

Each package lists what it may import of the others (a package, or one module of it); every
import counts, at module level or inside a function or ``if TYPE_CHECKING``. A new package has
to be placed in the table; an import that is not in it fails with the file, line and a fix.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO


@dataclass(frozen=True)
class Layer:
    name: str
    rank: int  # higher layers import lower ones, never the other way


KERNEL, CORE, ADAPTER, ENTRYPOINT = (
    Layer("kernel", 0),
    Layer("core", 1),
    Layer("adapter", 2),
    Layer("entrypoint", 3),
)

# package -> (its layer, the first-party packages or modules it may import, third-party
# packages it must never import). The engine never imports MLflow, Prefect, FastAPI or
# Streamlit; the API process (serving) and the kernel it loads stay free of the training stack.
NEVER_IN_CORE = frozenset({"mlflow", "prefect", "prefect_dask", "fastapi", "starlette", "streamlit", "typer"})
TRAINING_STACK = frozenset(
    {"mlflow", "prefect", "prefect_dask", "pandas", "numpy", "streamlit", "matplotlib"}
)
TABLE: dict[str, tuple[Layer, frozenset[str], frozenset[str]]] = {
    "astralytiq": (KERNEL, frozenset(), TRAINING_STACK | {"fastapi", "typer"}),
    "models": (CORE, frozenset(), NEVER_IN_CORE),
    "data_contracts": (CORE, frozenset({"models"}), NEVER_IN_CORE),
    "monitoring": (CORE, frozenset({"astralytiq", "models", "data_contracts"}), NEVER_IN_CORE),
    "registry": (
        ADAPTER,
        frozenset({"astralytiq", "models", "data_contracts"}),
        frozenset({"prefect", "fastapi", "streamlit", "typer"}),
    ),
    "orchestration": (ADAPTER, frozenset(), TRAINING_STACK | {"fastapi", "httpx"}),
    "flows": (
        ENTRYPOINT,
        frozenset({"astralytiq", "models", "data_contracts", "monitoring", "registry", "orchestration"}),
        frozenset({"fastapi", "streamlit", "typer"}),
    ),
    "serving": (
        ENTRYPOINT,
        # The API image has no pandas, MLflow or Prefect: only these modules of the others.
        frozenset(
            {
                "astralytiq",
                "models.bundle",
                "models.backtest_windows",  # plain json and dataclasses, like the bundle
                "monitoring.snapshot",
                "registry.names",
                "registry.rest",
                "registry.contract_reports",
                "orchestration",
            }
        ),
        TRAINING_STACK | {"typer"},
    ),
    "portal": (ENTRYPOINT, frozenset(), frozenset({"mlflow", "prefect", "fastapi", "sqlalchemy"})),
    "cli": (
        ENTRYPOINT,
        frozenset(
            {"astralytiq", "models", "data_contracts", "monitoring", "registry", "orchestration"}
            | {"flows", "serving", "portal"}
        ),
        frozenset(),
    ),
}
# Not part of the product: they may import anything, and nothing in the table imports them.
TOOLS = frozenset({"benchmarks", "infra", "scripts", "tests"})


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str


def imports(package: str) -> list[Import]:
    """Every absolute import in the package's modules, wherever it sits in the code."""
    found: list[Import] = []
    for path in sorted((REPO / package).rglob("*.py")):
        if "versions" in path.relative_to(REPO).parts:  # Alembic revisions: SQL, frozen in time
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.extend(Import(path, node.lineno, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.extend(Import(path, node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def allowed(module: str, rules: frozenset[str]) -> bool:
    return any(module == rule or module.startswith(f"{rule}.") for rule in rules)


def violations(package: str) -> list[str]:
    layer, may_import, never = TABLE[package]
    problems = []
    for found in imports(package):
        top = found.module.split(".")[0]
        where = f"{found.path.relative_to(REPO)}:{found.line} imports {found.module}"
        if top == package:
            continue
        if top in TOOLS:
            problems.append(f"{where}: product code never imports {top}/")
        elif top in TABLE and not allowed(found.module, may_import):
            other = TABLE[top][0]
            direction = (
                "upward" if other.rank > layer.rank else "sideways" if other == layer else "not listed"
            )
            problems.append(
                f"{where} ({direction}: {package} is {layer.name}, {top} is {other.name}); move the code "
                f"to the layer that owns it, or, if this dependency is right, add it to TABLE in {__name__}"
            )
        elif top in never:
            problems.append(f"{where}: {package} ({layer.name}) never imports {top}")
    return problems


def top_level_packages() -> set[str]:
    return {p.parent.name for p in REPO.glob("*/__init__.py")}


def test_every_package_has_a_place_in_the_layers() -> None:
    assert top_level_packages() - TOOLS == set(TABLE), "add the new package to TABLE (or TOOLS)"


@pytest.mark.parametrize("package", sorted(TABLE))
def test_imports_point_down_only(package: str) -> None:
    assert violations(package) == []


def test_the_table_itself_points_down_and_has_no_cycles() -> None:
    """Within a layer a package may use another (the contracts use the engine's column names),
    but the allowed imports never form a cycle and never point up."""
    edges = {package: {rule.split(".")[0] for rule in rules} for package, (_, rules, _) in TABLE.items()}
    for package, targets in edges.items():
        for target in targets:
            assert target in TABLE, (package, target)
            assert TABLE[target][0].rank <= TABLE[package][0].rank, (package, target)
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, " -> ".join((*path, package))
        if package not in done:
            for target in edges[package]:
                visit(target, (*path, package))
            done.add(package)

    for package in edges:
        visit(package, ())


def test_an_upward_import_hidden_in_a_function_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a kernel module reaching the CLI from inside a function is caught."""
    fake = tmp_path / "astralytiq"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "settings.py").write_text("def f():\n    from cli.app import app\n    import mlflow\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    found = violations("astralytiq")
    assert len(found) == 2
    assert "astralytiq/settings.py:2 imports cli.app.app (upward" in found[0]
    assert "never imports mlflow" in found[1]


START_UP = """
import json, sys
import cli.app
heavy = {"pandas", "numpy", "mlflow", "prefect", "streamlit", "great_expectations", "sklearn", "fastapi"}
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
"""


def test_the_command_starts_without_the_heavy_packages() -> None:
    """`astralytiq serve` runs in the API image (no pandas, MLflow or Prefect) and `--help` should
    be instant: loading the command loads none of them; commands import what they use."""
    result = subprocess.run(
        [sys.executable, "-c", START_UP], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
