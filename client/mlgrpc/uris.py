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


#: The registry's stages (MLflow's), spelt as the registry stores them; a URI may use any case.
MODEL_STAGES = ("None", "Staging", "Production", "Archived")
MODELS_SCHEME = "models:/"
_VERSION = re.compile(r"[0-9]{1,19}")
#: `models:/m-<32 hex>` names a LoggedModel (MLflow 3), not a registered model.
LOGGED_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
_MAX_VERSION = 2**63 - 1  # versions are int64 on the wire
_STAGES_BY_LOWER = {stage.lower(): stage for stage in MODEL_STAGES}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Characters a registered model name may not hold, and why: each would make a `models:/` URI
#: naming the model mean something else somewhere.
_NAME_BREAKERS = {
    "/": "'/' separates the name from the version or stage",
    "@": "'@' separates the name from an alias",
    "?": "'?' starts a URI query, so MLflow's parser would stop the name there",
    "#": "'#' starts a URI fragment in most URI parsers",
    "%": "'%' starts a percent-escape, so a decoded URI would name another model",
    "\\": "'\\' is a path separator on Windows",
}


@dataclass(frozen=True)
class ModelsUri:
    """A parsed `models:/` URI: a registered model and exactly one of version, alias, stage or
    latest. Forms: `models:/<name>/<version>`, `models:/<name>@<alias>`,
    `models:/<name>/<stage>` (any letter case; `stage` holds the registry's spelling) and
    `models:/<name>/latest`; or `models:/m-<32 hex>`, a LoggedModel (`model_id` set, `name`
    empty)."""

    name: str
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False
    model_id: str | None = None

    @property
    def moves(self) -> bool:
        """Whether the version it names can change (an alias, a stage or `latest`)."""
        return self.version is None and self.model_id is None

    def __str__(self) -> str:
        if self.model_id is not None:
            return f"{MODELS_SCHEME}{self.model_id}"
        if self.alias is not None:
            return f"{MODELS_SCHEME}{self.name}@{self.alias}"
        suffix = self.version if self.version is not None else self.stage or "latest"
        return f"{MODELS_SCHEME}{self.name}/{suffix}"


def _bad_models_uri(uri: str, why: str, field: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{field} {uri[:300]!r} is malformed: {why}; use models:/<name>/<version>, "
        "models:/<name>@<alias>, models:/<name>/<stage>, models:/<name>/latest or "
        "models:/m-<logged model id>",
        field=field,
    )


def parse_models_uri(uri: str, *, field: str = "model_uri") -> ModelsUri:
    """The one parser of `models:/` URIs (client, registry and scoring service), MLflow's
    grammar: the part after `models:/` is `<name>/<suffix>` or `<name>@<alias>`, split at the
    last "@" as MLflow does (names made since are refused with "@", see `model_name_problem`).
    Resolution is the registry's job; a malformed URI is InvalidArgumentError naming `field`."""
    if not uri.startswith(MODELS_SCHEME):
        raise _bad_models_uri(uri, "it does not start with models:/", field)
    rest = uri[len(MODELS_SCHEME) :].lstrip("/")
    if _CONTROL.search(rest):
        raise _bad_models_uri(uri, "it contains a control character", field)
    if LOGGED_MODEL_ID.fullmatch(rest):
        return ModelsUri(name="", model_id=rest)
    if "/" not in rest:
        name, at, alias = rest.rpartition("@")
        if not at:
            raise _bad_models_uri(uri, "it names no version, stage, alias or 'latest'", field)
        if not name:
            raise _bad_models_uri(uri, "the model name is empty", field)
        if not alias:
            raise _bad_models_uri(uri, "the alias after '@' is empty", field)
        return ModelsUri(name=name, alias=alias)
    name, _, suffix = rest.partition("/")
    if not name or not suffix or "/" in suffix:
        raise _bad_models_uri(uri, "expected exactly models:/<name>/<suffix>", field)
    if _VERSION.fullmatch(suffix):
        version = int(suffix)
        if not 0 < version <= _MAX_VERSION:
            raise _bad_models_uri(uri, f"version {suffix} is not 1 or more", field)
        return ModelsUri(name=name, version=version)
    if suffix.lower() == "latest":
        return ModelsUri(name=name, latest=True)
    stage = _STAGES_BY_LOWER.get(suffix.lower())
    if stage is None:
        raise _bad_models_uri(
            uri,
            f"{suffix[:50]!r} is neither a version number, a stage "
            f"({', '.join(MODEL_STAGES)}) nor 'latest'",
            field,
        )
    return ModelsUri(name=name, stage=stage)


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot be given to a new registered model, or None: a name must read back
    the same from every `models:/` URI and cache path made of it."""
    if name.strip() in {"", ".", ".."}:
        return "it is empty, '.' or '..'"
    if _CONTROL.search(name):
        return "it contains a control character"
    for char, why in _NAME_BREAKERS.items():
        if char in name:
            return f"it contains {char!r} ({why})"
    return None
