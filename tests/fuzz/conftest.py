"""Fixtures of the fuzz suite: real servers, and pools of real ids for the generated requests.

Tracking and registry run on `db_uri` (SQLite and MariaDB); scoring serves a small sklearn
LinearRegression with a signature of two double columns and one long column.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

from .rpc_fuzzing import CASES, CHANNEL_OPTIONS

SCORING_MODEL_NAME = "fz"
SCORING_COLUMNS = ["a", "b", "n"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CASES:
        terminalreporter.section("fuzz cases run")
        for service, count in sorted(CASES.items()):
            terminalreporter.write_line(f"{service}: {count}")
        terminalreporter.write_line(f"total: {sum(CASES.values())}")


@pytest.fixture(scope="module")
def inside_tmp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Relative artifact locations a fuzzed CreateExperiment may give land in a temp dir."""
    here = os.getcwd()
    workdir = tmp_path_factory.mktemp("fuzz-cwd")
    os.chdir(workdir)
    yield workdir
    os.chdir(here)


@pytest.fixture(scope="module")
def tracking_channel(tracking_server: str, inside_tmp_dir: Path) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(tracking_server, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


@pytest.fixture(scope="module")
def registry_channel(registry_server: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(registry_server, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


def _upload(stub: tpb_grpc.TrackingServiceStub, run_id: str, path: str, data: bytes) -> None:
    header = tpb.UploadArtifactHeader(
        run_id=run_id, path=path, file_size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    stub.UploadArtifact(
        iter([tpb.UploadArtifactRequest(header=header), tpb.UploadArtifactRequest(chunk=data)])
    )


@pytest.fixture(scope="module")
def real_ids(tracking_channel: grpc.Channel, registry_channel: grpc.Channel) -> dict[str, list]:
    """Experiments, runs (with metrics, params, tags, artifacts), a registered model with a
    version and an alias; returned as pools by request field name."""
    tracking = tpb_grpc.TrackingServiceStub(tracking_channel)
    registry = rpb_grpc.ModelRegistryServiceStub(registry_channel)
    experiment_id = tracking.CreateExperiment(
        tpb.CreateExperimentRequest(name="fuzz-exp", tags=[tpb.ExperimentTag(key="t", value="x")])
    ).experiment_id
    run_ids = []
    for i in range(2):
        run = tracking.CreateRun(
            tpb.CreateRunRequest(experiment_id=experiment_id, run_name=f"fuzz-run-{i}")
        ).run
        run_ids.append(run.info.run_id)
        tracking.LogBatch(
            tpb.LogBatchRequest(
                run_id=run.info.run_id,
                metrics=[
                    tpb.Metric(key="loss", value=1 / (s + 1), timestamp=s, step=s) for s in range(3)
                ],
                params=[tpb.Param(key="alpha", value="0.5")],
                tags=[tpb.RunTag(key="t", value="x")],
            )
        )
        _upload(tracking, run.info.run_id, "model/MLmodel", b"flavors: {}\n")
        _upload(tracking, run.info.run_id, "dir/file.txt", b"hello")
    registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name="fuzz-model"))
    registry.CreateModelVersion(
        rpb.CreateModelVersionRequest(
            name="fuzz-model", source=f"runs:/{run_ids[0]}/model", run_id=run_ids[0]
        )
    )
    registry.SetRegisteredModelAlias(
        rpb.SetRegisteredModelAliasRequest(name="fuzz-model", alias="champion", version=1)
    )
    run_page = tracking.SearchRuns(
        tpb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=1)
    )
    model_page = registry.SearchRegisteredModels(rpb.SearchRegisteredModelsRequest(max_results=1))
    names = ["fuzz-exp", "fuzz-model", "Default"]
    return {
        "experiment_id": [experiment_id, "0"],
        "experiment_ids": [experiment_id, "0"],
        "experiment_name": names,
        "name": names,
        "new_name": names,
        "run_id": run_ids,
        "parent_run_id": run_ids,
        "key": ["loss", "alpha", "t", "mlflow.runName"],
        "metric_key": ["loss"],
        "path": ["", "dir", "dir/file.txt", "model", "model/MLmodel"],
        "alias": ["champion"],
        "version": [1, 2],
        "source": [f"runs:/{run_ids[0]}/model", f"runs:/{run_ids[1]}/model"],
        "model_uri": ["models:/fuzz-model/1", "models:/fuzz-model@champion"],
        "page_token": [run_page.next_page_token, model_page.next_page_token],
        "stage": ["Production", "Staging", "None", "Archived"],
        "stages": ["Production", "Staging", "None", "Archived"],
        "sha256": [hashlib.sha256(b"hello").hexdigest()],
    }


@pytest.fixture(scope="module")
def scoring_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mlgrpc import sklearn as mlgrpc_sklearn

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=50), "b": rng.normal(size=50), "n": rng.integers(0, 9, size=50)}
    )
    model = LinearRegression().fit(frame, frame["a"] * 2 + frame["n"])
    path = tmp_path_factory.mktemp("fuzz-models") / SCORING_MODEL_NAME
    mlgrpc_sklearn.save_model(model, path, input_example=frame.head(3))
    return path


@pytest.fixture(scope="module")
def scoring_server(
    scoring_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=(ModelSpec(str(scoring_model_dir), SCORING_MODEL_NAME),),
        port=0,
        max_request_rows=50_000,
        cache_dir=tmp_path_factory.mktemp("fuzz-model-cache"),
        model_control=True,  # LoadModel/UnloadModel are fuzzed past the "disabled" answer
    )
    server = create_server(config)
    yield server
    server.stop(grace=0)


@pytest.fixture(scope="module")
def scoring_channel(scoring_server: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(scoring_server.address, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


@pytest.fixture(scope="module")
def scoring_pools(scoring_model_dir: Path) -> dict[str, list]:
    return {
        "model_name": [SCORING_MODEL_NAME, ""],
        "name": [*SCORING_COLUMNS, SCORING_MODEL_NAME],
        "columns": SCORING_COLUMNS,
        "string_value": SCORING_COLUMNS,
        "key": SCORING_COLUMNS,
        "model_uri": [str(scoring_model_dir), f"file://{scoring_model_dir}", "models:/fz/1"],
        "datatype": ["FP64", "INT64", "FP32", "BYTES", "BOOL"],
        "model_version": ["", "1"],
    }
