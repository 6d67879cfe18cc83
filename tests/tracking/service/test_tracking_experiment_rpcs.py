"""Experiment RPCs over a real channel: happy paths and every kind of bad input."""

from __future__ import annotations

import uuid

import grpc
import pytest
from tracking_rpc_helpers import assert_fails

from mlgrpc import error_reasons as reasons
from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def _name() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


def test_create_then_get_experiment(stub) -> None:
    name = _name()
    created = stub.CreateExperiment(
        pb.CreateExperimentRequest(name=name, tags=[pb.ExperimentTag(key="team", value="ml")])
    )
    got = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=created.experiment_id))
    experiment = got.experiment
    assert (experiment.experiment_id, experiment.name) == (created.experiment_id, name)
    assert experiment.lifecycle_stage == "active"
    assert experiment.creation_time > 0 and experiment.artifact_location
    assert {t.key: t.value for t in experiment.tags} == {"team": "ml"}


def test_get_experiment_by_name(stub, experiment_id) -> None:
    name = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id)).experiment.name
    got = stub.GetExperimentByName(pb.GetExperimentByNameRequest(experiment_name=name))
    assert got.experiment.experiment_id == experiment_id


def test_default_experiment_exists(stub) -> None:
    got = stub.GetExperiment(pb.GetExperimentRequest(experiment_id="0"))
    assert got.experiment.name == "Default"


def test_search_experiments_filters_and_pages(stub) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    for i in range(3):
        stub.CreateExperiment(pb.CreateExperimentRequest(name=f"{prefix}-{i}"))
    request = pb.SearchExperimentsRequest(filter=f"name LIKE '{prefix}%'", max_results=2)
    first = stub.SearchExperiments(request)
    assert len(first.experiments) == 2 and first.next_page_token
    request.page_token = first.next_page_token
    second = stub.SearchExperiments(request)
    assert len(second.experiments) == 1 and not second.next_page_token
    names = {e.name for e in [*first.experiments, *second.experiments]}
    assert names == {f"{prefix}-{i}" for i in range(3)}


def test_update_experiment_renames_it(stub, experiment_id) -> None:
    new_name = _name()
    stub.UpdateExperiment(
        pb.UpdateExperimentRequest(experiment_id=experiment_id, new_name=new_name)
    )
    got = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id))
    assert got.experiment.name == new_name


def test_delete_and_restore_experiment(stub, experiment_id) -> None:
    stub.DeleteExperiment(pb.DeleteExperimentRequest(experiment_id=experiment_id))
    got = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id))
    assert got.experiment.lifecycle_stage == "deleted"
    deleted = stub.SearchExperiments(
        pb.SearchExperimentsRequest(view_type=common_pb2.VIEW_TYPE_DELETED_ONLY)
    )
    assert experiment_id in {e.experiment_id for e in deleted.experiments}
    stub.RestoreExperiment(pb.RestoreExperimentRequest(experiment_id=experiment_id))
    got = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id))
    assert got.experiment.lifecycle_stage == "active"


def test_set_and_delete_experiment_tag(stub, experiment_id) -> None:
    stub.SetExperimentTag(
        pb.SetExperimentTagRequest(experiment_id=experiment_id, key="k", value="v1")
    )
    stub.SetExperimentTag(
        pb.SetExperimentTagRequest(experiment_id=experiment_id, key="k", value="v2")
    )
    tags = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id)).experiment.tags
    assert {t.key: t.value for t in tags} == {"k": "v2"}
    stub.DeleteExperimentTag(pb.DeleteExperimentTagRequest(experiment_id=experiment_id, key="k"))
    tags = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id)).experiment.tags
    assert list(tags) == []


# Bad input


def test_create_experiment_with_empty_name_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateExperiment(pb.CreateExperimentRequest(name="")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "name",
    )


def test_create_experiment_with_overlong_name_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateExperiment(pb.CreateExperimentRequest(name="x" * 501)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "name",
    )


def test_create_experiment_with_taken_name_is_already_exists(stub, experiment_id) -> None:
    name = stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id)).experiment.name
    assert_fails(
        stub,
        lambda: stub.CreateExperiment(pb.CreateExperimentRequest(name=name)),
        grpc.StatusCode.ALREADY_EXISTS,
        reasons.RESOURCE_ALREADY_EXISTS,
    )


@pytest.mark.parametrize("bad_id", ["999999999", "abc", ""])
def test_get_experiment_with_unknown_or_malformed_id_fails(stub, bad_id) -> None:
    failure = assert_fails(
        stub,
        lambda: stub.GetExperiment(pb.GetExperimentRequest(experiment_id=bad_id)),
        NOT_FOUND if bad_id == "999999999" else INVALID,
        reasons.RESOURCE_DOES_NOT_EXIST
        if bad_id == "999999999"
        else reasons.INVALID_PARAMETER_VALUE,
    )
    assert failure.message


def test_get_experiment_by_unknown_name_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.GetExperimentByName(pb.GetExperimentByNameRequest(experiment_name=_name())),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_search_experiments_with_malformed_filter_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchExperiments(pb.SearchExperimentsRequest(filter="name === 'x' AND (")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "filter",
    )


@pytest.mark.parametrize("max_results", [-1, 50_001])
def test_search_experiments_with_bad_page_size_is_invalid(stub, max_results) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchExperiments(pb.SearchExperimentsRequest(max_results=max_results)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "max_results",
    )


def test_search_experiments_with_unknown_view_type_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchExperiments(pb.SearchExperimentsRequest(view_type=42)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "view_type",
    )


def test_search_experiments_with_foreign_page_token_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchExperiments(pb.SearchExperimentsRequest(page_token="not-a-token")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "page_token",
    )


def test_update_unknown_experiment_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.UpdateExperiment(
            pb.UpdateExperimentRequest(experiment_id="999999999", new_name=_name())
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_update_experiment_to_empty_name_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.UpdateExperiment(
            pb.UpdateExperimentRequest(experiment_id=experiment_id, new_name="")
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )


def test_delete_unknown_experiment_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.DeleteExperiment(pb.DeleteExperimentRequest(experiment_id="999999999")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_restore_unknown_experiment_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.RestoreExperiment(pb.RestoreExperimentRequest(experiment_id="999999999")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_set_experiment_tag_with_overlong_value_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.SetExperimentTag(
            pb.SetExperimentTagRequest(experiment_id=experiment_id, key="k", value="v" * 20_001)
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "tag['k'].value",
    )


def test_set_experiment_tag_with_empty_key_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.SetExperimentTag(
            pb.SetExperimentTagRequest(experiment_id=experiment_id, key="", value="v")
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "tag.key",
    )


def test_delete_missing_experiment_tag_is_not_found(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.DeleteExperimentTag(
            pb.DeleteExperimentTagRequest(experiment_id=experiment_id, key="never-set")
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )
