"""Idempotency keys of training runs and the per-series checkpoints a rerun resumes from."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

import models
from flows.checkpoints import SeriesCheckpoints
from flows.train import plan_chunks
from models.engine import TrainingConfig, train_series
from models.frame import iter_series
from registry import registration
from registry.registration import code_version, idempotency_key
from tests.support.factories import SMALL_CONFIG, synthetic_frame


def test_key_changes_with_data_window_config_and_code() -> None:
    key = idempotency_key("demo", "abc", "2024-01-01", "2024-03-01", SMALL_CONFIG, "1.0+x")
    assert key == idempotency_key("demo", "abc", "2024-01-01", "2024-03-01", SMALL_CONFIG, "1.0+x")
    other_config = TrainingConfig(freq="D", horizon=14, season_length=7, candidates=("seasonal_naive",))
    assert (
        len(
            {
                key,
                idempotency_key("demo", "abd", "2024-01-01", "2024-03-01", SMALL_CONFIG, "1.0+x"),
                idempotency_key("demo", "abc", "2024-01-01", "2024-03-02", SMALL_CONFIG, "1.0+x"),
                idempotency_key("demo", "abc", "2024-01-01", "2024-03-01", other_config, "1.0+x"),
                idempotency_key("demo", "abc", "2024-01-01", "2024-03-01", SMALL_CONFIG, "1.0+y"),
                idempotency_key("other", "abc", "2024-01-01", "2024-03-01", SMALL_CONFIG, "1.0+x"),
            }
        )
        == 6
    )


def test_code_version_names_the_release_and_the_engine_source() -> None:
    release, digest = code_version().split("+", 1)
    assert release and len(digest) >= 12


def test_code_version_hashes_the_forecasting_engine_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training's key changes with the engine's code, never with MLflow bookkeeping: every file
    hashed is a module of the engine, and none of them reaches the registry."""
    assert Path(models.__file__).parent == registration.MODELS_DIR
    for path in registration.MODELS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] in ("mlflow", "registry", "prefect")], path
    engine_copy = tmp_path / "models"
    shutil.copytree(registration.MODELS_DIR, engine_copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(registration, "MODELS_DIR", engine_copy)
    before = code_version()
    (engine_copy / "engine.py").write_text((engine_copy / "engine.py").read_text() + "\n# changed\n")
    assert code_version() != before


def test_checkpoints_round_trip_and_ignore_broken_files(tmp_path: Path) -> None:
    outcomes = [train_series(s, SMALL_CONFIG) for s in iter_series(synthetic_frame(), "D")]
    store = SeriesCheckpoints(tmp_path, "k1")
    assert store.load() == {}
    store.save(outcomes[:2])
    (store.folder / "torn.pkl").write_bytes(b"\x80\x05 not a pickle")  # as if cut off mid-write
    loaded = store.load()
    assert sorted(loaded) == ["s0", "s1"]
    assert loaded["s0"].forecast.mean == outcomes[0].forecast.mean
    assert SeriesCheckpoints(tmp_path, "k2").load() == {}  # another key sees nothing
    store.clear()
    assert not store.folder.exists()


def test_chunks_cover_every_series_once() -> None:
    series = list(iter_series(synthetic_frame(10), "D"))
    chunks = plan_chunks(series, workers=2)
    assert [s.series_id for chunk in chunks for s in chunk] == [s.series_id for s in series]
    assert [len(c) for c in chunks] == [2, 2, 2, 2, 2]  # up to 4 per worker, none empty
    assert len(plan_chunks(series, workers=8)) == 10  # never more chunks than series
