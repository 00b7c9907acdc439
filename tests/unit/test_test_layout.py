"""The test suite's own layout rule (tests/conftest.py): a test's folder is its marker, and a unit
test never asks for a real server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import conftest


@dataclass
class Item:
    """What the collection hook reads of a collected test."""

    path: Path
    fixturenames: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def nodeid(self) -> str:
        return f"{self.path.relative_to(conftest.TESTS.parent)}::test_x"

    def iter_markers(self) -> Iterator[Any]:
        return iter([pytest.Mark(name, (), {}) for name in self.declared])

    def add_marker(self, marker: Any) -> None:
        self.added.append(marker.name)


def collect(*items: Item) -> None:
    conftest.pytest_collection_modifyitems(None, list(items))  # type: ignore[arg-type]


def test_each_test_gets_its_folders_marker() -> None:
    items = [Item(conftest.TESTS / folder / "test_x.py") for folder in conftest.FOLDERS]
    collect(*items)
    assert [item.added for item in items] == [[folder] for folder in conftest.FOLDERS]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (Item(conftest.TESTS / "unit" / "test_x.py", fixturenames=["api_server"]), "so tests/integration/"),
        (Item(conftest.TESTS / "unit" / "test_x.py", declared=["integration"]), "but lives in tests/unit/"),
        (Item(conftest.TESTS / "test_loose.py"), "tests live in tests/<unit|"),
    ],
)
def test_a_test_out_of_place_is_refused(item: Item, reason: str) -> None:
    with pytest.raises(pytest.UsageError, match=reason.replace("|", r"\|")):
        collect(item)
