"""LoggedModel, LogInputs and LogOutputs RPCs over a real channel (SQLite and MariaDB), their
artifacts by model_id, metrics linked by model_id; and bad input."""

from __future__ import annotations

import hashlib
import json

import grpc
import pytest
from refused_model_link import REFUSED_KEY, links_refused
from tracking_rpc_helpers import assert_fails

from mlgrpc import error_reasons as reasons
from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
MISSING_MODEL = "m-" + "0" * 32


@pytest.fixture
def model(stub, experiment_id, run_id) -> lm.LoggedModel:
    request = lm.CreateLoggedModelRequest(
        experiment_id=experiment_id,
        name="model",
        model_type="sklearn",
        source_run_id=run_id,
        params=[lm.LoggedModelParam(key="alpha", value="0.5")],
        tags=[lm.LoggedModelTag(key="team", value="ml")],
    )
    return stub.CreateLoggedModel(request).model


def test_create_then_get_answers_the_pending_model(stub, model, run_id) -> None:
    assert model.status == lm.LOGGED_MODEL_STATUS_PENDING
    assert model.model_id.startswith("m-") and model.source_run_id == run_id
    assert model.artifact_location.endswith(f"/models/{model.model_id}/artifacts")
    got = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model.model_id)).model
    assert got == model


def test_finalize_makes_it_ready(stub, model) -> None:
    request = lm.FinalizeLoggedModelRequest(
        model_id=model.model_id, status=lm.LOGGED_MODEL_STATUS_READY
    )
    assert stub.FinalizeLoggedModel(request).model.status == lm.LOGGED_MODEL_STATUS_READY


def test_tags_params_and_delete(stub, model) -> None:
    model_id = model.model_id
    stub.SetLoggedModelTags(
        lm.SetLoggedModelTagsRequest(
            model_id=model_id, tags=[lm.LoggedModelTag(key="k", value="v")]
        )
    )
    stub.DeleteLoggedModelTag(lm.DeleteLoggedModelTagRequest(model_id=model_id, tag_key="team"))
    stub.LogLoggedModelParams(
        lm.LogLoggedModelParamsRequest(
            model_id=model_id, params=[lm.LoggedModelParam(key="l1", value="0.1")]
        )
    )
    got = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model_id)).model
    assert {(t.key, t.value) for t in got.tags} == {("k", "v")}
    assert {(p.key, p.value) for p in got.params} == {("alpha", "0.5"), ("l1", "0.1")}
    stub.DeleteLoggedModel(lm.DeleteLoggedModelRequest(model_id=model_id))
    assert_fails(
        stub,
        lambda: stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model_id)),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "model_id",
    )
    kept = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model_id, allow_deleted=True))
    assert kept.model.model_id == model_id


def test_metrics_logged_with_model_id_are_linked_to_the_model(stub, model, run_id) -> None:
    stub.LogBatch(
        pb.LogBatchRequest(
            run_id=run_id,
            metrics=[
                pb.Metric(key="rmse", value=0.7, timestamp=5, step=1, model_id=model.model_id),
                pb.Metric(key="plain", value=1.0, timestamp=5),
            ],
        )
    )
    stub.LogMetric(
        pb.LogMetricRequest(
            run_id=run_id, key="r2", value=0.3, model_id=model.model_id, dataset_name="test"
        )
    )
    got = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model.model_id)).model
    assert {(m.key, m.value, m.run_id, m.dataset_name) for m in got.metrics} == {
        ("rmse", 0.7, run_id, ""),
        ("r2", 0.3, run_id, "test"),
    }
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    assert {m.key for m in run.data.metrics} == {"rmse", "plain", "r2"}


def test_search_finds_by_filter_and_orders(stub, experiment_id, model) -> None:
    other = stub.CreateLoggedModel(
        lm.CreateLoggedModelRequest(experiment_id=experiment_id, name="zeta")
    ).model
    response = stub.SearchLoggedModels(
        lm.SearchLoggedModelsRequest(
            experiment_ids=[experiment_id],
            order_by=[lm.LoggedModelOrderBy(field_name="name", ascending=True)],
        )
    )
    assert [m.model_id for m in response.models] == [model.model_id, other.model_id]
    filtered = stub.SearchLoggedModels(
        lm.SearchLoggedModelsRequest(experiment_ids=[experiment_id], filter="params.alpha = '0.5'")
    )
    assert [m.model_id for m in filtered.models] == [model.model_id]


def test_log_inputs_and_outputs_come_back_with_the_run(stub, model, run_id) -> None:
    dataset = lm.Dataset(
        name="wine", digest="abc", source_type="local", source='{"uri": "wine.csv"}'
    )
    stub.LogInputs(
        lm.LogInputsRequest(
            run_id=run_id,
            datasets=[
                lm.DatasetInput(
                    dataset=dataset,
                    tags=[lm.InputTag(key="mlflow.data.context", value="training")],
                )
            ],
        )
    )
    stub.LogOutputs(
        lm.LogOutputsRequest(run_id=run_id, models=[lm.ModelOutput(model_id=model.model_id)])
    )
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    assert [i.dataset for i in run.inputs.dataset_inputs] == [dataset]
    assert run.inputs.dataset_inputs[0].tags[0].value == "training"
    assert [o.model_id for o in run.outputs.model_outputs] == [model.model_id]
    found = stub.SearchRuns(
        pb.SearchRunsRequest(
            experiment_ids=[run.info.experiment_id], filter="datasets.name = 'wine'"
        )
    )
    assert [(r.inputs, r.outputs) for r in found.runs] == [(run.inputs, run.outputs)]


