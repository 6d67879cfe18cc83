"""The gateway's calls to a scoring service (`ServiceCalls`): only to ask which models it serves,
for the web UI's registry page. The scoring service is optional and may be down: the page says
so and shows the rest."""

from __future__ import annotations

import functools
from typing import Any

from gateway.service_calls import ServiceCalls
from mlgrpc.exceptions import MlgrpcException
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc
from mlgrpc.service_support import call_unary
from mlgrpc.tls import ClientTls

SCORING_SERVICE = "mlgrpc.scoring.v1.ScoringService"
#: A page waits this long at most for the answer: a scoring service that does not answer must
#: not hold the registry page (the client's default deadline is much longer).
LIST_TIMEOUT_SECONDS = 2.0


class ScoringCalls(ServiceCalls):
    def __init__(self, address: str, tls: ClientTls | None = None) -> None:
        super().__init__(address, SCORING_SERVICE, scoring_service_pb2_grpc.ScoringServiceStub, tls)

    def served_models(self) -> dict[str, Any]:
        """`{"address", "models": [...]}` with each served model's name, version and sources,
        or `{"address", "error"}` with why the service could not be asked."""
        stub_method = functools.partial(self._stub.ListModels, metadata=self._metadata)
        try:
            response = call_unary(
                stub_method, pb.ListModelsRequest(), name="ListModels", timeout=LIST_TIMEOUT_SECONDS
            )
        except MlgrpcException as error:
            return {"address": self.address, "error": str(error)}
        models = [
            {
                "name": model.name,
                "version": model.version,
                "source_uri": model.source_uri,
                "resolved_uri": model.resolved_uri,
                "flavor": model.flavor,
                "run_id": model.run_id,
                "loaded_at_ms": model.loaded_at_ms,
            }
            for model in response.models
        ]
        return {"address": self.address, "models": models}
