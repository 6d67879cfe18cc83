"""What the database-backed services' command lines share: start, report failures in one
line with an exit status (2: the schema does not fit or the database is of a kind the stores do not
support; 1: database or port unusable), then serve until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from mlgrpc_server.bootstrap import RunningServer, freeze_startup_heap, serve_until_signalled
from mlgrpc_server.db import UnsupportedDatabase
from mlgrpc_server.schema import SchemaMismatch
from mlgrpc_server.signals import StopSignal

logger = logging.getLogger(__name__)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Text or JSON lines (`--log-format`), each with the request id of the call, if any."""
    from mlgrpc_server.observability import logs

    logs.configure_logging(level, log_format)


def serve(prog: str, start: Callable[[], RunningServer], *, host: str, port: int) -> int:
    """Run `start()` and serve; the exit status of the command."""
    stop = StopSignal.install()  # before start(): a signal once SERVING must drain, not kill
    try:
        running = start()
    except (SchemaMismatch, UnsupportedDatabase) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except sa_exc.DBAPIError as error:
        print(f"{prog}: cannot use the database: {error.orig}", file=sys.stderr)
        return 1
    except RuntimeError as error:  # grpc: the port could not be bound
        print(f"{prog}: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    logger.info("listening on %s:%d", host, running.port)
    freeze_startup_heap()
    serve_until_signalled(running, stop)
    return 0
