"""Any JSON to any of the gateway's routes is answered without a 500: a caller's mistake is
MLflow's 4xx error body (hypothesis, against the real tracking and registry services). The routes
are read from the gateway's own `/openapi.json`, so a route added to a table is fuzzed too."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from gateway_helpers import Answer, Gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = [
    "name", "experiment_id", "experiment_name", "run_id", "run_uuid", "key", "value",
    "timestamp", "step", "max_results", "page_token", "filter", "order_by", "view_type",
    "run_view_type", "experiment_ids", "status", "end_time", "start_time", "run_name",
    "metrics", "params", "tags", "metric_key", "path", "new_name", "artifact_location",
    "version", "alias", "stage", "stages", "archive_existing_versions", "source", "description",
    "run_link", "run_ids", "start_step", "end_step",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["0", "1", "NaN", "Infinity", "RUNNING", "ALL", "-1", "\ud800", "a" * 300]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)
    ),
    max_leaves=8,
)
#: Values of the artifact proxy's `{path}`: of a run that may exist, and anything else.
proxy_paths = st.sampled_from(
    ["0/" + "a" * 32 + "/artifacts/x", "1/../../etc/passwd", ""]
) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)

#: Values at the edges of what JSON carries and protobuf holds.
EDGES: list[Any] = [
    2**63,
    -(2**63) - 1,
    2**31,
    10**400,
    1e308,
    -0.0,
    "\ud800",
    "x\u0000y",
    True,
    [],
    {},
    [1, "a"],
    [{"key": 2**64, "value": "\ud800"}],
    [{"key": "k", "value": 10**400, "timestamp": 2**63}],
]


bodies = st.dictionaries(st.sampled_from(FIELDS), values | st.sampled_from(EDGES), max_size=10)


@pytest.fixture(scope="module")
def operations(registry_gateway: Gateway) -> list[tuple[str, str]]:
    """(method, path) of every operation the gateway's OpenAPI description lists."""
    paths = registry_gateway.call("GET", "/openapi.json").body["paths"]
    found = [
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method != "parameters"
    ]
    assert any("registered-models" in path for _, path in found)
    return sorted(found)


def _send(
    gateway: Gateway, method: str, path: str, body: dict[str, Any], proxy_path: str
) -> Answer:
    path = path.replace("{path}", urllib.parse.quote(proxy_path.lstrip("/"), safe="/"))
    if method == "GET":
        query = {
            k: str(v).encode("utf-8", "surrogatepass")
            for k, v in body.items()
            if isinstance(v, str | int | float)
        }
        return gateway.call("GET", path, query=query)
    return gateway.call(method, path, body)


def _not_a_failure(answer: Answer) -> bool:
    """A 4xx, a success, or the multipart endpoints' deliberate 501 (as `mlflow server`)."""
    if answer.status == 501:
        return answer.body["error_code"] == "NOT_IMPLEMENTED"
    return answer.status < 500


def test_edge_values_in_every_field_give_no_500(
    registry_gateway: Gateway, operations: list[tuple[str, str]]
) -> None:
    for method, path in operations:
        for edge in EDGES:
            answer = _send(registry_gateway, method, path, dict.fromkeys(FIELDS, edge), "x")
            assert _not_a_failure(answer), (method, path, edge, answer)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), body=bodies, proxy_path=proxy_paths)
def test_no_json_body_gives_a_500(
    registry_gateway: Gateway,
    operations: list[tuple[str, str]],
    data: st.DataObject,
    body: dict[str, Any],
    proxy_path: str,
) -> None:
    method, path = data.draw(st.sampled_from(operations), label="operation")
    answer = _send(registry_gateway, method, path, body, proxy_path)
    assert _not_a_failure(answer), (method, path, body, answer)
    if answer.status >= 400:
        assert set(answer.body) >= {"error_code", "message"}


@pytest.mark.parametrize("path", ["experiments/search", "runs/search"])
def test_a_lone_surrogate_as_a_single_order_by_is_a_400(gateway: Gateway, path: str) -> None:
    """Found by the fuzz above in CI: a one-string `order_by` skipped the UTF-8 check a list of
    strings had, and reached the proto as a 500."""
    answer = gateway.call("POST", "/api/2.0/mlflow/" + path, {"order_by": "\ud800"})
    assert answer.status == 400, answer
    assert answer.body["error_code"] == "INVALID_PARAMETER_VALUE"
