"""mlgrpc: experiment tracking, a model registry and model serving over gRPC.

`import mlgrpc` (or `import mlgrpc as mlflow`) gives the fluent API for training code, with
MLflow's names. It never imports SQLAlchemy, pandas, numpy or any service code: model flavors
(`mlgrpc.sklearn`, `mlgrpc.pyfunc`, `mlgrpc.models`) load on first attribute access.
After `import mlgrpc as mlflow`, the script's own `import mlflow.sklearn` lines resolve to mlgrpc
too (`mlgrpc._mlflow_alias`), so porting a script is that one line.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlgrpc import _mlflow_alias, config
from mlgrpc._auth import get_token, set_token
from mlgrpc.autologging import autolog
from mlgrpc.client import MlgrpcClient
from mlgrpc.config import get_registry_uri, set_registry_uri
from mlgrpc.entities import (
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from mlgrpc.exceptions import MlflowException, MlgrpcException, UnsentLogsError
from mlgrpc.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    flush,
    flush_async_logging,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_batch,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from mlgrpc.system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
)

__version__ = "0.1.0"


def register_model(model_uri: str, name: str, tags: Any = None, **kwargs: Any) -> Any:
    """Register the model at `model_uri` as a new version of `name` (see `mlgrpc.registration`)."""
    from mlgrpc.registration import register_model as _register_model

    return _register_model(model_uri, name, tags, **kwargs)


_mlflow_alias.install()

#: Submodules imported on first attribute access, to keep `import mlgrpc` light.
_LAZY_SUBMODULES = frozenset(
    {"sklearn", "pyfunc", "models", "registry", "scoring", "model_uri", "xgboost", "lightgbm"}
)

#: MLflow's name of the client, for `mlflow.MlflowClient()` in code ported by one import line.
MlflowClient = MlgrpcClient


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "autolog",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "ActiveRun",
    "Experiment",
    "FileInfo",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "MlgrpcClient",
    "MlgrpcException",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "UnsentLogsError",
    "ViewType",
    "active_run",
    "config",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_run",
    "get_token",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_token",
    "set_tracking_uri",
    "start_run",
]
