"""Stable error reasons carried in `google.rpc.ErrorInfo.reason` by every mlgrpc service.

They borrow MLflow's error-code names so that MLflow users recognise them; the gRPC status code
next to each is the one the services answer with. Shared by the client (to build typed
exceptions) and the services (to raise them), so it imports nothing.
"""

from __future__ import annotations

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"  # INVALID_ARGUMENT
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"  # NOT_FOUND
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"  # ALREADY_EXISTS
INVALID_STATE = "INVALID_STATE"  # FAILED_PRECONDITION
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"  # UNAVAILABLE
RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"  # RESOURCE_EXHAUSTED
ABORTED = "ABORTED"  # ABORTED (a conflicting concurrent write; safe to retry)
INTERNAL_ERROR = "INTERNAL_ERROR"  # INTERNAL
UNAUTHENTICATED = "UNAUTHENTICATED"  # UNAUTHENTICATED
PERMISSION_DENIED = "PERMISSION_DENIED"  # PERMISSION_DENIED

#: The `ErrorInfo.domain` of each service.
TRACKING_DOMAIN = "tracking.mlgrpc"
REGISTRY_DOMAIN = "registry.mlgrpc"
SCORING_DOMAIN = "scoring.mlgrpc"