def test_artifacts_of_a_model_by_model_id(stub, model) -> None:
    data = b"model bytes"

    def messages():
        header = pb.UploadArtifactHeader(
            model_id=model.model_id, path="MLmodel", file_size=len(data)
        )
        yield pb.UploadArtifactRequest(header=header)
        yield pb.UploadArtifactRequest(chunk=data)

    stored = stub.UploadArtifact(messages())
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    listing = stub.ListArtifacts(pb.ListArtifactsRequest(model_id=model.model_id))
    assert listing.root_uri == model.artifact_location
    assert [f.path for f in listing.files] == ["MLmodel"]
    chunks = stub.DownloadArtifact(
        pb.DownloadArtifactRequest(model_id=model.model_id, path="MLmodel")
    )
    assert b"".join(m.chunk for m in chunks if m.WhichOneof("content") == "chunk") == data


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (lm.CreateLoggedModelRequest(), "experiment_id"),
        (lm.CreateLoggedModelRequest(experiment_id="abc"), "experiment_id"),
        (lm.CreateLoggedModelRequest(experiment_id="0", name="a\nb"), "name"),
        (
            lm.CreateLoggedModelRequest(
                experiment_id="0", params=[lm.LoggedModelParam(key="", value="x")]
            ),
            "params[0].key",
        ),
    ],
)
def test_bad_create_is_invalid_argument_naming_the_field(stub, request_, field) -> None:
    assert_fails(
        stub,
        lambda: stub.CreateLoggedModel(request_),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        field,
    )


def test_bad_ids_and_statuses(stub, model) -> None:
    assert_fails(
        stub,
        lambda: stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id="nope")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "model_id",
    )
    assert_fails(
        stub,
        lambda: stub.FinalizeLoggedModel(lm.FinalizeLoggedModelRequest(model_id=model.model_id)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "status",
    )
    assert_fails(
        stub,
        lambda: stub.FinalizeLoggedModel(
            lm.FinalizeLoggedModelRequest(
                model_id=MISSING_MODEL, status=lm.LOGGED_MODEL_STATUS_READY
            )
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "model_id",
    )
    assert_fails(
        stub,
        lambda: stub.SearchLoggedModels(lm.SearchLoggedModelsRequest(max_results=-1)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "max_results",
    )
    assert_fails(
        stub,
        lambda: stub.LogOutputs(
            lm.LogOutputsRequest(run_id="f" * 32, models=[lm.ModelOutput(model_id=model.model_id)])
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_metric_linked_to_a_missing_model_is_not_found_and_writes_nothing(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id,
                metrics=[
                    pb.Metric(key="ok", value=1.0, timestamp=1),
                    pb.Metric(key="x", value=1.0, timestamp=1, model_id=MISSING_MODEL),
                ],
            )
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "metrics.model_id",
    )
    assert_fails(
        stub,
        lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id,
                metrics=[
                    pb.Metric(key="ok", value=1.0, timestamp=1),
                    pb.Metric(key="x", value=1.0, timestamp=1, model_id="m-bad"),
                ],
            )
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "metrics[1].model_id",
    )
    assert not stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.metrics


def test_log_metric_linked_to_a_missing_model_is_not_found_and_writes_nothing(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.LogMetric(
            pb.LogMetricRequest(run_id=run_id, key="x", value=1.0, model_id=MISSING_MODEL)
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "metrics.model_id",
    )
    assert not stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.metrics


def test_a_link_the_database_refuses_leaves_none_of_the_call_written(
    stub, db_uri, model, run_id
) -> None:
    """The run's value and its link to the model are one transaction: a failure writing the
    link (here a trigger; in life a lost connection) leaves neither, whatever the call."""
    linked = pb.Metric(key="ok", value=1.0, timestamp=1, model_id=model.model_id)
    refused = pb.Metric(key=REFUSED_KEY, value=2.0, timestamp=1, model_id=model.model_id)
    calls = [
        lambda: stub.LogBatch(pb.LogBatchRequest(run_id=run_id, metrics=[linked, refused])),
        lambda: stub.LogMetric(
            pb.LogMetricRequest(run_id=run_id, key=REFUSED_KEY, value=2.0, model_id=model.model_id)
        ),
    ]
    with links_refused(db_uri):
        for call in calls:
            with pytest.raises(grpc.RpcError) as error:
                call()
            assert error.value.code() != grpc.StatusCode.OK
    assert not stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.metrics
    got = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model.model_id)).model
    assert not got.metrics


def test_log_model_appends_to_the_runs_history_tag(stub, run_id) -> None:
    for path in ("model", "other"):
        model_json = json.dumps({"artifact_path": path, "flavors": {}})
        stub.LogModel(pb.LogModelRequest(run_id=run_id, model_json=model_json))
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    history = next(t.value for t in run.data.tags if t.key == "mlflow.log-model.history")
    assert [entry["artifact_path"] for entry in json.loads(history)] == ["model", "other"]
    assert_fails(
        stub,
        lambda: stub.LogModel(pb.LogModelRequest(run_id=run_id, model_json="[]")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "model_json",
    )
    assert_fails(
        stub,
        lambda: stub.LogModel(pb.LogModelRequest(run_id="f" * 32, model_json="{}")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )
