"""Serve the API on this machine with uvicorn.

    python -m functions.local --artifacts build/artifacts --host 127.0.0.1 --port 8000

The server binds to loopback addresses only, unless ``--allow-non-loopback``
is given, because it has no authentication. The recommender starts loading
in the background at startup; ``GET /health`` returns 503 until it is ready.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from functions.app import create_app
from functions.logs import configure_logging
from functions.settings import (
    ARTIFACTS_DIR_VAR,
    LOG_LEVEL_VAR,
    LOG_LEVELS,
    Settings,
    SettingsError,
    load_settings,
    resolve_artifacts_dir,
)

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# The same default as the CorsAllowOrigins parameter in template.yaml.
DEFAULT_CORS_ORIGIN = "http://localhost:3000"


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names a loopback interface (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the local server."""
    parser = argparse.ArgumentParser(
        prog="python -m functions.local",
        description="Serve the practice recommender API locally with uvicorn.",
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help=f"artifacts folder, relative to the working directory (default: ${ARTIFACTS_DIR_VAR} "
        "or build/artifacts under the project root)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding to an address other than loopback (the API has no authentication)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="origin a browser app may call from; repeat for several "
        f"(default: {DEFAULT_CORS_ORIGIN}, as in template.yaml)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=None,
        help=f"log level (default: ${LOG_LEVEL_VAR} or INFO)",
    )

    return parser


def build_local_app(settings: Settings, cors_origins: Sequence[str]) -> FastAPI:
    """Build the app for the local server, with CORS for ``cors_origins``.

    In AWS the HTTP API handles CORS preflights (template.yaml). Locally the
    app handles them, so a frontend dev server can call the API.
    """
    app = create_app(settings=settings, load_on_startup=True)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "x-request-id"],
        expose_headers=["x-request-id"],
        max_age=600,
    )

    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run the server until it stops and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)

    if not is_loopback(args.host) and not args.allow_non_loopback:
        parser.error(
            f"--host {args.host} is not a loopback address; the API has no authentication. "
            "Pass --allow-non-loopback to bind to it anyway."
        )
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is invalid: expected 1 to 65535")

    try:
        settings = load_settings()
    except SettingsError as exc:
        parser.error(str(exc))
    if args.artifacts is not None:
        settings = dataclasses.replace(
            settings, artifacts_dir=resolve_artifacts_dir(args.artifacts, base=Path.cwd())
        )
    if args.log_level is not None:
        settings = dataclasses.replace(settings, log_level=args.log_level)

    configure_logging(settings.log_level, in_lambda=False)
    logger.info(
        "starting the local server",
        extra={"host": args.host, "port": args.port, "artifacts_dir": str(settings.artifacts_dir)},
    )
    app = build_local_app(settings, args.cors_origin or [DEFAULT_CORS_ORIGIN])
    # log_config=None keeps the JSON logging configured above. The app's
    # middleware writes one access line per request, so uvicorn's is off.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)

    return 0


if __name__ == "__main__":
    sys.exit(main())
