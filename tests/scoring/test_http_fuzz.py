"""Generated bodies against the HTTP port: random JSON, MLflow's shapes with random cells,
V2 tensors with random data, undecodable bytes. No answer may be a 500 (a caller's mistake is
a 4xx), every error is the protocol's JSON shape, and the server keeps answering."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SEED_COLUMNS

EXAMPLES = 150

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
cells = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(),  # NaN and ±inf too
    scalars,
    st.lists(scalars, max_size=3),
    st.just({"x": 1}),
)
column_names = st.one_of(st.sampled_from(SEED_COLUMNS), st.text(max_size=6))


@st.composite
def mlflow_bodies(draw: st.DrawFn) -> Any:
    # Often the model's own columns, so that the cells' values reach the model.
    columns = draw(
        st.one_of(st.just(list(SEED_COLUMNS)), st.lists(column_names, min_size=0, max_size=12))
    )
    rows = draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)), max_size=3))
    kind = draw(st.sampled_from(["split", "records", "instances", "inputs", "legacy"]))
    if kind == "split":
        return {"dataframe_split": {"columns": columns, "data": rows}}
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    if kind == "records":
        return {"dataframe_records": records}
    if kind == "instances":
        return {"instances": records or draw(json_values)}
    if kind == "inputs":
        return {"inputs": {c: draw(cells) for c in columns}}
    return {"columns": columns, "data": rows}


@st.composite
def v2_bodies(draw: st.DrawFn) -> Any:
    tensors = []
    for _ in range(draw(st.integers(0, 12))):
        tensors.append(
            {
                "name": draw(column_names),
                "datatype": draw(st.sampled_from(["FP64", "FP32", "INT64", "BOOL", "BYTES",
                                                  "FP16", "UINT8", "XX"])),
                "shape": draw(st.lists(st.integers(-2, 4), max_size=3)),
                "data": draw(st.one_of(st.lists(cells, max_size=4), json_values)),
            }
        )  # fmt: skip
    body: dict[str, Any] = {"inputs": tensors}
    if draw(st.booleans()):
        body["outputs"] = draw(st.lists(st.fixed_dictionaries({"name": st.text(max_size=6)})))
    return body


@pytest.fixture(scope="module")
def http_port(wine_model_dir: Path) -> Iterator[int]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    server = create_server(
        ServeConfig(models=(ModelSpec(str(wine_model_dir), "wine"),), port=0, http_port=0)
    )
    assert server.http is not None
    yield server.http.port
    server.stop(grace=0)


def _post(port: int, path: str, body: bytes, content_type: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body, {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _check(status: int, answer: Any, v2: bool) -> None:
    assert status < 500, answer
    if status >= 400:
        assert set(answer) == ({"error"} if v2 else {"error_code", "message"}), answer


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz_settings
@given(body=st.one_of(mlflow_bodies(), json_values))
def test_invocations_never_answers_500(http_port: int, body: Any) -> None:
    status, answer = _post(http_port, "/invocations", json.dumps(body).encode(), "application/json")
    _check(status, answer, v2=False)


@fuzz_settings
@given(
    body=st.binary(max_size=200),
    content_type=st.sampled_from(
        ["application/json", "text/csv", "application/json; format=pandas-split"]
    ),
)
def test_invocations_survives_arbitrary_bytes(
    http_port: int, body: bytes, content_type: str
) -> None:
    status, answer = _post(http_port, "/invocations", body, content_type)
    _check(status, answer, v2=False)


@fuzz_settings
@given(body=st.one_of(v2_bodies(), json_values))
def test_v2_infer_never_answers_500(http_port: int, body: Any) -> None:
    status, answer = _post(http_port, "/v2/models/wine/infer", json.dumps(body).encode(),
                           "application/json")  # fmt: skip
    _check(status, answer, v2=True)
