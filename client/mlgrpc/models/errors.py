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

    `problem` is the message without a remedy; `pickle_refused` says that loading with
    `allow_pickle=True` would succeed. Each caller names its own way to allow it: the message
    names the client's parameter, and the scoring service replaces it with its flag.
    """

    def __init__(
        self, problem: str, *, remedy: str = "", pickle_refused: bool = False, field: str
    ) -> None:
        super().__init__(f"{problem} ({remedy})" if remedy else problem, field=field)
        self.problem = problem
        self.pickle_refused = pickle_refused
