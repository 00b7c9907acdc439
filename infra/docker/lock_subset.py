"""Print the locked, hashed requirements of one image role: its packages and their dependencies.

The API and portal images install only what their process imports, at exactly the versions of
``uv.lock``. A role file (``infra/docker/requirements/<role>.in``) names top-level packages,
optionally with extras (``uvicorn[standard]``); their dependency closure comes from ``uv.lock``,
and the pinned lines with hashes from ``uv export`` (which evaluates markers), read on stdin:

    uv export --frozen --no-dev --no-emit-project --no-annotate --no-header \\
      | python infra/docker/lock_subset.py infra/docker/requirements/api.in > api.txt
    uv pip install --no-deps --require-hashes -r api.txt

Standard library only: it runs in the image's build stage before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*$")


class SubsetError(ValueError):
    """A role file names a package the lock does not hold, or a line is malformed."""


def normalize(name: str) -> str:
    """PEP 503 name: the form uv.lock and uv export use."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_roots(role_file: Path) -> list[tuple[str, set[str]]]:
    """(package, extras) per non-comment line of a role file."""
    roots = []
    for number, raw in enumerate(role_file.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        if not match:
            raise SubsetError(
                f"{role_file}:{number}: {raw!r} is not 'name' or 'name[extra,...]'; versions come "
                "from uv.lock, so write none here"
            )
        extras = {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}
        roots.append((normalize(match.group(1)), extras))
    return roots


def closure(lock_path: Path, roots: Iterable[tuple[str, set[str]]]) -> set[str]:
    """Every package the roots need according to the lock (markers ignored: export applies them)."""
    lock = tomllib.loads(lock_path.read_text())
    graph: dict[str, list[dict]] = {}
    for package in lock["package"]:
        graph.setdefault(normalize(package["name"]), []).append(package)
    needed: set[str] = set()
    pending = list(roots)
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        key = (name, frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        if name not in graph:
            raise SubsetError(
                f"{name!r} is not in {lock_path.name}; add it to pyproject.toml with `uv add` first"
            )
        needed.add(name)
        for package in graph[name]:  # several entries when the lock forks by platform
            deps = list(package.get("dependencies", []))
            for extra in extras:
                deps += package.get("optional-dependencies", {}).get(extra, [])
            pending += [(normalize(d["name"]), set(d.get("extra", []))) for d in deps]
    return needed


def select(exported: str, names: set[str]) -> str:
    """The blocks of a `uv export` requirements file whose package is in ``names``."""
    blocks: list[list[str]] = []
    for line in exported.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():  # a continuation: --hash lines of the block above
            if blocks:
                blocks[-1].append(line)
        else:
            blocks.append([line])
    kept = [b for b in blocks if normalize(re.split(r"[=<>~!;\s\[]", b[0], maxsplit=1)[0]) in names]
    found = {normalize(re.split(r"[=<>~!;\s\[]", b[0], maxsplit=1)[0]) for b in kept}
    missing = names - found
    if missing:
        raise SubsetError(
            f"uv export lacks {', '.join(sorted(missing))}: export with --no-dev from the same uv.lock"
        )
    return "\n".join("\n".join(b) for b in kept) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role_file", type=Path, help="infra/docker/requirements/<role>.in")
    parser.add_argument("--lock", type=Path, default=REPO / "uv.lock", help="the uv.lock to read")
    args = parser.parse_args(argv)
    try:
        names = closure(args.lock, read_roots(args.role_file))
        sys.stdout.write(select(sys.stdin.read(), names))
    except (OSError, SubsetError) as exc:
        print(f"lock_subset: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
