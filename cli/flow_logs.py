"""A flow run from the command line shows its progress and, when it fails, the reason: Prefect's
tracebacks (and every ERROR line) go to ``<data dir>/logs/<command>.log`` instead of the console."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The loggers Prefect's logging configuration gives a console handler (prefect/logging/logging.yml).
_CONSOLE_LOGGERS = ("", "uvicorn", "fastapi", "prefect._internal")


class _NoTracebacks(logging.Filter):
    """Keep a console to progress lines: errors and tracebacks are for the log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR and not record.exc_info


@contextmanager
def tracebacks_to_file(log_path: Path) -> Iterator[Path]:
    """While the block runs, console handlers drop errors and tracebacks; everything (those
    included) is appended to ``log_path``. Call after Prefect is imported (it configures logging
    then)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"))
    quiet = _NoTracebacks()
    touched: list[tuple[logging.Logger, list[logging.Handler]]] = []
    for name in _CONSOLE_LOGGERS:
        logger = logging.getLogger(name)
        consoles: list[logging.Handler] = [
            h
            for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
        ]
        for handler in consoles:
            handler.addFilter(quiet)
        logger.addHandler(to_file)
        touched.append((logger, consoles))
    # Flow and task run loggers propagate to "prefect", which propagates to the root.
    try:
        yield log_path
    finally:
        for logger, consoles in touched:
            logger.removeHandler(to_file)
            for handler in consoles:
                handler.removeFilter(quiet)
        to_file.close()
