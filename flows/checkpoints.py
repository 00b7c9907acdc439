"""Per-series training results kept on disk under the run's idempotency key.

A training run that dies (killed worker, lost node) has paid for every series it finished; the
rerun with the same key loads those and trains only the rest. The flow process writes them as
results come back from the cluster, so remote Dask workers need no shared disk. Each file is
written to a temporary name and renamed: a kill mid-write leaves no half file.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path

from models.engine import SeriesOutcome


class SeriesCheckpoints:
    def __init__(self, root: Path, key: str) -> None:
        self.folder = root / key

    def _path(self, series_id: str) -> Path:
        # Series ids are user data: hash them into safe, fixed-length file names.
        return self.folder / f"{hashlib.sha256(series_id.encode()).hexdigest()[:24]}.pkl"

    def load(self) -> dict[str, SeriesOutcome]:
        """The outcomes finished so far, by series id (an unreadable file is trained again)."""
        done: dict[str, SeriesOutcome] = {}
        if not self.folder.is_dir():
            return done
        for path in self.folder.glob("*.pkl"):
            try:
                outcome = pickle.loads(path.read_bytes())
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                continue
            if isinstance(outcome, SeriesOutcome):
                done[outcome.series_id] = outcome
        return done

    def save(self, outcomes: list[SeriesOutcome]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for outcome in outcomes:
            handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                pickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path(outcome.series_id))

    def clear(self) -> None:
        """Drop the checkpoints once the version is registered: the registry holds the result."""
        shutil.rmtree(self.folder, ignore_errors=True)
