"""Run RPCs over a real channel: create, get, update, delete, restore; and bad input."""

from __future__ import annotations

import grpc
import pytest
from tracking_rpc_helpers import assert_fails

from mlgrpc import error_reasons as reasons
from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
UNKNOWN_RUN = "0" * 32


def test_create_run_fills_mlflow_defaults(stub, experiment_id) -> None:
    run = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id, user_id="ana")).run
    info = run.info
    assert len(info.run_id) == 32 and info.experiment_id == experiment_id
    assert info.status == pb.RUN_STATUS_RUNNING
    assert info.run_name and info.user_id == "ana"
    assert info.start_time > 0 and not info.HasField("end_time")
    assert info.artifact_uri and info.lifecycle_stage == "active"


def test_create_run_without_experiment_goes_to_default(stub) -> None:
    run = stub.CreateRun(pb.CreateRunRequest()).run
    assert run.info.experiment_id == "0"


def test_create_run_keeps_given_fields(stub, experiment_id) -> None:
    parent = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
    run = stub.CreateRun(
        pb.CreateRunRequest(
            experiment_id=experiment_id,
            run_name="my-run",
            start_time=1_700_000_000_000,
            tags=[pb.RunTag(key="k", value="v")],
            parent_run_id=parent,
            status=pb.RUN_STATUS_SCHEDULED,
        )
    ).run
    assert run.info.run_name == "my-run" and run.info.start_time == 1_700_000_000_000
    assert run.info.status == pb.RUN_STATUS_SCHEDULED
    tags = {t.key: t.value for t in run.data.tags}
    assert tags["k"] == "v" and tags["mlflow.parentRunId"] == parent


def test_get_run_returns_params_latest_metrics_and_tags(stub, run_id) -> None:
    stub.LogBatch(
        pb.LogBatchRequest(
            run_id=run_id,
            metrics=[
                pb.Metric(key="loss", value=0.9, timestamp=1, step=0),
                pb.Metric(key="loss", value=0.5, timestamp=2, step=1),
            ],
            params=[pb.Param(key="alpha", value="0.1")],
            tags=[pb.RunTag(key="team", value="ml")],
        )
    )
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    assert [(m.key, m.value, m.step) for m in run.data.metrics] == [("loss", 0.5, 1)]
    assert {p.key: p.value for p in run.data.params} == {"alpha": "0.1"}
    assert {t.key: t.value for t in run.data.tags}["team"] == "ml"


def test_update_run_sets_status_end_time_and_name(stub, run_id) -> None:
    info = stub.UpdateRun(
        pb.UpdateRunRequest(
            run_id=run_id, status=pb.RUN_STATUS_FINISHED, end_time=1_800_000_000_000, run_name="n2"
        )
    ).run_info
    assert info.status == pb.RUN_STATUS_FINISHED and info.end_time == 1_800_000_000_000
    assert info.run_name == "n2"


def test_update_run_with_unspecified_status_keeps_it(stub, run_id) -> None:
    stub.UpdateRun(pb.UpdateRunRequest(run_id=run_id, status=pb.RUN_STATUS_FAILED))
    info = stub.UpdateRun(pb.UpdateRunRequest(run_id=run_id, run_name="renamed")).run_info
    assert info.status == pb.RUN_STATUS_FAILED and info.run_name == "renamed"


def test_delete_and_restore_run(stub, run_id) -> None:
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id))
    assert stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.info.lifecycle_stage == "deleted"
    stub.RestoreRun(pb.RestoreRunRequest(run_id=run_id))
    assert stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.info.lifecycle_stage == "active"


# Bad input


def test_create_run_in_unknown_experiment_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateRun(pb.CreateRunRequest(experiment_id="999999999")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_create_run_in_deleted_experiment_is_failed_precondition(stub, experiment_id) -> None:
    stub.DeleteExperiment(pb.DeleteExperimentRequest(experiment_id=experiment_id))
    assert_fails(
        stub,
        lambda: stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)),
        grpc.StatusCode.FAILED_PRECONDITION,
        reasons.INVALID_STATE,
    )


def test_create_run_with_unknown_status_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id, status=99)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "status",
    )


def test_create_run_with_overlong_tag_value_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateRun(
            pb.CreateRunRequest(
                experiment_id=experiment_id, tags=[pb.RunTag(key="k", value="v" * 8001)]
            )
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )


def test_create_run_with_params_answers_and_stores_them(stub, experiment_id) -> None:
    params = [pb.Param(key=f"p{i}", value=str(i)) for i in range(10)]
    tags = [pb.RunTag(key=f"t{i}", value="v") for i in range(5)]
    for _ in range(2):  # the first run reads the experiment; the second takes the one-trip path
        request = pb.CreateRunRequest(experiment_id=experiment_id, params=params, tags=tags)
        run = stub.CreateRun(request).run
        expected = {p.key: p.value for p in params}
        assert {p.key: p.value for p in run.data.params} == expected
        stored = stub.GetRun(pb.GetRunRequest(run_id=run.info.run_id)).run
        assert {p.key: p.value for p in stored.data.params} == expected
        assert {t.key for t in tags} <= {t.key for t in stored.data.tags}


def test_create_run_with_conflicting_params_is_invalid_and_creates_nothing(
    stub, experiment_id
) -> None:
    params = [pb.Param(key="alpha", value="0.1"), pb.Param(key="alpha", value="0.2")]
    assert_fails(
        stub,
        lambda: stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id, params=params)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        field="params[1].value",
    )
    search = pb.SearchRunsRequest(
        experiment_ids=[experiment_id], run_view_type=common_pb2.VIEW_TYPE_ALL
    )
    assert not stub.SearchRuns(search).runs


@pytest.mark.parametrize("bad_id", [UNKNOWN_RUN, "", "not-a-run-id"])
def test_get_run_with_unknown_id_fails(stub, bad_id) -> None:
    is_empty = bad_id == ""
    failure = assert_fails(
        stub,
        lambda: stub.GetRun(pb.GetRunRequest(run_id=bad_id)),
        INVALID if is_empty else NOT_FOUND,
        reasons.INVALID_PARAMETER_VALUE if is_empty else reasons.RESOURCE_DOES_NOT_EXIST,
    )
    assert failure.metadata.get("field") == "run_id"


def test_update_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.UpdateRun(pb.UpdateRunRequest(run_id=UNKNOWN_RUN, status=1)),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_update_run_with_unknown_status_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.UpdateRun(pb.UpdateRunRequest(run_id=run_id, status=-3)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "status",
    )


def test_delete_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.DeleteRun(pb.DeleteRunRequest(run_id=UNKNOWN_RUN)),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_restore_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.RestoreRun(pb.RestoreRunRequest(run_id=UNKNOWN_RUN)),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )
