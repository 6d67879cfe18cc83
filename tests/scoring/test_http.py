"""Scoring over HTTP beside gRPC: MLflow's /invocations (2.x/3.x shapes and the seed's 1.x curl,
verbatim) and the Open Inference Protocol's REST form, on a real uvicorn listener."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import SEED_COLUMNS, SEED_ROW, TRITON_REQUIREMENTS

TRITON_HTTP_SCRIPT = Path(__file__).with_name("triton_http_script.py")

SEED_CURL_BODY = (
    '{"columns":["alcohol", "chlorides", "citric acid", "density", "fixed acidity", '
    '"free sulfur dioxide", "pH", "residual sugar", "sulphates", "total sulfur dioxide", '
    '"volatile acidity"],"data":[[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]]}'
)
SEED = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))


@pytest.fixture(scope="module")
def http_server(wine_model_dir: Path) -> Iterator[Any]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir), "wine"),),
        port=0,
        http_port=0,
        http_max_body_bytes=1_000_000,
    )
    server = create_server(config)
    yield server
    server.stop(grace=0)


def call(
    server: Any,
    path: str,
    body: bytes | str | None = None,
    content_type: str | None = "application/json",
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(server.http_url + path, data=data, method=method)
    if content_type is not None and data is not None:
        request.add_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def call_json(server: Any, path: str, payload: Any = None, **kwargs: Any) -> tuple[int, Any]:
    body = None if payload is None else json.dumps(payload)
    status, _headers, content = call(server, path, body, **kwargs)
    return status, json.loads(content)


# MLflow's scoring protocol ---------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_seeds_curl_verbatim_answers_a_bare_list_equal_to_in_process(
    http_server: Any, expected_seed_prediction: float
) -> None:
    port = http_server.http.port
    result = subprocess.run(
        [
            "curl", "-s", "-X", "POST", "-H",
            "Content-Type:application/json; format=pandas-split",
            "--data", SEED_CURL_BODY, f"http://127.0.0.1:{port}/invocations",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout) == [expected_seed_prediction]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}},
        {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW], "index": [7]}},
        {"dataframe_records": [SEED]},
        {"instances": [SEED]},
        {"inputs": {name: [value] for name, value in SEED.items()}},
        {"inputs": [SEED], "params": {"ignored": 1}},
    ],
    ids=["split", "split-index", "records", "instances", "inputs-columns", "with-params"],
)
def test_every_mlflow_json_shape_answers_predictions(
    http_server: Any, expected_seed_prediction: float, payload: dict[str, Any]
) -> None:
    status, answer = call_json(http_server, "/invocations", payload)
    assert (status, answer) == (200, {"predictions": [expected_seed_prediction]})


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json; format=pandas-records", [SEED]),
        ("application/json; format=pandas-split", {"columns": SEED_COLUMNS, "data": [SEED_ROW]}),
        ("application/json", {"columns": SEED_COLUMNS, "data": [SEED_ROW]}),
        ("application/json; charset=UTF-8", [SEED]),
    ],
)
def test_mlflow_1x_bodies_answer_a_bare_list(
    http_server: Any, expected_seed_prediction: float, content_type: str, payload: Any
) -> None:
    status, answer = call_json(http_server, "/invocations", payload, content_type=content_type)
    assert (status, answer) == (200, [expected_seed_prediction])


def test_csv_body_is_matched_by_column_name(
    http_server: Any, expected_seed_prediction: float
) -> None:
    header = ",".join(f'"{c}"' for c in reversed(SEED_COLUMNS))
    row = ",".join(str(v) for v in reversed(SEED_ROW))
    status, _, content = call(http_server, "/invocations", f"{header}\n{row}\n", "text/csv")
    assert (status, json.loads(content)) == (200, {"predictions": [expected_seed_prediction]})


def test_ping_health_and_version(http_server: Any) -> None:
    assert call(http_server, "/ping")[0] == 200
    assert call(http_server, "/health")[0] == 200
    status, _, version = call(http_server, "/version")
    assert status == 200 and version


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (
            {"dataframe_split": {"columns": SEED_COLUMNS, "data": [["x", *SEED_ROW[1:]]]}},
            "application/json",
            400,
            ["alcohol", "row 0"],
        ),
        ({"dataframe_split": {"columns": ["alcohol"], "data": [[1.0]]}}, None, 400, ["missing"]),
        ({"dataframe_split": {"columns": SEED_COLUMNS, "data": [[None, *SEED_ROW[1:]]]}}, None,
         400, ["alcohol", "row 0"]),
        ({"dataframe_split": {"columns": SEED_COLUMNS, "data": [[[1, 2], *SEED_ROW[1:]]]}}, None,
         400, ["alcohol", "row 0"]),
        ({"instances": [SEED], "inputs": [SEED]}, None, 400, ["exactly one"]),
        ({"nothing": 1}, None, 400, ["exactly one"]),
        ([1, 2, 3], None, 400, ["instances"]),
        ({"instances": [SEED], "extra": 1}, None, 400, ["extra"]),
        ({"inputs": [SEED], "params": [1]}, None, 400, ["params"]),
        ("{not json", None, 400, ["JSON"]),
        ("[" * 100_000, None, 400, ["JSON"]),
        ("a,b\n1,2", "text/plain", 415, ["text/plain"]),
        ({"instances": [SEED]}, "application/json; format=tf-serving", 415, ["format"]),
        ({"instances": [SEED]}, "application/json; charset=latin-1", 415, ["charset"]),
        ({"instances": [SEED]}, "application/json; foo=bar", 415, ["foo"]),
        ('a,b\n"1,2\n', "text/csv", 400, ["CSV"]),
    ],
    ids=[
        "string-in-number", "missing-column", "null-cell", "list-cell", "two-inputs", "no-input",
        "bare-list", "unknown-key", "params-not-object", "bad-json", "deep-json", "text-plain",
        "unknown-format", "latin-1", "unknown-parameter", "bad-csv",
    ],
)  # fmt: skip
def test_mlflow_errors_are_mlflows_shape_with_a_4xx(
    http_server: Any, body: Any, content_type: str | None, status: int, words: list[str]
) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    got, headers, content = call(
        http_server, "/invocations", text, content_type or "application/json"
    )
    answer = json.loads(content)
    assert got == status, answer
    assert headers["content-type"] == "application/json"
    assert set(answer) == {"error_code", "message"}
    assert answer["error_code"] == "BAD_REQUEST"
    for word in words:
        assert word in answer["message"]
    assert "Traceback" not in answer["message"]


def test_a_body_over_the_limit_is_413(http_server: Any) -> None:
    rows = [SEED_ROW] * 20_000  # over the fixture's 1 MB
    body = json.dumps({"dataframe_split": {"columns": SEED_COLUMNS, "data": rows}})
    status, _, content = call(http_server, "/invocations", body)
    assert status == 413
    assert json.loads(content)["error_code"] == "RESOURCE_LIMIT_EXCEEDED"


def test_wrong_method_and_unknown_path(http_server: Any) -> None:
    status, _, content = call(http_server, "/invocations", method="GET")
    assert status == 405 and "POST" in json.loads(content)["message"]
    status, _, content = call(http_server, "/nope")
    assert status == 404 and json.loads(content)["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_missing_content_type_is_415(http_server: Any) -> None:
    status, _, _ = call(http_server, "/invocations", b"{}", content_type=None)
    assert status == 415


# Open Inference Protocol, REST -----------------------------------------------------------------


def _tensors(rows: int = 1) -> list[dict[str, Any]]:
    return [
        {"name": name, "datatype": "FP64", "shape": [rows], "data": [value] * rows}
        for name, value in SEED.items()
    ]


def test_v2_health_and_metadata(http_server: Any) -> None:
    assert call_json(http_server, "/v2/health/live") == (200, {"live": True})
    assert call_json(http_server, "/v2/health/ready") == (200, {"ready": True})
    assert call_json(http_server, "/v2/models/wine/ready") == (200, {"name": "wine", "ready": True})
    status, meta = call_json(http_server, "/v2/models/wine")
    assert status == 200
    assert meta["name"] == "wine" and meta["versions"] == ["1"]
    assert {t["name"] for t in meta["inputs"]} == set(SEED_COLUMNS)
    assert all(t["shape"] == [-1] and t["datatype"] == "FP64" for t in meta["inputs"])
    status, server_meta = call_json(http_server, "/v2")
    assert status == 200 and server_meta["name"] == "mlgrpc-scoring"


def test_v2_infer_json_tensors_by_name(http_server: Any, expected_seed_prediction: float) -> None:
    status, answer = call_json(
        http_server, "/v2/models/wine/versions/1/infer", {"id": "r-1", "inputs": _tensors(2)}
    )
    assert status == 200, answer
    assert answer["id"] == "r-1" and answer["model_name"] == "wine"
    [output] = answer["outputs"]
    assert output["shape"] == [2] and output["datatype"] == "FP64"
    # Two rows take the numpy fast path: equal to scikit-learn's within rounding.
    assert output["data"] == pytest.approx([expected_seed_prediction] * 2, abs=1e-9)


def test_v2_infer_one_matrix_in_signature_order(
    http_server: Any, wine_model_dir: Path, expected_seed_prediction: float
) -> None:
    names = [c["name"] for c in json.loads(_signature_inputs(wine_model_dir))]
    row = [SEED[name] for name in names]
    tensor = {"name": "x", "datatype": "FP64", "shape": [1, len(row)], "data": [row]}
    status, answer = call_json(http_server, "/v2/models/wine/infer", {"inputs": [tensor]})
    assert status == 200, answer
    assert answer["outputs"][0]["data"] == pytest.approx([expected_seed_prediction], abs=1e-9)


def _signature_inputs(model_dir: Path) -> str:
    import yaml

    return yaml.safe_load((model_dir / "MLmodel").read_text())["signature"]["inputs"]


def test_v2_binary_tensor_data_in_and_out(
    http_server: Any, expected_seed_prediction: float
) -> None:
    """The binary extension as tritonclient.http sends it: the JSON header's length in
    Inference-Header-Content-Length, then each binary input's bytes in order."""
    inputs, blobs = [], []
    for name, value in SEED.items():
        raw = np.array([value, value], dtype="<f8").tobytes()
        inputs.append(
            {
                "name": name,
                "datatype": "FP64",
                "shape": [2],
                "parameters": {"binary_data_size": len(raw)},
            }
        )
        blobs.append(raw)
    head = json.dumps(
        {
            "inputs": inputs,
            "outputs": [{"name": "predictions", "parameters": {"binary_data": True}}],
        }
    ).encode()
    status, headers, content = call(
        http_server,
        "/v2/models/wine/infer",
        head + b"".join(blobs),
        "application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert status == 200, content
    length = int(headers["inference-header-content-length"])
    answer = json.loads(content[:length])
    [output] = answer["outputs"]
    assert output["parameters"]["binary_data_size"] == 16
    values = struct.unpack("<2d", content[length:])
    assert list(values) == pytest.approx([expected_seed_prediction] * 2, abs=1e-9)


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"inputs": []}, 400, ["inputs"]),
        ({"inputs": [{"name": "alcohol", "datatype": "FP64", "shape": [1], "data": ["x"]}]}, 400,
         ["alcohol", "element 0"]),
        ({"inputs": [{"name": "alcohol", "datatype": "FP64", "shape": [2], "data": [1.0]}]}, 400,
         ["alcohol"]),
        ({"inputs": [{"name": "nope", "datatype": "FP64", "shape": [1], "data": [1.0]}]}, 400,
         ["nope"]),
        ({"inputs": [{"name": "alcohol", "datatype": "FP99", "shape": [1], "data": [1.0]}]}, 400,
         ["FP99"]),
        ({"inputs": _tensors() + _tensors()[:1]}, 400, ["twice"]),
        ({"inputs": [{"name": "alcohol", "datatype": "INT64", "shape": [1], "data": [2**70]}]},
         400, ["alcohol"]),
        ({"inputs": [{"name": "alcohol", "datatype": "FP64", "shape": [1],
                      "parameters": {"binary_data_size": 8}}]}, 400, ["binary"]),
    ],
    ids=["no-inputs", "string", "short", "unknown-name", "bad-datatype", "duplicate", "huge-int",
         "binary-missing"],
)  # fmt: skip
def test_v2_errors_are_error_objects_with_a_4xx(
    http_server: Any, payload: dict[str, Any], status: int, words: list[str]
) -> None:
    got, answer = call_json(http_server, "/v2/models/wine/infer", payload)
    assert got == status, answer
    assert set(answer) == {"error"}
    for word in words:
        assert word in answer["error"]


