"""The XGBoost flavor, in MLflow 3's on-disk format and XGBoost's own files (UBJSON or JSON).

No pickle: `model.ubj` / `model.json` hold the trees and parameters only, and loading them runs
no code from the file, so the scoring service serves these models without `--allow-pickle`.
The class to rebuild (`model_class` in the MLmodel: `xgboost.core.Booster`, `XGBRegressor`, …)
must be one of XGBoost's own. Needs the `xgboost` extra: pip install 'mlgrpc[xgboost]'.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgrpc.models import environment, saving
from mlgrpc.models.errors import ModelFormatError
from mlgrpc.models.model import Model, ModelInfo
from mlgrpc.models.signature import ModelSignature

FLAVOR_NAME = "xgboost"
LOADER_MODULE = "mlflow.xgboost"
MODEL_FORMATS = ("ubj", "json")


def _xgboost() -> Any:
    from mlgrpc.models import flavors

    flavors.get(FLAVOR_NAME).import_module()  # a missing library: the one-line error
    import xgboost

    return xgboost


def get_default_pip_requirements() -> list[str]:
    # `xgboost-cpu` is the same package without the CUDA library; pin whichever is installed.
    dist = "xgboost-cpu" if environment.installed_version("xgboost-cpu") else "xgboost"
    names = ["numpy", "pandas", "scipy", dist]
    return sorted(environment.pinned_requirement(n) for n in names)


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__name__}"


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a Booster or an XGBoost scikit-learn model (`XGBRegressor`, …) at `path`."""
    xgb = _xgboost()
    if model_format not in MODEL_FORMATS:
        raise ValueError(f"unknown model_format {model_format!r}; use one of {list(MODEL_FORMATS)}")
    if not isinstance(xgb_model, xgb.Booster | xgb.XGBModel):
        raise TypeError(f"expected an xgboost Booster or XGBModel, got {type(xgb_model).__name__}")
    model = mlflow_model or Model()
    data = f"model.{model_format}"

    def write(target: Path) -> None:
        xgb_model.save_model(str(target / data))
        wrapper = XGBoostPyfunc(xgb_model)
        saving.add_example_and_signature(model, target, input_example, signature, wrapper.predict)
        saving.add_pyfunc_flavor(model, LOADER_MODULE, data=data, code=None)
        model.add_flavor(
            FLAVOR_NAME,
            xgb_version=xgb.__version__,
            data=data,
            model_class=_class_name(xgb_model),
            model_format=model_format,
            code=None,
        )
        saving.finish(
            model,
            target,
            get_default_pip_requirements(),
            pip_requirements,
            extra_pip_requirements,
            metadata,
        )

    saving.save_into(path, write)
    return model


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `xgb_model` and upload it as artifacts of the active run (one is started if none)."""

    def save(local_dir: Path, model: Model) -> Model:
        return save_model(
            xgb_model,
            local_dir,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            model_format=model_format,
            metadata=metadata,
            mlflow_model=model,
        )

    return saving.log_to_run(
        save,
        artifact_path=artifact_path,
        name=name,
        run_id=run_id,
        registered_model_name=registered_model_name,
    )


# ---- loading -------------------------------------------------------------------------------


def _model_class(name: str) -> Any:
    module, _, cls = name.rpartition(".")
    if module != "xgboost" and not module.startswith("xgboost."):
        raise ModelFormatError(
            f"model_class {name!r} is not an XGBoost class; refusing to instantiate it",
            field="model_class",
        )
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ModelFormatError(f"this XGBoost has no class {name!r}: {exc}") from exc


def load_model_from_dir(model_dir: str | os.PathLike[str]) -> Any:
    """The Booster or XGBModel of a local model directory."""
    _xgboost()
    model_dir = Path(model_dir)
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if conf is None:
        raise ModelFormatError(f"the model at {model_dir} has no xgboost flavor")
    data = str(conf.get("data", ""))
    if not data.endswith((".ubj", ".json")):
        raise ModelFormatError(
            f"the model at {model_dir} is in the legacy binary format ({data!r}); mlgrpc loads "
            "XGBoost's UBJSON and JSON formats",
            field="model_format",
        )
    model = _model_class(str(conf.get("model_class", "xgboost.core.Booster")))()
    model.load_model(str(model_dir / data))
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """Load the XGBoost model at `model_uri` (local path, `file:`, `runs:/…`, `models:/…`)."""
    from mlgrpc.model_uri import resolve_model_uri

    return load_model_from_dir(resolve_model_uri(model_uri, dst_path))


class XGBoostPyfunc:
    """An XGBoost model behind python_function; DataFrame columns are matched by name."""

    def __init__(self, xgb_model: Any) -> None:
        self.xgb_model = xgb_model

    def _booster(self) -> Any:
        get = getattr(self.xgb_model, "get_booster", None)
        return get() if get else self.xgb_model

    def feature_names(self) -> list[str] | None:
        names = self._booster().feature_names
        return None if names is None else [str(n) for n in names]

    def align_input(self, data: Any) -> Any:
        from mlgrpc.models.sklearn_pyfunc import align_to_names

        return align_to_names(data, self.feature_names())

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost as xgb

        data = self.align_input(data)
        if isinstance(self.xgb_model, xgb.Booster):
            return self.xgb_model.predict(xgb.DMatrix(data), **(params or {}))
        return self.xgb_model.predict(data, **(params or {}))

    def get_raw_model(self) -> Any:
        return self.xgb_model


def load_pyfunc(model_dir: Path, conf: dict[str, Any], *, allow_pickle: bool) -> XGBoostPyfunc:
    del conf, allow_pickle  # XGBoost's own formats run no code when loaded
    return XGBoostPyfunc(load_model_from_dir(model_dir))


def autolog(**flags: Any) -> None:
    """Autologging of xgboost training, as MLflow's (see `mlgrpc.autologging.xgboost`)."""
    from mlgrpc.autologging.xgboost import autolog as enable

    enable(**flags)
