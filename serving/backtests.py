"""The backtest windows of a few model versions (the chosen model's forecast on each rolling
origin, ``models.backtest_windows``), read from their training run on first use and kept."""

from __future__ import annotations

import threading
from collections import OrderedDict

from models.backtest_windows import BacktestWindow, from_json
from registry.names import BACKTEST_WINDOWS_FILE
from registry.rest import NotFound, RegistryClient

VERSIONS_KEPT = 4  # the champion and the versions someone looks at beside it

Windows = dict[str, list[BacktestWindow]]


class BacktestsUnreadable(RuntimeError):
    """The run's file is there but cannot be read (the message says why)."""


class BacktestWindows:
    def __init__(self, registry: RegistryClient, kept: int = VERSIONS_KEPT) -> None:
        self._registry = registry
        self._kept = kept
        self._found: OrderedDict[tuple[str, str], Windows | None] = OrderedDict()
        self._lock = threading.Lock()  # one download at a time; a version is read once

    def of(self, name: str, version: str) -> Windows | None:
        """Series -> windows of ``name`` v``version``; None when its run kept none (trained before
        they were kept). Raises NotFound (no such version) and RegistryError (MLflow down)."""
        key = (name, version)
        with self._lock:
            if key in self._found:
                self._found.move_to_end(key)
                return self._found[key]
            run_id = self._registry.version(name, version).run_id
            try:
                if not run_id:  # registered without a training run: nothing was backtested
                    raise NotFound(f"{name} v{version} has no training run")
                payload = self._registry.download_artifact(
                    self._registry.run_artifact_uri(run_id), BACKTEST_WINDOWS_FILE
                )
            except NotFound:
                windows = None
            else:
                try:
                    windows = from_json(payload)
                except (ValueError, TypeError, KeyError) as exc:
                    raise BacktestsUnreadable(
                        f"{name} v{version}'s {BACKTEST_WINDOWS_FILE} cannot be read: {exc}"
                    ) from None
            self._found[key] = windows
            while len(self._found) > self._kept:
                self._found.popitem(last=False)
            return windows
