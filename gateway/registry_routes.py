"""MLflow's model-registry endpoints (`/api/2.0/mlflow/registered-models/*`,
`model-versions/*`): decode MLflow's JSON → a call to the registry service → MLflow's JSON.

Handlers take the request's fields and return the response body; errors are raised and shaped in
`gateway.app`. Three of MLflow's answers differ from our contract's and are matched here: deleting
a tag or alias that is not set succeeds, an alias that is not set is INVALID_PARAMETER_VALUE, and
artifact URIs are the proxied `mlflow-artifacts:/…` ones of the run (see `_source_for_registry`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from gateway import artifact_proxy
from gateway import convert as c
from gateway import registry_convert as rc
from gateway.errors import RequestError
from gateway.registry_calls import RegistryCalls
from mlgrpc.exceptions import NotFoundError
from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2 as tracking_pb

Body = Mapping[str, Any]
Handler = Callable[[RegistryCalls, Body], c.Json]

#: Page sizes MLflow's server uses when the request gives none (its stores' defaults).
SEARCH_REGISTERED_MODELS_DEFAULT = 100
SEARCH_MODEL_VERSIONS_DEFAULT = 10_000


# --- registered models -----------------------------------------------------------------------


def create_registered_model(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.CreateRegisteredModelRequest(
        name=c.required_str(body, "name"),
        tags=c.tags_of(body, pb.RegisteredModelTag),
        description=c.optional_str(body, "description"),
    )
    model = registry.call("CreateRegisteredModel", request).registered_model
    return {"registered_model": rc.registered_model_json(model)}


def get_registered_model(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.GetRegisteredModelRequest(name=c.required_str(body, "name"))
    model = registry.call("GetRegisteredModel", request).registered_model
    return {"registered_model": rc.registered_model_json(model)}


def rename_registered_model(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.RenameRegisteredModelRequest(
        name=c.required_str(body, "name"), new_name=c.required_str(body, "new_name")
    )
    model = registry.call("RenameRegisteredModel", request).registered_model
    return {"registered_model": rc.registered_model_json(model)}


def update_registered_model(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.UpdateRegisteredModelRequest(
        name=c.required_str(body, "name"), description=c.optional_str(body, "description")
    )
    model = registry.call("UpdateRegisteredModel", request).registered_model
    return {"registered_model": rc.registered_model_json(model)}


def delete_registered_model(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.DeleteRegisteredModelRequest(name=c.required_str(body, "name"))
    registry.call("DeleteRegisteredModel", request)
    return {}


def search_registered_models(registry: RegistryCalls, body: Body) -> c.Json:
    filter_string, without_prompts = _prompt_exclusion(c.optional_str(body, "filter"))
    request = pb.SearchRegisteredModelsRequest(
        filter=filter_string,
        max_results=c.optional_int(body, "max_results", bits=32)
        or SEARCH_REGISTERED_MODELS_DEFAULT,
        order_by=c.string_list(body, "order_by"),
        page_token=c.optional_str(body, "page_token"),
    )
    response = registry.call("SearchRegisteredModels", request)
    models = [
        rc.registered_model_json(model)
        for model in response.registered_models
        if not (without_prompts and _is_prompt(model.tags))
    ]
    return c.page_json("registered_models", models, response.next_page_token)


def get_latest_versions(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.GetLatestVersionsRequest(
        name=c.required_str(body, "name"), stages=c.string_list(body, "stages")
    )
    versions = registry.call("GetLatestVersions", request).model_versions
    return c.page_json("model_versions", [rc.model_version_json(v) for v in versions], "")


def set_registered_model_tag(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.SetRegisteredModelTagRequest(
        name=c.required_str(body, "name"),
        key=c.required_str(body, "key"),
        value=c.optional_str(body, "value"),
    )
    registry.call("SetRegisteredModelTag", request)
    return {}


def delete_registered_model_tag(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.DeleteRegisteredModelTagRequest(
        name=c.required_str(body, "name"), key=c.required_str(body, "key")
    )
    _delete_unless_unset(registry, "DeleteRegisteredModelTag", request, unset_field="key")
    return {}


# --- aliases ---------------------------------------------------------------------------------


def set_registered_model_alias(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    alias = c.required_str(body, "alias")
    request = pb.SetRegisteredModelAliasRequest(name=name, alias=alias, version=rc.version_of(body))
    registry.call("SetRegisteredModelAlias", request)
    return {}


def delete_registered_model_alias(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.DeleteRegisteredModelAliasRequest(
        name=c.required_str(body, "name"), alias=c.required_str(body, "alias")
    )
    _delete_unless_unset(registry, "DeleteRegisteredModelAlias", request, unset_field="alias")
    return {}


def get_model_version_by_alias(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.GetModelVersionByAliasRequest(
        name=c.required_str(body, "name"), alias=c.required_str(body, "alias")
    )
    try:
        version = registry.call("GetModelVersionByAlias", request).model_version
    except NotFoundError as error:
        if error.field != "alias":
            raise
        # MLflow's server answers an unset alias with 400 INVALID_PARAMETER_VALUE, not 404.
        raise RequestError(f"Registered model alias {request.alias} not found.") from None
    return {"model_version": rc.model_version_json(version)}


# --- model versions --------------------------------------------------------------------------


def create_model_version(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    source = c.required_str(body, "source")
    request = pb.CreateModelVersionRequest(
        name=name,
        source=_source_for_registry(registry, source),
        run_id=c.optional_str(body, "run_id"),
        tags=c.tags_of(body, pb.ModelVersionTag),
        run_link=c.optional_str(body, "run_link"),
        description=c.optional_str(body, "description"),
    )
    version = registry.call("CreateModelVersion", request).model_version
    return {"model_version": rc.model_version_json(version)}


def get_model_version(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.GetModelVersionRequest(name=name, version=rc.version_of(body))
    version = registry.call("GetModelVersion", request).model_version
    return {"model_version": rc.model_version_json(version)}


def update_model_version(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.UpdateModelVersionRequest(
        name=name, version=rc.version_of(body), description=c.optional_str(body, "description")
    )
    version = registry.call("UpdateModelVersion", request).model_version
    return {"model_version": rc.model_version_json(version)}


def delete_model_version(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.DeleteModelVersionRequest(name=name, version=rc.version_of(body))
    registry.call("DeleteModelVersion", request)
    return {}


def search_model_versions(registry: RegistryCalls, body: Body) -> c.Json:
    request = pb.SearchModelVersionsRequest(
        filter=c.optional_str(body, "filter"),
        max_results=c.optional_int(body, "max_results", bits=32) or SEARCH_MODEL_VERSIONS_DEFAULT,
        order_by=c.string_list(body, "order_by"),
        page_token=c.optional_str(body, "page_token"),
    )
    response = registry.call("SearchModelVersions", request)
    versions = [rc.model_version_json(version) for version in response.model_versions]
    return c.page_json("model_versions", versions, response.next_page_token)


def set_model_version_tag(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.SetModelVersionTagRequest(
        name=name,
        version=rc.version_of(body),
        key=c.required_str(body, "key"),
        value=c.optional_str(body, "value"),
    )
    registry.call("SetModelVersionTag", request)
    return {}


def delete_model_version_tag(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.DeleteModelVersionTagRequest(
        name=name, version=rc.version_of(body), key=c.required_str(body, "key")
    )
    _delete_unless_unset(registry, "DeleteModelVersionTag", request, unset_field="key")
    return {}


def transition_model_version_stage(registry: RegistryCalls, body: Body) -> c.Json:
    name = c.required_str(body, "name")
    request = pb.TransitionModelVersionStageRequest(
        name=name,
        version=rc.version_of(body),
        stage=c.required_str(body, "stage"),
        archive_existing_versions=rc.optional_bool(body, "archive_existing_versions"),
    )
    version = registry.call("TransitionModelVersionStage", request).model_version
    return {"model_version": rc.model_version_json(version)}


def get_model_version_download_uri(registry: RegistryCalls, body: Body) -> c.Json:
    """The proxied URI of the run's files for a `runs:/` source (what MLflow's client can read
    through the gateway); the stored location otherwise."""
    name = c.required_str(body, "name")
    request = pb.GetModelVersionRequest(name=name, version=rc.version_of(body))
    version = registry.call("GetModelVersion", request).model_version
    run_path = _run_path(version.source)
    if run_path is not None:
        run_id, path = run_path
        run = registry.tracking.call("GetRun", tracking_pb.GetRunRequest(run_id=run_id)).run
        root = c.proxied_artifact_uri(run.info.experiment_id, run_id)
        return {"artifact_uri": f"{root}/{path}" if path else root}
    download = pb.GetModelVersionDownloadUriRequest(name=name, version=version.version)
    return {"artifact_uri": registry.call("GetModelVersionDownloadUri", download).artifact_uri}


# --- helpers ---------------------------------------------------------------------------------


def _delete_unless_unset(
    registry: RegistryCalls, method: str, request: Any, *, unset_field: str
) -> None:
    """MLflow's server answers the deletion of a tag or alias that is not set with success; our
    contract says NOT_FOUND naming that field (a missing model or version still fails)."""
    try:
        registry.call(method, request)
    except NotFoundError as error:
        if error.field != unset_field:
            raise


def _source_for_registry(registry: RegistryCalls, source: str) -> str:
    """MLflow's client registers a run's model by its proxied location
    (`mlflow-artifacts:/<experiment>/<run>/artifacts/<path>`, the runs' roots the gateway shows);
    the registry knows runs' files as `runs:/<run>/<path>`. Other sources pass unchanged."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme != "mlflow-artifacts":
        return source
    artifact = artifact_proxy.resolve(registry.tracking, parsed.path)
    return f"runs:/{artifact.run_id}/{artifact.path}"


#: The clause MLflow 3's client appends to every search_registered_models filter, so that
#: prompts (models tagged as such) stay out of the answer.
_PROMPT_EXCLUSION = "tag.`mlflow.prompt.is_prompt` != 'true'"


def _prompt_exclusion(filter_string: str) -> tuple[str, bool]:
    """`filter_string` without MLflow's prompt-exclusion clause, and whether it had it. MLflow's
    server reads that clause as "no such tag, or another value"; in our registry's grammar a tag
    comparison needs the tag, so the gateway drops prompts from the answer itself."""
    if filter_string == _PROMPT_EXCLUSION:
        return "", True
    head, separator, tail = filter_string.rpartition(" AND ")
    if separator and tail == _PROMPT_EXCLUSION:
        return head, True
    return filter_string, False


def _is_prompt(tags: Any) -> bool:
    return any(tag.key == "mlflow.prompt.is_prompt" and tag.value == "true" for tag in tags)


def _run_path(source: str) -> tuple[str, str] | None:
    """(run id, path in the run) of a `runs:/<run>/<path>` source."""
    if not source.startswith("runs:/"):
        return None
    run_id, _, path = source.removeprefix("runs:/").strip("/").partition("/")
    return (run_id, path) if run_id else None


#: (method, path under /api/2.0/mlflow/) → handler, as MLflow's model_registry.proto routes them.
ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "registered-models/create"): create_registered_model,
    ("GET", "registered-models/get"): get_registered_model,
    ("POST", "registered-models/rename"): rename_registered_model,
    ("PATCH", "registered-models/update"): update_registered_model,
    ("DELETE", "registered-models/delete"): delete_registered_model,
    ("GET", "registered-models/search"): search_registered_models,
    ("GET", "registered-models/get-latest-versions"): get_latest_versions,
    ("POST", "registered-models/get-latest-versions"): get_latest_versions,
    ("POST", "registered-models/set-tag"): set_registered_model_tag,
    ("DELETE", "registered-models/delete-tag"): delete_registered_model_tag,
    ("POST", "registered-models/alias"): set_registered_model_alias,
    ("DELETE", "registered-models/alias"): delete_registered_model_alias,
    ("GET", "registered-models/alias"): get_model_version_by_alias,
    ("POST", "model-versions/create"): create_model_version,
    ("GET", "model-versions/get"): get_model_version,
    ("PATCH", "model-versions/update"): update_model_version,
    ("DELETE", "model-versions/delete"): delete_model_version,
    ("GET", "model-versions/search"): search_model_versions,
    ("POST", "model-versions/set-tag"): set_model_version_tag,
    ("DELETE", "model-versions/delete-tag"): delete_model_version_tag,
    ("POST", "model-versions/transition-stage"): transition_model_version_stage,
    ("GET", "model-versions/get-download-uri"): get_model_version_download_uri,
}
