"""MLflow's experiment endpoints through the gateway: JSON shapes and error bodies."""

from __future__ import annotations

import uuid

from gateway_helpers import Gateway


def _name() -> str:
    return f"exp-{uuid.uuid4().hex[:8]}"


def test_create_then_get_returns_mlflow_experiment_shape(gateway: Gateway) -> None:
    name = _name()
    created = gateway.post(
        "experiments/create", {"name": name, "tags": [{"key": "team", "value": "ml"}]}
    )
    assert created.status == 200
    experiment_id = created.body["experiment_id"]
    assert isinstance(experiment_id, str) and experiment_id.isdigit()

    got = gateway.get("experiments/get", experiment_id=experiment_id)
    assert got.status == 200
    experiment = got.body["experiment"]
    assert experiment["experiment_id"] == experiment_id
    assert experiment["name"] == name
    assert experiment["lifecycle_stage"] == "active"
    assert experiment["tags"] == [{"key": "team", "value": "ml"}]
    assert isinstance(experiment["creation_time"], int)
    assert isinstance(experiment["last_update_time"], int)
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"


def test_get_by_name_finds_the_experiment(gateway: Gateway) -> None:
    name = _name()
    experiment_id = gateway.post("experiments/create", {"name": name}).body["experiment_id"]
    got = gateway.get("experiments/get-by-name", experiment_name=name)
    assert got.status == 200
    assert got.body["experiment"]["experiment_id"] == experiment_id


def test_get_by_unknown_name_is_resource_does_not_exist_404(gateway: Gateway) -> None:
    got = gateway.get("experiments/get-by-name", experiment_name=_name())
    assert got.status == 404
    assert got.body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert got.body["message"]
    # MLflow 3.17's classification of the error code, as its server adds it
    assert (got.body["error_class"], got.body["sqlstate"]) == ("RESOURCE_NOT_FOUND", "KAM00")


def test_get_unknown_id_is_resource_does_not_exist_404(gateway: Gateway) -> None:
    got = gateway.get("experiments/get", experiment_id="987654321")
    assert (got.status, got.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_create_with_taken_name_is_resource_already_exists_400(gateway: Gateway) -> None:
    name = _name()
    gateway.post("experiments/create", {"name": name})
    again = gateway.post("experiments/create", {"name": name})
    assert (again.status, again.body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")


def test_create_without_name_is_invalid_parameter_value_with_mlflows_message(
    gateway: Gateway,
) -> None:
    answer = gateway.post("experiments/create", {})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert answer.body["message"].startswith("Missing value for required parameter 'name'.")


def test_update_renames_the_experiment(gateway: Gateway) -> None:
    experiment_id = gateway.post("experiments/create", {"name": _name()}).body["experiment_id"]
    new_name = _name()
    answer = gateway.post(
        "experiments/update", {"experiment_id": experiment_id, "new_name": new_name}
    )
    assert (answer.status, answer.body) == (200, {})
    got = gateway.get("experiments/get", experiment_id=experiment_id)
    assert got.body["experiment"]["name"] == new_name


def test_delete_and_restore_change_the_lifecycle_stage(gateway: Gateway) -> None:
    experiment_id = gateway.post("experiments/create", {"name": _name()}).body["experiment_id"]
    assert gateway.post("experiments/delete", {"experiment_id": experiment_id}).body == {}
    stage = gateway.get("experiments/get", experiment_id=experiment_id).body["experiment"]
    assert stage["lifecycle_stage"] == "deleted"
    assert gateway.post("experiments/restore", {"experiment_id": experiment_id}).body == {}
    stage = gateway.get("experiments/get", experiment_id=experiment_id).body["experiment"]
    assert stage["lifecycle_stage"] == "active"


def test_set_experiment_tag_is_returned_with_the_experiment(gateway: Gateway) -> None:
    experiment_id = gateway.post("experiments/create", {"name": _name()}).body["experiment_id"]
    answer = gateway.post(
        "experiments/set-experiment-tag",
        {"experiment_id": experiment_id, "key": "stage", "value": "dev"},
    )
    assert (answer.status, answer.body) == (200, {})
    tags = gateway.get("experiments/get", experiment_id=experiment_id).body["experiment"]["tags"]
    assert {"key": "stage", "value": "dev"} in tags


def test_search_pages_with_post_and_get(gateway: Gateway) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    for index in range(3):
        gateway.post("experiments/create", {"name": f"{prefix}-{index}"})
    query = {"filter": f"name LIKE '{prefix}%'", "max_results": 2, "order_by": ["name ASC"]}
    first = gateway.post("experiments/search", query)
    assert first.status == 200
    assert [e["name"] for e in first.body["experiments"]] == [f"{prefix}-0", f"{prefix}-1"]
    token = first.body["next_page_token"]
    second = gateway.get("experiments/search", **query, page_token=token)
    assert second.status == 200
    assert [e["name"] for e in second.body["experiments"]] == [f"{prefix}-2"]
    assert "next_page_token" not in second.body


def test_search_with_nothing_found_is_an_empty_object(gateway: Gateway) -> None:
    answer = gateway.post("experiments/search", {"filter": f"name = '{_name()}'"})
    assert (answer.status, answer.body) == (200, {})


def test_search_deleted_only_view_type(gateway: Gateway) -> None:
    name = _name()
    experiment_id = gateway.post("experiments/create", {"name": name}).body["experiment_id"]
    gateway.post("experiments/delete", {"experiment_id": experiment_id})
    query = {"filter": f"name = '{name}'"}
    assert gateway.post("experiments/search", query).body == {}
    deleted = gateway.post("experiments/search", {**query, "view_type": "DELETED_ONLY"})
    assert [e["experiment_id"] for e in deleted.body["experiments"]] == [experiment_id]


def test_search_with_bad_view_type_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.post("experiments/search", {"view_type": "SOME"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_search_with_bad_filter_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.post("experiments/search", {"filter": "name ==== 'x' OR"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
