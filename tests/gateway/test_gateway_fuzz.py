"""Any JSON to any of the gateway's routes is answered without a 500: a caller's mistake is
MLflow's 4xx error body (hypothesis, against the real tracking service)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_helpers import Gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.tracking_routes import ROUTES

FIELDS = [
    "name", "experiment_id", "experiment_name", "run_id", "run_uuid", "key", "value",
    "timestamp", "step", "max_results", "page_token", "filter", "order_by", "view_type",
    "run_view_type", "experiment_ids", "status", "end_time", "start_time", "run_name",
    "metrics", "params", "tags", "metric_key", "path", "new_name", "artifact_location",
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
routes = st.sampled_from(sorted(ROUTES))

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


@pytest.mark.parametrize("route", sorted(ROUTES), ids="-".join)
def test_edge_values_in_every_field_give_no_500(gateway: Gateway, route: tuple[str, str]) -> None:
    method, path = route
    for edge in EDGES:
        body = dict.fromkeys(FIELDS, edge)
        if method == "GET":
            answer = gateway.call(
                "GET",
                "/api/2.0/mlflow/" + path,
                query={k: str(edge).encode("utf-8", "surrogatepass") for k in FIELDS},
            )
        else:
            answer = gateway.call(method, "/api/2.0/mlflow/" + path, body)
        assert answer.status < 500, (route, edge, answer)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=routes, body=bodies)
def test_no_json_body_gives_a_500(
    gateway: Gateway, route: tuple[str, str], body: dict[str, Any]
) -> None:
    method, path = route
    if method == "GET":
        query = {
            k: str(v).encode("utf-8", "surrogatepass")
            for k, v in body.items()
            if isinstance(v, str | int | float)
        }
        answer = gateway.call("GET", "/api/2.0/mlflow/" + path, query=query)
    else:
        answer = gateway.call(method, "/api/2.0/mlflow/" + path, body)
    assert answer.status < 500, (route, body, answer)
    if answer.status >= 400:
        assert set(answer.body) >= {"error_code", "message"}


@pytest.mark.parametrize("path", ["experiments/search", "runs/search"])
def test_a_lone_surrogate_as_a_single_order_by_is_a_400(gateway: Gateway, path: str) -> None:
    """Found by the fuzz above in CI: a one-string `order_by` skipped the UTF-8 check a list of
    strings had, and reached the proto as a 500."""
    answer = gateway.call("POST", "/api/2.0/mlflow/" + path, {"order_by": "\ud800"})
    assert answer.status == 400, answer
    assert answer.body["error_code"] == "INVALID_PARAMETER_VALUE"