def test_v2_unknown_model_is_404(http_server: Any) -> None:
    got, answer = call_json(http_server, "/v2/models/nope/infer", {"inputs": _tensors()})
    assert got == 404 and "nope" in answer["error"]
    assert call_json(http_server, "/v2/models/nope/ready")[0] == 404
    assert call_json(http_server, "/v2/models/wine/versions/9")[0] == 404


def test_grpc_keeps_serving_beside_http(http_server: Any, expected_seed_prediction: float) -> None:
    import grpc

    from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
    from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    with grpc.insecure_channel(http_server.address) as channel:
        reply = pb_grpc.ScoringServiceStub(channel).Predict(request, timeout=30)
    assert reply.predictions.values[0].number_value == expected_seed_prediction


# The real tritonclient.http (peer venv) -----------------------------------------------------


@pytest.fixture(scope="session")
def triton_http_python(peer_python: Callable[[str, list[str]], Path]) -> Path:
    return peer_python("tritonclient", TRITON_REQUIREMENTS)


def _triton_http(python: Path, server: Any, scenario: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(TRITON_HTTP_SCRIPT), f"127.0.0.1:{server.http.port}", scenario],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("scenario", ["binary", "json"])
def test_tritonclient_http_infers_by_name_binary_and_json(
    http_server: Any, expected_seed_prediction: float, triton_http_python: Path, scenario: str
) -> None:
    reply = _triton_http(triton_http_python, http_server, scenario)
    assert reply["predictions"] == pytest.approx([expected_seed_prediction] * 3, abs=1e-9)
    assert reply["id"] == "req-9"
    assert reply["binary_size"] == (24 if scenario == "binary" else None)


