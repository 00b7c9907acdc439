"""Engine worker processes run one OpenMP thread each (two spinning threads per worker made a
pooled boosted-trees fit seven times slower beside a second one; see models/parallel.py)."""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from models.parallel import worker_pool


def openmp_threads() -> int:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    return int(_openmp_effective_n_threads())


def test_engine_workers_run_one_openmp_thread() -> None:
    openmp_threads()  # this process has loaded OpenMP already, as after an inline fit
    with worker_pool(1) as pool:
        assert pool.submit(openmp_threads).result() == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2+ cores")
def test_a_plain_worker_would_run_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: a fresh worker without the initializer takes every core (so the test above
    can fail). Spawned, with no OMP_NUM_THREADS inherited: Dask's nanny sets one in this process
    when an earlier test starts a local cluster."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(openmp_threads).result() > 1
