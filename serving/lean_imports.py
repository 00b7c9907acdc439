"""Importing a library without the optional extras it would load and this API never uses.

Some libraries import an optional dependency whenever it is installed: PyJWT loads
``cryptography`` (for RSA/EC keys; 10 MB resident) though this API accepts HS256 only. Marking
such a module absent for the duration of the import makes the library take its "not installed"
path, which it supports; the serving process stays within its memory budget.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(name: str, *absent: str) -> ModuleType:
    """Import ``name`` as if the modules in ``absent`` were not installed (unless already loaded)."""
    hidden = [m for m in absent if m not in sys.modules]
    for module in hidden:
        sys.modules[module] = None  # type: ignore[assignment]  # import of it raises ModuleNotFoundError
    try:
        return importlib.import_module(name)
    finally:
        for module in hidden:
            del sys.modules[module]
