"""Every RPC of `mlgrpc.scoring.v1.ScoringService` and of the Open Inference Protocol service,
fuzzed against a served LinearRegression.

No RPC may answer INTERNAL here: INTERNAL is reserved for an exception raised inside the model,
and a LinearRegression given numbers does not raise. UnloadModel may unload the model; it is
loaded again after each example so that the next one still reaches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from mlgrpc.inference import grpc_predict_v2_pb2 as ipb
from mlgrpc.scoring.v1 import scoring_service_pb2 as spb

from .conftest import SCORING_MODEL_NAME
from .proto_strategies import ProtoStrategies
from .rpc_fuzzing import fuzz_method, method_id, methods_of

SCORING = spb.DESCRIPTOR.services_by_name["ScoringService"]
INFERENCE = ipb.DESCRIPTOR.services_by_name["GRPCInferenceService"]


@pytest.mark.parametrize("method", methods_of(SCORING) + methods_of(INFERENCE), ids=method_id)
def test_scoring_rpc_survives_generated_requests(
    method,
    scoring_server: Any,
    scoring_channel: grpc.Channel,
    scoring_pools: dict[str, list],
    scoring_model_dir: Path,
) -> None:
    def keep_model_served() -> None:
        if SCORING_MODEL_NAME not in scoring_server.manager.registry.names():
            scoring_server.manager.load(str(scoring_model_dir), SCORING_MODEL_NAME)

    fuzz_method(
        scoring_channel, method, ProtoStrategies(scoring_pools), after_each=keep_model_served
    )
