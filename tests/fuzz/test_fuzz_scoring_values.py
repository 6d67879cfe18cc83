"""Predict and ModelInfer fuzzed on their payload VALUES (see `payload_strategies`).

Three served models cover the paths a value can take: `fz` (doubles and a long; refuses NaN,
so the server does; the DataFrame path), `fzfast` (doubles only: the numeric fast path) and
`fzmix` (imputer and one-hot encoder: takes NaN, refuses ±inf and unknown categories itself;
float, integer, boolean and string columns). No answer may be INTERNAL or UNKNOWN — every
value here is the caller's choice — nor hold a traceback; the server answers its health check
after every call, and after each payload form a plain request still gets the answer it got
before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlgrpc.inference import grpc_predict_v2_pb2 as ipb
from mlgrpc.scoring.v1 import scoring_service_pb2 as spb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as spb_grpc

from . import payload_strategies as payloads
from .conftest import SCORING_MODEL_NAME
from .rpc_fuzzing import CASES, CHANNEL_OPTIONS, EXAMPLES_PER_RPC, call, check_alive, check_outcome

PREDICT = spb.DESCRIPTOR.services_by_name["ScoringService"].methods_by_name["Predict"]
MODEL_INFER = ipb.DESCRIPTOR.services_by_name["GRPCInferenceService"].methods_by_name["ModelInfer"]

SIGNATURES: dict[str, dict[str, str]] = {
    SCORING_MODEL_NAME: {"a": "double", "b": "double", "n": "long"},
    "fzfast": {"a": "double", "b": "double"},
    "fzmix": {"x": "double", "f": "float", "i": "integer", "flag": "boolean", "s": "string"},
}
FORMS: dict[str, tuple[Any, Callable[..., Any]]] = {
    "dataframe_split": (PREDICT, payloads.dataframe_split),
    "dataframe_records": (PREDICT, payloads.dataframe_records),
    "instances": (PREDICT, payloads.instances),
    "inputs_columns": (PREDICT, payloads.inputs_columns),
    "columnar": (PREDICT, payloads.columnar),
    "model_infer": (MODEL_INFER, payloads.model_infer),
}
PLAIN_ROWS = {
    SCORING_MODEL_NAME: [[0.5, -1.0, 3.0]],
    "fzfast": [[0.5, -1.0]],
    "fzmix": [[0.5, 1.5, 2.0, True, "red"]],
}


@pytest.fixture(scope="module")
def value_model_dirs(
    scoring_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from mlgrpc import sklearn as mlgrpc_sklearn

    root = tmp_path_factory.mktemp("fuzz-value-models")
    rng = np.random.default_rng(1)
    n = 40
    plain = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    mlgrpc_sklearn.save_model(
        LinearRegression().fit(plain, plain["a"] - plain["b"]),
        root / "fzfast",
        input_example=plain.head(3),
    )
    mixed = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "f": rng.normal(size=n).astype(np.float32),
            "i": rng.integers(0, 5, size=n).astype(np.int32),
            "flag": rng.integers(0, 2, size=n).astype(bool),
            "s": rng.choice(list(payloads.CATEGORIES), size=n),
        }
    )
    encode = make_column_transformer(
        (SimpleImputer(), ["x", "f", "i", "flag"]), (OneHotEncoder(), ["s"])
    )
    mlgrpc_sklearn.save_model(
        make_pipeline(encode, LinearRegression()).fit(mixed, mixed["x"] * 2 + mixed["i"]),
        root / "fzmix",
        serialization_format="cloudpickle",  # skops does not trust the encoder's numpy.dtype
        input_example=mixed.head(3),
    )
    return {
        SCORING_MODEL_NAME: scoring_model_dir,
        "fzfast": root / "fzfast",
        "fzmix": root / "fzmix",
    }


@pytest.fixture(scope="module")
def values_channel(
    value_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[grpc.Channel]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=tuple(ModelSpec(str(path), name) for name, path in value_model_dirs.items()),
        port=0,
        allow_pickle=True,
        cache_dir=tmp_path_factory.mktemp("fuzz-value-cache"),
    )
    server = create_server(config)
    served = {m.name: m for m in server.manager.registry.all()}
    for name, signature in SIGNATURES.items():  # the strategies' view of each model is right
        assert {str(c.name): c.type for c in served[name].inputs} == signature
    assert served["fzfast"].predict_matrix is not None
    with grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel
    server.stop(grace=0)


def _plain_answers(channel: grpc.Channel) -> dict[str, list[float]]:
    stub = spb_grpc.ScoringServiceStub(channel)
    answers = {}
    for name, rows in PLAIN_ROWS.items():
        request = spb.PredictRequest(model_name=name)
        request.dataframe_split.columns.extend(SIGNATURES[name])
        for row in rows:
            request.dataframe_split.data.add().values.extend(payloads.to_value(v) for v in row)
        answers[name] = list(stub.Predict(request, timeout=10).predictions)
    return answers


@pytest.fixture(scope="module")
def plain_answers(values_channel: grpc.Channel) -> dict[str, list[float]]:
    return _plain_answers(values_channel)


@pytest.mark.parametrize("form", FORMS)
def test_payload_values_are_never_internal(
    form: str, values_channel: grpc.Channel, plain_answers: dict[str, list[float]]
) -> None:
    method, strategy_of = FORMS[form]
    requests = st.sampled_from(sorted(SIGNATURES)).flatmap(
        lambda model: strategy_of(model, SIGNATURES[model])
    )

    @settings(
        max_examples=EXAMPLES_PER_RPC,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    @given(request=requests)
    def one_call(request: Message) -> None:
        outcome = call(values_channel, method, [request])
        CASES[f"{method.containing_service.full_name} (payload values)"] += 1
        check_outcome(method, outcome)
        check_alive(values_channel)

    one_call()
    assert _plain_answers(values_channel) == plain_answers
