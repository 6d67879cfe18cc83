"""The scoring service's settings: one frozen object built by the CLI (flags, then env)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgrpc_server.tls import TlsChannelConfig, TlsServerConfig

DEFAULT_PORT = 8088
DEFAULT_MAX_REQUEST_ROWS = 1_000_000


def default_cache_dir() -> Path:
    return Path(os.environ.get("MLGRPC_CACHE_DIR") or Path.home() / ".cache/mlgrpc/models")


@dataclass(frozen=True)
class ModelSpec:
    """One `-m [name=]URI`: the name to serve under (None: derived) and the model URI."""

    uri: str
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        # `name=URI`; a URI itself never has "=" before its scheme or first slash.
        head, sep, tail = text.partition("=")
        if sep and head and "/" not in head and ":" not in head:
            return cls(uri=tail, name=head)
        return cls(uri=text)


@dataclass(frozen=True)
class ServeConfig:
    models: tuple[ModelSpec, ...] = ()
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: Port of the HTTP protocols (MLflow's /invocations, the V2 REST API); None: no HTTP.
    http_port: int | None = None
    #: HTTP bodies above this many bytes are answered 413 (the gRPC port's message limit).
    http_max_body_bytes: int = 64 * 1024 * 1024
    workers: int = 1
    registry_address: str = ""
    tracking_address: str = ""
    allow_pickle: bool = False
    max_batch_size: int = 0
    max_batch_time_ms: float = 0.0
    max_request_rows: int = DEFAULT_MAX_REQUEST_ROWS
    cache_dir: Path = field(default_factory=default_cache_dir)
    threads: int = 16
    server_kind: str = "sync"
    watch_backoff_max_s: float = 30.0
    #: Prometheus metrics on http://host:metrics_port/metrics; 0 = off. With several workers
    #: the parent serves the sum of theirs (prometheus multiprocess mode).
    metrics_port: int = 0
    #: TLS of the port (None: plaintext); bytes, not gRPC objects, so that workers fork safely.
    tls: TlsServerConfig | None = None
    #: TLS of the calls to the registry and tracking services (None: plaintext).
    peer_tls: TlsChannelConfig | None = None
    #: LoadModel/UnloadModel for any caller (without `auth`: anyone who reaches the port).
    model_control: bool = False
    #: Token auth (see scoring_service/auth.py): LoadModel/UnloadModel need an admin token,
    #: and are then allowed to it without `model_control`.
    auth: bool = False
    #: With auth, Predict, ModelInfer and the metadata RPCs need a valid token too.
    require_token: bool = False
    #: SQLAlchemy URI of the shared database that holds the tokens.
    auth_backend_store_uri: str = ""
