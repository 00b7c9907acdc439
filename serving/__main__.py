"""`python -m serving`: the API server process alone, without the CLI's imports.

`astralytiq serve` migrates the database, then replaces itself with this, so the serving
process holds only what serving needs (no Typer, Rich or Alembic resident).
"""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--access-log", action="store_true", help="Log every request (costs throughput).")
    args = parser.parse_args(argv)
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
