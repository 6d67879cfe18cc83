"""Parsing of the URIs users hand to the client: service addresses, `runs:/` and `models:/`.

Service addresses: `grpc://host:port`, `grpcs://host:port` (TLS) or a bare `host:port`.
`http://host:port` and `https://host[:port]` are accepted too, as gRPC clients such as Rust's tonic
accept them: gRPC *is* HTTP/2, so `http` means plaintext and `https` TLS (default ports 80/443).
That keeps an MLflow script's `set_tracking_uri("http://localhost:5000")` line unchanged when the
mlgrpc service listens there. A path after the address (a REST prefix) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlgrpc._balancing import balanced_target
from mlgrpc.exceptions import InvalidArgumentError

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})$")
_UNIX = re.compile(r"^unix:(//)?/.+")


@dataclass(frozen=True)
class ServiceTarget:
    """Where a service listens: a gRPC target string and whether to use TLS."""

    address: str
    secure: bool = False
    #: Several replicas (an address list or a `dns:` name): balanced round-robin by the channel.
    balanced: bool = False


def parse_service_uri(uri: str, *, what: str = "tracking URI") -> ServiceTarget:
    """`grpc://host:port` / `grpcs://host:port` / `host:port` / `unix:/path` → ServiceTarget."""
    text = (uri or "").strip()
    lowered = text.lower()
    secure = False
    if lowered.startswith(("http://", "https://")):
        return _parse_http_uri(uri, text, what)
    if lowered.startswith("grpcs://"):
        secure, text = True, text[len("grpcs://") :]
    elif lowered.startswith("grpc://"):
        text = text[len("grpc://") :]
    if _UNIX.match(text):
        return ServiceTarget(text, secure)
    balanced = balanced_target(text.rstrip("/"), uri=uri, what=what)
    if balanced is not None:
        return ServiceTarget(balanced, secure, balanced=True)
    text = text.rstrip("/")
    match = _HOST_PORT.match(text)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise InvalidArgumentError(
            f"{what} {uri!r} is not a gRPC address; use 'grpc://host:port' or 'host:port', "
            "e.g. 'grpc://127.0.0.1:50051'",
            field="tracking_uri",
        )
    return ServiceTarget(text, secure)


def _parse_http_uri(uri: str, text: str, what: str) -> ServiceTarget:
    secure = text.lower().startswith("https://")
    rest = text.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    if path.strip("/"):
        raise InvalidArgumentError(
            f"{what} {uri!r} has a path ({'/' + path!r}); a gRPC service is addressed by host "
            "and port only, e.g. 'grpc://127.0.0.1:50051'",
            field="tracking_uri",
        )
    if not _HOST_PORT.match(authority):
        authority = f"{authority}:{443 if secure else 80}"
    match = _HOST_PORT.match(authority)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise InvalidArgumentError(
            f"{what} {uri!r} is not a gRPC address; use 'grpc://host:port' or 'host:port', "
            "e.g. 'grpc://127.0.0.1:50051'",
            field="tracking_uri",
        )
    return ServiceTarget(authority, secure)


@dataclass(frozen=True)
class RunsUri:
    """`runs:/<run_id>/<artifact path>`."""

    run_id: str
    artifact_path: str


def parse_runs_uri(uri: str) -> RunsUri:
    """`runs:/<run_id>[/<path>]` → RunsUri; anything else is InvalidArgumentError."""
    if not uri.startswith("runs:/"):
        raise InvalidArgumentError(
            f"{uri!r} is not a runs URI; expected 'runs:/<run_id>/<artifact path>'", field="uri"
        )
    rest = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgumentError(
            f"{uri!r} names no run; expected 'runs:/<run_id>/<artifact path>'", field="uri"
        )
    return RunsUri(run_id=run_id, artifact_path=path.strip("/"))


@dataclass(frozen=True)
class ModelsUri:
    """`models:/<name>/<version>`, `models:/<name>/<stage>`, `models:/<name>@<alias>`,
    `models:/<name>/latest` or `models:/<model_id>` (a logged model, MLflow 3)."""

    name: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    model_id: str | None = None
    latest: bool = False
    sub_path: str = ""


def parse_models_uri(uri: str) -> ModelsUri:
    """Parse the forms of `models:/…` MLflow accepts; resolution is the registry's job."""
    if not uri.startswith("models:/"):
        raise InvalidArgumentError(
            f"{uri!r} is not a models URI; expected 'models:/<name>/<version or stage>' or "
            "'models:/<name>@<alias>'",
            field="uri",
        )
    rest = uri[len("models:/") :].lstrip("/")
    head, _, tail = rest.partition("/")
    if not head:
        raise InvalidArgumentError(f"{uri!r} names no model", field="uri")
    if "@" in head:
        name, _, alias = head.partition("@")
        if not name or not alias:
            raise InvalidArgumentError(f"{uri!r}: expected 'models:/<name>@<alias>'", field="uri")
        return ModelsUri(name=name, alias=alias, sub_path=tail)
    if not tail:
        return ModelsUri(model_id=head)
    selector, _, sub_path = tail.partition("/")
    if selector.isdigit():
        return ModelsUri(name=head, version=selector, sub_path=sub_path)
    if selector.lower() == "latest":
        return ModelsUri(name=head, latest=True, sub_path=sub_path)
    return ModelsUri(name=head, stage=selector, sub_path=sub_path)
