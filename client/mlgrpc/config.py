"""The one place the client reads its settings: environment variables and process-wide switches.

| variable | default | meaning |
|---|---|---|
| MLGRPC_TRACKING_URI | 127.0.0.1:50051 | tracking service (`grpc://host:port` or `host:port`) |
| MLGRPC_REGISTRY_URI | 127.0.0.1:50052 | model-registry service |
| MLGRPC_EXPERIMENT_NAME | (none) | experiment of runs started without one |
| MLGRPC_EXPERIMENT_ID | (none) | same, by id (the name wins if both are set) |
| MLGRPC_CLIENT_TIMEOUT | 30 | deadline of every unary call, seconds |
| MLGRPC_ARTIFACT_TIMEOUT | 600 | deadline of an artifact upload or download stream, seconds |
| MLGRPC_ASYNC_LOGGING | false | log metrics/params/tags in the background by default |
| MLGRPC_LOG_RETRY_SECONDS | 120 | how long a write is retried through a restart (`_batch_retry`) |
| MLGRPC_SPOOL_DIR | ~/.cache/mlgrpc/spool | where unsent async values wait (`mlgrpc.spool`) |
| MLGRPC_TLS_CA | system roots | CA verifying `grpcs://` services (PEM file) |
| MLGRPC_TLS_CERT, MLGRPC_TLS_KEY | (none) | client certificate and key for mutual TLS (PEM files) |
"""

from __future__ import annotations

import os

from mlgrpc.uris import parse_service_uri

DEFAULT_TRACKING_URI = "127.0.0.1:50051"
DEFAULT_REGISTRY_URI = "127.0.0.1:50052"

_tracking_uri: str | None = None
_registry_uri: str | None = None
#: None means "as the environment says".
_async_logging: bool | None = None

_TRUE = {"1", "true", "yes", "on"}


def set_tracking_uri(uri: str) -> None:
    """Use this tracking service for the rest of the process (validated now, not on first use)."""
    global _tracking_uri
    if uri is None:
        _tracking_uri = None
        return
    parse_service_uri(uri)
    _tracking_uri = str(uri)


def get_tracking_uri() -> str:
    """The URI set by `set_tracking_uri`, else MLGRPC_TRACKING_URI, else 127.0.0.1:50051."""
    if _tracking_uri is not None:
        return _tracking_uri
    return os.environ.get("MLGRPC_TRACKING_URI") or DEFAULT_TRACKING_URI


def set_registry_uri(uri: str) -> None:
    """Use this model-registry service for the rest of the process."""
    global _registry_uri
    if uri is None:
        _registry_uri = None
        return
    parse_service_uri(uri, what="registry URI")
    _registry_uri = str(uri)


def get_registry_uri() -> str:
    """The URI set by `set_registry_uri`, else MLGRPC_REGISTRY_URI, else 127.0.0.1:50052."""
    if _registry_uri is not None:
        return _registry_uri
    return os.environ.get("MLGRPC_REGISTRY_URI") or DEFAULT_REGISTRY_URI


def default_experiment_name() -> str | None:
    return os.environ.get("MLGRPC_EXPERIMENT_NAME") or None


def default_experiment_id() -> str | None:
    return os.environ.get("MLGRPC_EXPERIMENT_ID") or None


def client_timeout() -> float:
    """Deadline of unary calls in seconds (MLGRPC_CLIENT_TIMEOUT, default 30)."""
    return _float_env("MLGRPC_CLIENT_TIMEOUT", 30.0)


def artifact_timeout() -> float:
    """Deadline of one artifact stream in seconds (MLGRPC_ARTIFACT_TIMEOUT, default 600)."""
    return _float_env("MLGRPC_ARTIFACT_TIMEOUT", 600.0)


def tls_ca() -> str | None:
    """PEM file of the CA that signed the services' certificates (MLGRPC_TLS_CA)."""
    return os.environ.get("MLGRPC_TLS_CA") or None


def tls_cert() -> str | None:
    """PEM file of the client's certificate chain, for mutual TLS (MLGRPC_TLS_CERT)."""
    return os.environ.get("MLGRPC_TLS_CERT") or None


def tls_key() -> str | None:
    """PEM file of the key of `tls_cert()` (MLGRPC_TLS_KEY)."""
    return os.environ.get("MLGRPC_TLS_KEY") or None


def enable_async_logging(enable: bool = True) -> None:
    """Log metrics, params and tags in the background unless a call says `synchronous=True`.

    Mirrors `mlflow.config.enable_async_logging`. Queued values are written before `flush()`,
    `end_run()` and interpreter exit return; a background failure is raised at the next of those
    (or the next log call).
    """
    global _async_logging
    _async_logging = bool(enable)


def disable_async_logging() -> None:
    """Log synchronously again unless a call says `synchronous=False`."""
    enable_async_logging(False)


def is_async_logging_enabled() -> bool:
    if _async_logging is not None:
        return _async_logging
    return os.environ.get("MLGRPC_ASYNC_LOGGING", "").strip().lower() in _TRUE


def reset() -> None:
    """Forget everything set in this process (tests use it)."""
    global _tracking_uri, _registry_uri, _async_logging
    _tracking_uri = _registry_uri = _async_logging = None
    from mlgrpc import _auth  # here: _auth's interceptor module needs grpc, config does not

    _auth.set_token(None)


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    return value if value > 0 else default
