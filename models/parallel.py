"""Worker processes for the engine, each with one OpenMP thread.

Parallelism comes from processes (over series, or over pooled fits), never from threads inside
them. Left alone, scikit-learn's OpenMP runtime keeps a second thread in every worker even under
``threadpool_limits(1)``; with two workers on two cores those threads spin at their barriers
against each other. Measured on M4 Weekly (359 series): one pooled boosted-trees fit took 25 s
alone and over 190 s beside a second one; with this initializer two fits side by side take 25 s
each. ``OMP_NUM_THREADS`` is read only when libgomp loads, so workers start from a fresh
forkserver process (a fork of a parent that already ran a fit would inherit its OpenMP state)
and the initializer sets it before anything imports scikit-learn.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def _one_openmp_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers each run one OpenMP thread."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_one_openmp_thread,
    )
