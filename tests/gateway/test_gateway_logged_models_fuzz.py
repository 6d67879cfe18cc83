"""Any JSON to the gateway's LoggedModel and run input/output routes is answered without a 500
(hypothesis, against the real tracking service)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_helpers import Gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.logged_model_routes import ROUTES

MODEL = "m-" + "0" * 32
#: Every route: the fixed ones and those with a model id (and a tag key) in the path.
ALL_ROUTES = sorted(ROUTES) + [
    ("GET", f"logged-models/{MODEL}"),
    ("PATCH", f"logged-models/{MODEL}"),
    ("DELETE", f"logged-models/{MODEL}"),
    ("POST", f"logged-models/{MODEL}/params"),
    ("PATCH", f"logged-models/{MODEL}/tags"),
    ("DELETE", f"logged-models/{MODEL}/tags/k"),
    ("GET", "logged-models/not%2Fan%20id"),
]
FIELDS = [
    "experiment_id", "experiment_ids", "name", "model_type", "source_run_id", "params", "tags",
    "model_id", "status", "filter", "order_by", "max_results", "page_token", "datasets",
    "models", "run_id", "model_json", "allow_deleted", "field_name", "ascending", "dataset",
    "key", "value", "step", "digest", "source", "source_type",
]  # fmt: skip
EDGES: list[Any] = [
    2**63, -(2**63) - 1, 10**400, -0.0, "\ud800", "x\u0000y", True, [], {}, [1, "a"],
    [{"key": 2**64, "value": "\ud800"}], [{"field_name": 1, "ascending": "yes"}],
    [{"dataset": {"name": 1}, "tags": [{"key": None}]}], [{"model_id": "\ud800", "step": 2**70}],
    "LOGGED_MODEL_READY", 2, "0", "{", MODEL, "m-" + "a" * 40,
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from(EDGES),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)
    ),
    max_leaves=8,
)


def _send(gateway: Gateway, method: str, path: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        query = {k: str(v).encode("utf-8", "surrogatepass") for k, v in body.items()}
        return gateway.call("GET", "/api/2.0/mlflow/" + path, query=query)
    return gateway.call(method, "/api/2.0/mlflow/" + path, body)


@pytest.mark.parametrize("route", ALL_ROUTES, ids="-".join)
def test_edge_values_in_every_field_give_no_500(gateway: Gateway, route: tuple[str, str]) -> None:
    for edge in EDGES:
        answer = _send(gateway, *route, dict.fromkeys(FIELDS, edge))
        assert answer.status < 500, (route, edge, answer)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ALL_ROUTES),
    body=st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
)
def test_random_bodies_give_no_500(
    gateway: Gateway, route: tuple[str, str], body: dict[str, Any]
) -> None:
    answer = _send(gateway, *route, body)
    assert answer.status < 500, (route, body, answer)
