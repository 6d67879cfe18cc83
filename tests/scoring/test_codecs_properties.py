"""Property tests of the codecs: any payload either predicts or is INVALID_ARGUMENT, never an
unexpected exception; the raw BYTES layout round-trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from scoring_service.codecs import predict_payload
from scoring_service.codecs.tensors import join_bytes, split_bytes
from scoring_service.models.loader import load_model_dir
from scoring_service.models.predict import predict

from .conftest import SEED_COLUMNS

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(max_size=5),
)
#: A cell: mostly scalars, sometimes a list or an object (nesting a typed column refuses).
json_cells = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=4,
)


@pytest.fixture(scope="module")
def wine_model(wine_model_dir: Path) -> Any:
    return load_model_dir(wine_model_dir, allow_pickle=False)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.lists(st.sampled_from([*SEED_COLUMNS, "extra"]), max_size=13),
    rows=st.lists(st.lists(json_cells, max_size=13), max_size=4),
)
def test_any_dataframe_split_predicts_or_is_invalid_argument(
    wine_model: Any, columns: list[str], rows: list[list[Any]]
) -> None:
    # A null, a list or text in a cell is the caller's mistake: never INTERNAL.
    request = json_format.ParseDict(
        {"dataframe_split": {"columns": columns, "data": rows}}, pb.PredictRequest()
    )
    try:
        batch = predict_payload.decode_request(request, wine_model)
        predict(wine_model, batch, max_rows=100)
    except InvalidArgument:
        pass


@given(st.lists(st.binary(max_size=20), max_size=10))
def test_raw_bytes_layout_round_trips(values: list[bytes]) -> None:
    assert split_bytes(join_bytes(values), "t") == values


@given(st.binary(max_size=30))
def test_truncated_raw_bytes_are_invalid_argument_or_parse(raw: bytes) -> None:
    try:
        split_bytes(raw, "t")
    except InvalidArgument:
        pass
