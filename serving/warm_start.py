"""Champions loading while the server process still imports its web and database libraries.

Importing FastAPI and SQLAlchemy is most of start-up, and it needs one core; meanwhile a
thread lists the champions and has them downloaded and parsed by child processes on the other
core. The app's lifespan then serves what is ready and still the champion, instead of loading
it again. Used by `python -m serving` with one worker; elsewhere there is nothing to collect.
"""

from __future__ import annotations

import logging
import threading

from registry.rest import RegistryClient, RegistryError
from serving.model_store import ModelStore, ServedModel

log = logging.getLogger("astralytiq.serving")

_thread: threading.Thread | None = None
_prepared: dict[str, ServedModel] = {}


def begin(tracking_uri: str, cache_bytes: int) -> None:
    global _thread

    def work() -> None:
        try:
            _prepared.update(ModelStore(RegistryClient(tracking_uri), cache_bytes).prepare_champions())
        except RegistryError as exc:  # the lifespan's own load meets and reports it
            log.info("warm start skipped: %s", exc)

    _thread = threading.Thread(target=work, name="warm-start", daemon=True)
    _thread.start()


def collect(timeout: float = 600) -> dict[str, ServedModel]:
    """What the warm start prepared (waiting for it to finish); empty if it never began."""
    if _thread is None:
        return {}
    _thread.join(timeout)
    prepared = dict(_prepared)
    _prepared.clear()  # served from here on by the store; do not keep a second reference
    return prepared
