"""gRPC channels of the client: one per target and process, retries, deadlines, typed errors.

Channels are expensive (a TCP connection, HTTP/2 state, a poller thread) and safe to share, so
they are cached by (process id, target, TLS). After a fork the child builds its own.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from mlgrpc import config
from mlgrpc._auth import with_bearer_token
from mlgrpc._balancing import with_round_robin
from mlgrpc.exceptions import from_rpc_error
from mlgrpc.tls import ClientTls
from mlgrpc.uris import ServiceTarget, parse_service_uri

TRACKING_SERVICE = "mlgrpc.tracking.v1.TrackingService"

MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# Retried transparently on UNAVAILABLE / ABORTED (a deadlock victim rolled back) with
# exponential backoff. Only calls that may run twice without changing the outcome:
# - every read (Get*, Search*, ListArtifacts, DownloadArtifact — a server stream is retried only
#   until its first message arrives, which gRPC guarantees);
# - writes that overwrite to the same state: SetTag, SetExperimentTag, LogParam (an equal value is
#   accepted again), UpdateRun (sets status/end time/name to given values).
# Not retried by the channel: CreateExperiment / CreateRun (a second run or ALREADY_EXISTS),
# LogMetric, LogBatch / LogStream, DeleteTag (the client retries those, and the writes above,
# itself for longer, where a repeat writes nothing new: `mlgrpc._batch_retry`), Delete* / Restore* /
# UpdateExperiment (the repeat would answer NOT_FOUND or ALREADY_EXISTS after a success), and
# UploadArtifact (a client stream cannot be replayed by the channel).
IDEMPOTENT_TRACKING_METHODS = (
    "GetExperiment",
    "GetExperimentByName",
    "SearchExperiments",
    "GetRun",
    "GetMetricHistory",
    "SearchRuns",
    "ListArtifacts",
    "DownloadArtifact",
    "SetTag",
    "SetExperimentTag",
    "LogParam",
    "UpdateRun",
)

_RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"],
}


def service_config(service: str, idempotent_methods: tuple[str, ...]) -> str:
    """The JSON service config that enables the retry policy for the listed methods."""
    names = [{"service": service, "method": method} for method in idempotent_methods]
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": _RETRY_POLICY}]})


_SERVICE_CONFIGS = {TRACKING_SERVICE: service_config(TRACKING_SERVICE, IDEMPOTENT_TRACKING_METHODS)}

_channels: dict[tuple[int, str, bool, str, ClientTls | None], grpc.Channel] = {}
_channels_lock = threading.Lock()


def get_channel(
    uri: str, service: str = TRACKING_SERVICE, tls: ClientTls | None = None
) -> grpc.Channel:
    """The shared channel to `uri` (any form `parse_service_uri` accepts); a `grpcs://` URI
    uses `tls` (default: the MLGRPC_TLS_* environment)."""
    target = parse_service_uri(uri)
    tls = (tls or ClientTls.resolve()) if target.secure else None
    key = (os.getpid(), target.address, target.secure, service, tls)
    channel = _channels.get(key)
    if channel is not None:
        return channel
    with _channels_lock:
        channel = _channels.get(key)
        if channel is None:
            channel = _new_channel(target, _SERVICE_CONFIGS.get(service, ""), tls)
            channel = with_bearer_token(channel)  # MLGRPC_TOKEN / mlgrpc.set_token, per call
            _channels[key] = channel
        return channel


def probe_channel(uri: str, tls: ClientTls | None = None, *, what: str = "address") -> grpc.Channel:
    """A new channel of its own (the caller closes it) for a one-off call such as a health
    check: the URI forms and TLS of every other channel, no retry policy and no token."""
    target = parse_service_uri(uri, what=what)
    return _new_channel(target, "", (tls or ClientTls.resolve()) if target.secure else None)


def get_async_channel(
    uri: str, service: str = TRACKING_SERVICE, tls: ClientTls | None = None
) -> grpc.aio.Channel:
    """The running event loop's channel to `uri`: `get_channel`'s options (limits, retries,
    reconnects, TLS) for calls awaited on the loop. An aio channel belongs to the loop it was made
    in, so there is one per loop, dropped with it. It sends no token by itself: callers add
    `mlgrpc._auth.token_metadata` to each call."""
    target = parse_service_uri(uri)
    tls = (tls or ClientTls.resolve()) if target.secure else None
    per_loop = _async_channels.setdefault(asyncio.get_running_loop(), {})
    key = (os.getpid(), target.address, target.secure, service, tls)
    channel = per_loop.get(key)
    if channel is None:
        options = _channel_options(target, _SERVICE_CONFIGS.get(service, ""))
        if target.secure:
            credentials = (tls or ClientTls()).channel_credentials()
            channel = grpc.aio.secure_channel(target.address, credentials, options=options)
        else:
            channel = grpc.aio.insecure_channel(target.address, options=options)
        per_loop[key] = channel
    return channel


# Only touched from each loop's own thread.
_async_channels: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, str, bool, str, ClientTls | None], grpc.aio.Channel]
] = weakref.WeakKeyDictionary()


def _new_channel(
    target: ServiceTarget, retry_config: str, tls: ClientTls | None = None
) -> grpc.Channel:
    options = _channel_options(target, retry_config)
    if target.secure:
        credentials = (tls or ClientTls()).channel_credentials()
        return grpc.secure_channel(target.address, credentials, options=options)
    return grpc.insecure_channel(target.address, options=options)


def _channel_options(target: ServiceTarget, retry_config: str) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 60_000),
        # A channel whose peer went away fails every call at once ("Connection refused") until
        # its reconnect backoff ends, and gRPC's default backoff grows to 120 s: a gateway or a
        # registry would answer UNAVAILABLE for two minutes after the service it calls restarts.
        # Our peers are services of one deployment, so retry the connection within a second.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1_000),
    ]
    if target.balanced:
        retry_config = with_round_robin(retry_config)
    if retry_config:
        options.append(("grpc.service_config", retry_config))
    return options


def forget_channels(uri: str) -> None:
    """Close and drop this process's cached channels to `uri` (e.g. when the server there has
    stopped for good, so that a later server on the same port gets a fresh channel)."""
    address = parse_service_uri(uri).address
    with _channels_lock:
        for key in [key for key in _channels if key[0] == os.getpid() and key[1] == address]:
            _channels.pop(key).close()


def close_all_channels() -> None:
    """Close every cached channel of this process (tests, and before a fork)."""
    with _channels_lock:
        for (pid, *_), channel in list(_channels.items()):
            if pid == os.getpid():
                channel.close()
        _channels.clear()


# Registered before async logging's exit hook (this module is imported first), so it runs after
# it: queued values are written, then the channels are closed before the interpreter finalizes.
atexit.register(close_all_channels)

Request = TypeVar("Request")
Response = TypeVar("Response")


def call_unary(
    method: Callable[..., Response], request: Any, *, name: str, timeout: float | None = None
) -> Response:
    """Call a unary(-request) stub method with a deadline; failures become typed exceptions."""
    try:
        return method(request, timeout=timeout or config.client_timeout())
    except grpc.RpcError as error:
        raise from_rpc_error(error, method=name) from None


def call_server_stream(
    method: Callable[..., Iterator[Response]],
    request: Any,
    *,
    name: str,
    timeout: float | None = None,
) -> Iterator[Response]:
    """Iterate a server stream; a failure mid-stream is a typed exception too."""
    try:
        yield from method(request, timeout=timeout or config.artifact_timeout())
    except grpc.RpcError as error:
        raise from_rpc_error(error, method=name) from None
