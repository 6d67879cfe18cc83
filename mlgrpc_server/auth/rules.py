"""For every RPC: the permission it needs and where the request names the resource it concerns.

Reads need READ, which every valid token has everywhere (as MLflow's default permission), so a
read never costs a resource lookup. Updates need EDIT on the experiment or registered model;
deletes and restores need MANAGE; creating an experiment or a registered model needs a write or
admin role (there is no resource yet) and gives the creating token MANAGE on it. Health and
reflection are always open. An RPC missing from these tables needs an admin token (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mlgrpc_server.auth.tokens import EXPERIMENT, REGISTERED_MODEL, Permission

#: Kinds of resource reference a request carries; a run or a LoggedModel is resolved to its
#: experiment.
RUN = "run"
LOGGED_MODEL = "logged_model"

#: Services whose RPCs never need a token.
OPEN_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)

TRACKING_SERVICE = "mlgrpc.tracking.v1.TrackingService"
REGISTRY_SERVICE = "mlgrpc.registry.v1.ModelRegistryService"
SCORING_SERVICE = "mlgrpc.scoring.v1.ScoringService"
INFERENCE_SERVICE = "inference.GRPCInferenceService"

DEFAULT_EXPERIMENT_ID = "0"


@dataclass(frozen=True)
class ResourceRef:
    """What a request names: an experiment id, a registered model name, or a run id."""

    kind: str
    id: str


#: Reads the resource a request (or one message of a client stream) concerns; None: none named.
Locator = Callable[[Any], ResourceRef | None]


@dataclass(frozen=True)
class Rule:
    """What one RPC needs. `permission` None: open. `locator` None: no particular resource."""

    permission: Permission | None
    locator: Locator | None = None
    #: Creating needs the write role, as there is no resource to hold a grant yet.
    creates: str = ""
    admin_only: bool = False


OPEN = Rule(None)
READ = Rule(Permission.READ)
ADMIN = Rule(Permission.MANAGE, admin_only=True)


def _experiment(request: Any) -> ResourceRef:
    return ResourceRef(EXPERIMENT, request.experiment_id or DEFAULT_EXPERIMENT_ID)


def _run(request: Any) -> ResourceRef | None:
    return ResourceRef(RUN, request.run_id) if request.run_id else None


def _logged_model(request: Any) -> ResourceRef | None:
    return ResourceRef(LOGGED_MODEL, request.model_id) if request.model_id else None


def _run_or_logged_model(request: Any) -> ResourceRef | None:
    return _run(request) or _logged_model(request)


def _upload_header(request: Any) -> ResourceRef | None:
    # Only the first message (the header) names the run or the LoggedModel; chunks name nothing.
    if request.WhichOneof("content") != "header":
        return None
    return _run(request.header) or _logged_model(request.header)


def _model(request: Any) -> ResourceRef:
    return ResourceRef(REGISTERED_MODEL, request.name)


def _table(service: str, rules: dict[str, Rule]) -> dict[str, Rule]:
    return {f"/{service}/{method}": rule for method, rule in rules.items()}


def _all(service: str, names: Iterable[str], rule: Rule) -> dict[str, Rule]:
    return _table(service, dict.fromkeys(names, rule))


def _on(permission: Permission, locator: Locator) -> Rule:
    return Rule(permission, locator)


TRACKING_RULES: dict[str, Rule] = {
    **_all(
        TRACKING_SERVICE,
        (
            "GetExperiment",
            "GetExperimentByName",
            "SearchExperiments",
            "GetRun",
            "GetMetricHistory",
            "SearchRuns",
            "DownloadArtifact",
            "ListArtifacts",
            "GetLoggedModel",
            "SearchLoggedModels",
        ),
        READ,
    ),
    **_table(
        TRACKING_SERVICE,
        {
            "CreateExperiment": Rule(Permission.EDIT, creates=EXPERIMENT),
            "UpdateExperiment": _on(Permission.EDIT, _experiment),
            "SetExperimentTag": _on(Permission.EDIT, _experiment),
            "DeleteExperimentTag": _on(Permission.EDIT, _experiment),
            "DeleteExperiment": _on(Permission.MANAGE, _experiment),
            "RestoreExperiment": _on(Permission.MANAGE, _experiment),
            "CreateRun": _on(Permission.EDIT, _experiment),
            "UpdateRun": _on(Permission.EDIT, _run),
            "LogMetric": _on(Permission.EDIT, _run),
            "LogParam": _on(Permission.EDIT, _run),
            "SetTag": _on(Permission.EDIT, _run),
            "DeleteTag": _on(Permission.EDIT, _run),
            "LogModel": _on(Permission.EDIT, _run),
            "LogBatch": _on(Permission.EDIT, _run),
            "LogStream": _on(Permission.EDIT, _run),
            "UploadArtifact": _on(Permission.EDIT, _upload_header),
            "DeleteRun": _on(Permission.MANAGE, _run),
            "RestoreRun": _on(Permission.MANAGE, _run),
            "DeleteArtifact": _on(Permission.EDIT, _run_or_logged_model),
            "CreateLoggedModel": _on(Permission.EDIT, _experiment),
            "FinalizeLoggedModel": _on(Permission.EDIT, _logged_model),
            "SetLoggedModelTags": _on(Permission.EDIT, _logged_model),
            "DeleteLoggedModelTag": _on(Permission.EDIT, _logged_model),
            "LogLoggedModelParams": _on(Permission.EDIT, _logged_model),
            "DeleteLoggedModel": _on(Permission.MANAGE, _logged_model),
            "LogInputs": _on(Permission.EDIT, _run),
            "LogOutputs": _on(Permission.EDIT, _run),
        },
    ),
}

REGISTRY_RULES: dict[str, Rule] = {
    **_all(
        REGISTRY_SERVICE,
        (
            "GetRegisteredModel",
            "SearchRegisteredModels",
            "GetModelVersion",
            "SearchModelVersions",
            "GetModelVersionDownloadUri",
            "GetLatestVersions",
            "GetModelVersionByAlias",
            "ResolveModelUri",
            "WatchRegisteredModel",
        ),
        READ,
    ),
    **_all(
        REGISTRY_SERVICE,
        (
            "RenameRegisteredModel",
            "UpdateRegisteredModel",
            "SetRegisteredModelTag",
            "DeleteRegisteredModelTag",
            "CreateModelVersion",
            "UpdateModelVersion",
            "SetModelVersionTag",
            "DeleteModelVersionTag",
            "TransitionModelVersionStage",
            "SetRegisteredModelAlias",
            "DeleteRegisteredModelAlias",
        ),
        _on(Permission.EDIT, _model),
    ),
    **_table(
        REGISTRY_SERVICE,
        {
            "CreateRegisteredModel": Rule(Permission.EDIT, creates=REGISTERED_MODEL),
            "DeleteRegisteredModel": _on(Permission.MANAGE, _model),
            "DeleteModelVersion": _on(Permission.MANAGE, _model),
        },
    ),
}


def scoring_rules(*, require_token: bool) -> dict[str, Rule]:
    """Inference is open unless `require_token`; loading and unloading models is for admins;
    liveness and readiness stay open like health checks."""
    inference = READ if require_token else OPEN
    return {
        **_all(SCORING_SERVICE, ("Predict", "ListModels", "GetModelMetadata"), inference),
        **_all(SCORING_SERVICE, ("LoadModel", "UnloadModel"), ADMIN),
        **_all(INFERENCE_SERVICE, ("ModelInfer", "ServerMetadata", "ModelMetadata"), inference),
        **_all(INFERENCE_SERVICE, ("ServerLive", "ServerReady", "ModelReady"), OPEN),
    }