def test_tritonclient_http_health_metadata_and_errors(
    http_server: Any, triton_http_python: Path
) -> None:
    health = _triton_http(triton_http_python, http_server, "health")
    assert health == {
        "live": True,
        "ready": True,
        "model_ready": True,
        "v1_ready": True,
        "inputs": sorted(SEED_COLUMNS),
        "versions": ["1"],
    }
    error = _triton_http(triton_http_python, http_server, "error")
    assert error["status"] == "400" and "nope" in error["message"]


def test_json_that_only_pythons_parser_reads_is_still_read(http_server: Any) -> None:
    """`NaN` tokens (Python's and MLflow's JSON writers emit them) and integers beyond 64 bits
    are read, then judged as values: the seed model takes no missing value, nor 2**70."""
    row = ", ".join(["NaN", *map(str, SEED_ROW[1:])])
    body = f'{{"dataframe_split": {{"columns": {json.dumps(SEED_COLUMNS)}, "data": [[{row}]]}}}}'
    status, _, content = call(http_server, "/invocations", body)
    assert status == 400
    assert "alcohol" in json.loads(content)["message"]
    body = json.dumps(
        {"dataframe_split": {"columns": SEED_COLUMNS, "data": [[2**70, *SEED_ROW[1:]]]}}
    )
    status, _, content = call(http_server, "/invocations", body)
    assert status in (200, 400), content
    assert set(json.loads(content)) <= {"predictions", "error_code", "message"}
