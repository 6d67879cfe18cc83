"""Running the HTTP adapter: uvicorn (httptools, uvloop) in a thread of the scoring process.

The socket is bound here, before uvicorn starts, so that a busy port fails the start at once
and port 0 (tests) gives the chosen port back; worker processes bind it with SO_REUSEPORT, as
their gRPC servers do, and the kernel spreads connections over them.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgrpc_server.errors import FailedPrecondition
from scoring_service.http.app import ScoringHttpApp
from scoring_service.http.one_write import OneWriteHttpToolsProtocol

if TYPE_CHECKING:
    from mlgrpc_server.tls import TlsServerConfig

logger = logging.getLogger(__name__)


@dataclass
class RunningHttp:
    """A started HTTP listener; `stop` closes it and waits for its thread."""

    port: int
    _server: object
    _thread: threading.Thread
    _app: ScoringHttpApp

    def stop(self, grace: float = 5.0) -> None:
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(grace + 1)
        self._app.close()


def bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FailedPrecondition(
            f"cannot listen for HTTP on {host}:{port}: {exc.strerror}; choose another --http-port",
            field="http_port",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def ssl_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """The gRPC port's certificate, key and client CA as a server SSLContext."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl reads a key only from a file: a private directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="mlgrpc-tls-") as directory:
        cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        for path, data in ((cert, tls.cert_chain), (key, tls.private_key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as out:
                out.write(data)
        context.load_cert_chain(cert, key)
    if tls.client_ca is not None:
        context.load_verify_locations(cadata=tls.client_ca.decode("ascii"))
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return context


def start_http(
    app: ScoringHttpApp,
    host: str,
    port: int,
    *,
    tls: TlsServerConfig | None = None,
    reuse_port: bool = False,
) -> RunningHttp:
    import uvicorn

    sock = bind(host, port, reuse_port=reuse_port)
    config = uvicorn.Config(
        app,
        # httptools (a dependency), each answer's head and body in one socket write.
        http=OneWriteHttpToolsProtocol,
        loop="auto",  # uvloop when installed
        lifespan="off",
        access_log=False,
        # Per request work nobody reads: the app uses no client address (X-Forwarded-For is
        # not to be trusted from any peer), and `server: uvicorn` only tells what we run.
        proxy_headers=False,
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    config.load()
    if tls is not None:
        config.ssl = ssl_context(tls)  # uvicorn takes files only; ours are bytes
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="scoring-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    bound = sock.getsockname()[1]
    if not server.started:
        server.should_exit = True
        raise FailedPrecondition(
            f"the HTTP server on {host}:{bound} did not start", field="http_port"
        )
    logger.info("scoring service answering HTTP on %s:%d", host, bound)
    return RunningHttp(bound, server, thread, app)
