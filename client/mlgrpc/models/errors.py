"""Errors of saving, resolving and loading models; all are `MlgrpcException`s (MLflow users
catch `MlflowException`, the same class) with a gRPC status code the scoring service can use."""

from __future__ import annotations

from mlgrpc.exceptions import FailedPreconditionError, InvalidArgumentError


class ModelUriError(InvalidArgumentError):
    """A model URI this client cannot resolve (unknown scheme, no registry hook, no such path)."""


class ModelFormatError(FailedPreconditionError):
    """The model directory is not one mlgrpc can load: no MLmodel, unknown flavor or format."""


class UnsafeModelError(FailedPreconditionError):
    """Loading the model would run code from the model file and that is not allowed here.

    Raised for pickle/cloudpickle models when `allow_pickle=False`, and for skops models whose
    file references types outside the trusted list.
    """
