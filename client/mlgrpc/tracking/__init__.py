"""`mlgrpc.tracking`: the tracking contract's generated stubs (`mlgrpc.tracking.v1`) and, under
MLflow's import path, the low-level client — `from mlflow.tracking import MlflowClient` keeps
working in a script ported with `import mlgrpc as mlflow`."""

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy: mlgrpc.client itself imports the stubs of this package.
    if name == "MlflowClient":
        from mlgrpc.client import MlgrpcClient

        return MlgrpcClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
