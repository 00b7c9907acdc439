"""`python -m serving`: the API server process alone, without the CLI's imports.

`astralytiq serve` replaces itself with this, so the serving process holds only what serving
needs (no Typer or Rich resident). The app database is migrated first if it is behind, by a
child process, so Alembic never stays resident either.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys

from pydantic import ValidationError

from astralytiq.settings import get_settings
from serving import warm_start

MIGRATE = "import sys; from astralytiq.db import upgrade_database; upgrade_database(sys.argv[1])"


def ensure_schema(url: str) -> None:
    """Migrate the app database when it is not at the newest revision (a quick check otherwise)."""
    from astralytiq.db import schema_is_current

    if not schema_is_current(url):
        subprocess.run([sys.executable, "-c", MIGRATE, url], check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--access-log", action="store_true", help="Log every request (costs throughput).")
    args = parser.parse_args(argv)
    # Model loads, swaps and failures are logged by "astralytiq.*" loggers, beside uvicorn's lines.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-9s %(message)s"))
    logging.getLogger("astralytiq").addHandler(handler)
    logging.getLogger("astralytiq").setLevel(logging.INFO)
    try:
        settings = get_settings()
    except ValidationError as exc:  # a weak secret in production, a bad value: one clear line
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        sys.exit(f"error: the API will not start with these settings: {reasons}")
    if args.workers == 1:  # worker processes import the app afresh: nothing to hand them
        warm_start.begin(settings.mlflow_tracking_uri, int(settings.forecast_cache_mb * 1024 * 1024))
    ensure_schema(settings.app_database_url)
    import uvicorn  # with the app it imports: the part of start-up the warm start overlaps

    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        ws="none",  # no WebSocket routes: do not load a WebSocket library
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
