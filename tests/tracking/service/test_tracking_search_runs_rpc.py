"""SearchRuns over a real channel: filter, order, paging, view types; and bad input."""

from __future__ import annotations

import grpc
import pytest
from tracking_rpc_helpers import assert_fails

from mlgrpc import error_reasons as reasons
from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def five_runs(stub, experiment_id) -> tuple[str, list[str]]:
    run_ids = []
    for i in range(5):
        run_id = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
        stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id,
                metrics=[pb.Metric(key="rmse", value=i / 10, timestamp=1)],
                params=[pb.Param(key="alpha", value="0.1" if i % 2 else "0.5")],
                tags=[pb.RunTag(key="team", value="ml")],
            )
        )
        run_ids.append(run_id)
    return experiment_id, run_ids


def test_search_runs_filters_and_orders(stub, five_runs) -> None:
    experiment_id, run_ids = five_runs
    response = stub.SearchRuns(
        pb.SearchRunsRequest(
            experiment_ids=[experiment_id],
            filter="metrics.rmse < 0.35 and params.alpha = '0.1'",
            order_by=["metrics.rmse DESC"],
        )
    )
    assert [r.info.run_id for r in response.runs] == [run_ids[3], run_ids[1]]
    assert response.runs[0].data.params[0].value == "0.1"


def test_search_runs_pages_through_everything(stub, five_runs) -> None:
    experiment_id, run_ids = five_runs
    request = pb.SearchRunsRequest(
        experiment_ids=[experiment_id], order_by=["metrics.rmse ASC"], max_results=2
    )
    seen = []
    while True:
        response = stub.SearchRuns(request)
        seen += [r.info.run_id for r in response.runs]
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    assert seen == run_ids


def test_search_runs_view_types(stub, five_runs) -> None:
    experiment_id, run_ids = five_runs
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_ids[0]))

    def ids(view_type: int) -> set[str]:
        request = pb.SearchRunsRequest(experiment_ids=[experiment_id], run_view_type=view_type)
        return {r.info.run_id for r in stub.SearchRuns(request).runs}

    assert ids(common_pb2.VIEW_TYPE_UNSPECIFIED) == set(run_ids[1:])
    assert ids(common_pb2.VIEW_TYPE_DELETED_ONLY) == {run_ids[0]}
    assert ids(common_pb2.VIEW_TYPE_ALL) == set(run_ids)


# Bad input


@pytest.mark.parametrize(
    "bad_filter",
    ["metrics.rmse <", "metrics.rmse < 'abc'", "nonsense.x = 1", "params.alpha = 0.1 OR x", "(("],
)
def test_search_runs_with_malformed_filter_is_invalid(stub, experiment_id, bad_filter) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(experiment_ids=[experiment_id], filter=bad_filter)
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "filter",
    )


def test_search_runs_with_malformed_order_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(experiment_ids=[experiment_id], order_by=["metrics.rmse SIDEWAYS"])
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "order_by[0]",
    )


@pytest.mark.parametrize("max_results", [-1, 50_001])
def test_search_runs_with_bad_page_size_is_invalid(stub, experiment_id, max_results) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=max_results)
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "max_results",
    )


def test_search_runs_with_unknown_view_type_is_invalid(stub, experiment_id) -> None:
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(experiment_ids=[experiment_id], run_view_type=9)
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "run_view_type",
    )


def test_search_runs_with_token_of_another_query_is_invalid(stub, five_runs) -> None:
    experiment_id, _ = five_runs
    first = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=1))
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(
                experiment_ids=[experiment_id],
                filter="metrics.rmse > 0",
                max_results=1,
                page_token=first.next_page_token,
            )
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "page_token",
    )


def test_search_runs_without_experiments_searches_every_active_one(stub, five_runs) -> None:
    # As MLflow: no experiment ids means all visible experiments.
    experiment_id, run_ids = five_runs
    other = stub.CreateExperiment(pb.CreateExperimentRequest(name=f"other-{run_ids[0]}"))
    elsewhere = stub.CreateRun(pb.CreateRunRequest(experiment_id=other.experiment_id))
    response = stub.SearchRuns(pb.SearchRunsRequest(filter="params.alpha = '0.5'"))
    found = {run.info.run_id for run in response.runs}
    assert {run_ids[0], run_ids[2], run_ids[4]} <= found
    assert elsewhere.run.info.run_id not in found
    everything = stub.SearchRuns(pb.SearchRunsRequest(max_results=50_000))
    assert elsewhere.run.info.run_id in {run.info.run_id for run in everything.runs}
