"""The registry endpoints over HTTP, as MLflow's server shapes them (JSON field names, string
version numbers, which empty fields are written) and its error codes and statuses, against the
real tracking and registry services."""

from __future__ import annotations

import uuid

import pytest
from gateway_helpers import Answer, Gateway, serve_gateway


def _name() -> str:
    return f"wine-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def run(registry_gateway: Gateway) -> dict:
    experiment = registry_gateway.post("experiments/create", {"name": _name()}).body
    answer = registry_gateway.post("runs/create", {"experiment_id": experiment["experiment_id"]})
    return answer.body["run"]["info"]


def _model_with_version(gateway: Gateway, run: dict) -> str:
    name = _name()
    assert gateway.post("registered-models/create", {"name": name}).status == 200
    source = f"{run['artifact_uri']}/model"
    answer = gateway.post(
        "model-versions/create", {"name": name, "source": source, "run_id": run["run_id"]}
    )
    assert answer.status == 200, answer
    return name


def _assert_error(answer: Answer, status: int, code: str, field: str | None = None) -> None:
    assert answer.status == status, answer
    assert answer.body["error_code"] == code
    if field is not None:
        assert field in answer.body["message"]


def test_create_registered_model_answers_mlflows_shape(registry_gateway: Gateway) -> None:
    name = _name()
    answer = registry_gateway.post(
        "registered-models/create",
        {"name": name, "description": "d", "tags": [{"key": "a", "value": "b"}]},
    )
    assert answer.status == 200
    model = answer.body["registered_model"]
    assert set(model) == {
        "name",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
        "tags",
    }
    assert (model["name"], model["description"], model["tags"]) == (
        name,
        "d",
        [{"key": "a", "value": "b"}],
    )


def test_a_registered_model_twice_is_resource_already_exists_400(
    registry_gateway: Gateway,
) -> None:
    name = _name()
    registry_gateway.post("registered-models/create", {"name": name})
    answer = registry_gateway.post("registered-models/create", {"name": name})
    _assert_error(answer, 400, "RESOURCE_ALREADY_EXISTS")


def test_missing_name_is_invalid_parameter_value_naming_it(registry_gateway: Gateway) -> None:
    answer = registry_gateway.post("registered-models/create", {})
    _assert_error(answer, 400, "INVALID_PARAMETER_VALUE", "'name'")


def test_unknown_registered_model_is_404(registry_gateway: Gateway) -> None:
    answer = registry_gateway.get("registered-models/get", name=_name())
    _assert_error(answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_version_from_a_proxied_run_uri_is_stored_by_run(
    registry_gateway: Gateway, run: dict
) -> None:
    name = _model_with_version(registry_gateway, run)
    version = registry_gateway.get("model-versions/get", name=name, version="1").body
    version = version["model_version"]
    assert version["version"] == "1"
    assert version["source"] == f"runs:/{run['run_id']}/model"
    assert version["run_id"] == run["run_id"]
    assert (version["status"], version["current_stage"]) == ("READY", "None")
    assert (version["description"], version["run_link"]) == ("", "")
    assert "tags" not in version and "aliases" not in version


def test_download_uri_is_the_proxied_run_location(registry_gateway: Gateway, run: dict) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.get("model-versions/get-download-uri", name=name, version="1")
    assert answer.body == {"artifact_uri": f"{run['artifact_uri']}/model"}


@pytest.mark.parametrize("version", ["abc", "1.5", "", "9" * 30])
def test_a_version_that_is_no_number_is_400_naming_it(
    registry_gateway: Gateway, run: dict, version: str
) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.get("model-versions/get", name=name, version=version)
    _assert_error(answer, 400, "INVALID_PARAMETER_VALUE", "version")


@pytest.mark.parametrize("version", ["0", "-1", "99"])
def test_a_version_that_does_not_exist_is_404(
    registry_gateway: Gateway, run: dict, version: str
) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.get("model-versions/get", name=name, version=version)
    _assert_error(answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_alias_round_trip_and_registered_model_shape(registry_gateway: Gateway, run: dict) -> None:
    name = _model_with_version(registry_gateway, run)
    body = {"name": name, "alias": "champion", "version": "1"}
    assert registry_gateway.post("registered-models/alias", body).body == {}
    by_alias = registry_gateway.get("registered-models/alias", name=name, alias="champion")
    assert by_alias.body["model_version"]["aliases"] == ["champion"]
    model = registry_gateway.get("registered-models/get", name=name).body["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    assert [v["version"] for v in model["latest_versions"]] == ["1"]
    deleted = registry_gateway.call(
        "DELETE", "/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": "champion"}
    )
    assert deleted.status == 200


def test_an_unset_alias_is_400_as_mlflow_answers(registry_gateway: Gateway, run: dict) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.get("registered-models/alias", name=name, alias="nobody")
    _assert_error(answer, 400, "INVALID_PARAMETER_VALUE", "nobody")


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("registered-models/alias", {"alias": "nobody"}),
        ("registered-models/delete-tag", {"key": "nothing"}),
        ("model-versions/delete-tag", {"version": "1", "key": "nothing"}),
    ],
)
def test_deleting_what_is_not_set_succeeds_as_in_mlflow(
    registry_gateway: Gateway, run: dict, path: str, extra: dict
) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.call("DELETE", "/api/2.0/mlflow/" + path, {"name": name, **extra})
    assert (answer.status, answer.body) == (200, {})


def test_deleting_a_tag_of_a_missing_model_is_still_404(registry_gateway: Gateway) -> None:
    answer = registry_gateway.call(
        "DELETE", "/api/2.0/mlflow/registered-models/delete-tag", {"name": _name(), "key": "k"}
    )
    _assert_error(answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_transition_stage_and_latest_versions(registry_gateway: Gateway, run: dict) -> None:
    name = _model_with_version(registry_gateway, run)
    answer = registry_gateway.post(
        "model-versions/transition-stage",
        {"name": name, "version": "1", "stage": "production", "archive_existing_versions": True},
    )
    assert answer.body["model_version"]["current_stage"] == "Production"
    latest = registry_gateway.post(
        "registered-models/get-latest-versions", {"name": name, "stages": ["Production"]}
    )
    assert [v["version"] for v in latest.body["model_versions"]] == ["1"]
    bogus = registry_gateway.post(
        "model-versions/transition-stage", {"name": name, "version": "1", "stage": "bogus"}
    )
    _assert_error(bogus, 400, "INVALID_PARAMETER_VALUE", "stage")


def test_search_pages_with_tokens(registry_gateway: Gateway) -> None:
    prefix = _name()
    for index in range(3):
        registry_gateway.post("registered-models/create", {"name": f"{prefix}-{index}"})
    seen, token = [], None
    while True:
        query = {"filter": f"name LIKE '{prefix}-%'", "max_results": "2"}
        answer = registry_gateway.get(
            "registered-models/search", **query, **({"page_token": token} if token else {})
        )
        assert answer.status == 200, answer
        seen += [model["name"] for model in answer.body["registered_models"]]
        token = answer.body.get("next_page_token")
        if not token:
            break
    assert seen == [f"{prefix}-{index}" for index in range(3)]


def test_update_rename_and_delete(registry_gateway: Gateway, run: dict) -> None:
    name = _model_with_version(registry_gateway, run)
    updated = registry_gateway.call(
        "PATCH",
        "/api/2.0/mlflow/model-versions/update",
        {"name": name, "version": "1", "description": "v1"},
    )
    assert updated.body["model_version"]["description"] == "v1"
    renamed = registry_gateway.post(
        "registered-models/rename", {"name": name, "new_name": name + "-x"}
    )
    assert renamed.body["registered_model"]["name"] == name + "-x"
    deleted = registry_gateway.call(
        "DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": name + "-x"}
    )
    assert deleted.status == 200
    answer = registry_gateway.get("registered-models/get", name=name + "-x")
    _assert_error(answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_replicas_share_nothing_a_page_token_of_one_serves_at_another(
    tracking_server: str, registry_server: str, registry_gateway: Gateway
) -> None:
    """Stateless: two gateways before the same services, one request to each, as a load
    balancer would send them."""
    prefix = _name()
    for index in range(3):
        registry_gateway.post("registered-models/create", {"name": f"{prefix}-{index}"})
    query = {"filter": f"name LIKE '{prefix}-%'", "max_results": "2"}
    first = registry_gateway.get("registered-models/search", **query).body
    with serve_gateway(tracking_server, registry_server) as other_url:
        second = Gateway(other_url).get(
            "registered-models/search", **query, page_token=first["next_page_token"]
        )
    assert [m["name"] for m in first["registered_models"]] == [f"{prefix}-0", f"{prefix}-1"]
    assert [m["name"] for m in second.body["registered_models"]] == [f"{prefix}-2"]
