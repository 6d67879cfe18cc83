"""The LightGBM flavor, in MLflow 3's on-disk format with LightGBM's own text model file.

We save a `Booster` as `model.lgb` (LightGBM's text format: trees and parameters, no code); a
scikit-learn wrapper (`LGBMRegressor`, …) is saved as its fitted Booster, so its pyfunc predicts
what the Booster predicts (for a classifier: the probabilities). Directories MLflow wrote for a
scikit-learn wrapper (skops or pickle, as its sklearn flavor) load through `mlgrpc.sklearn`'s
rules for those formats. Needs the `lightgbm` extra: pip install 'mlgrpc[lightgbm]'.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgrpc.models import environment, saving
from mlgrpc.models.errors import ModelFormatError
from mlgrpc.models.model import Model, ModelInfo
from mlgrpc.models.signature import ModelSignature

FLAVOR_NAME = "lightgbm"
LOADER_MODULE = "mlflow.lightgbm"
BOOSTER_CLASS = "lightgbm.basic.Booster"
MODEL_FILE = "model.lgb"
_WHITESPACE = re.compile(r"\s")


def _lightgbm() -> Any:
    from mlgrpc.models import flavors

    flavors.get(FLAVOR_NAME).import_module()  # a missing library: the one-line error
    import lightgbm

    return lightgbm


def get_default_pip_requirements() -> list[str]:
    return sorted(environment.pinned_requirement(n) for n in ("lightgbm", "numpy", "pandas"))


def _booster_of(lgb_model: Any) -> Any:
    lgb = _lightgbm()
    if isinstance(lgb_model, lgb.Booster):
        return lgb_model
    if isinstance(lgb_model, lgb.LGBMModel):
        return lgb_model.booster_
    raise TypeError(f"expected a LightGBM Booster or LGBMModel, got {type(lgb_model).__name__}")


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a LightGBM Booster (or a scikit-learn wrapper's Booster) at `path`."""
    lgb = _lightgbm()
    booster = _booster_of(lgb_model)
    model = mlflow_model or Model()

    def write(target: Path) -> None:
        booster.save_model(str(target / MODEL_FILE))
        wrapper = LightGBMPyfunc(booster)
        saving.add_example_and_signature(model, target, input_example, signature, wrapper.predict)
        saving.add_pyfunc_flavor(model, LOADER_MODULE, data=MODEL_FILE, code=None)
        model.add_flavor(
            FLAVOR_NAME,
            lgb_version=lgb.__version__,
            data=MODEL_FILE,
            model_class=BOOSTER_CLASS,
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
    lgb_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `lgb_model` and upload it as artifacts of the active run (one is started if none)."""

    def save(local_dir: Path, model: Model) -> Model:
        return save_model(
            lgb_model,
            local_dir,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
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


def load_model_from_dir(model_dir: str | os.PathLike[str], *, allow_pickle: bool = True) -> Any:
    """The Booster (or, for MLflow's skops/pickle files, the scikit-learn wrapper)."""
    lgb = _lightgbm()
    model_dir = Path(model_dir)
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if conf is None:
        raise ModelFormatError(f"the model at {model_dir} has no lightgbm flavor")
    path = model_dir / str(conf.get("data", MODEL_FILE))
    if conf.get("model_class", BOOSTER_CLASS) == BOOSTER_CLASS:
        return lgb.Booster(model_file=str(path))
    from mlgrpc.sklearn import load_model_file

    return load_model_file(
        path,
        conf.get("serialization_format") or "cloudpickle",
        skops_trusted_types=conf.get("skops_trusted_types"),
        allow_pickle=allow_pickle,
    )


def load_model(
    model_uri: str | os.PathLike[str], dst_path: str | None = None, *, allow_pickle: bool = True
) -> Any:
    """Load the LightGBM model at `model_uri` (local path, `file:`, `runs:/…`, `models:/…`)."""
    from mlgrpc.model_uri import resolve_model_uri

    return load_model_from_dir(resolve_model_uri(model_uri, dst_path), allow_pickle=allow_pickle)


class LightGBMPyfunc:
    """A LightGBM model behind python_function; DataFrame columns are matched by name."""

    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def feature_names(self) -> list[str] | None:
        booster = getattr(self.lgb_model, "booster_", self.lgb_model)
        names = [str(n) for n in booster.feature_name()]
        # LightGBM names unnamed features Column_0, Column_1, …: those are positions.
        return None if all(n == f"Column_{i}" for i, n in enumerate(names)) else names

    def align_input(self, data: Any) -> Any:
        """A DataFrame in the Booster's feature order, matched by name as LightGBM stores it."""
        from mlgrpc.models.sklearn_pyfunc import align_to_names

        if hasattr(data, "columns"):
            # LightGBM replaced whitespace in feature names by "_" when it trained.
            data = data.rename(columns=lambda c: _WHITESPACE.sub("_", str(c)))
        return align_to_names(data, self.feature_names())

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.lgb_model.predict(self.align_input(data), **(params or {}))

    def get_raw_model(self) -> Any:
        return self.lgb_model


def load_pyfunc(model_dir: Path, conf: dict[str, Any], *, allow_pickle: bool) -> LightGBMPyfunc:
    del conf
    return LightGBMPyfunc(load_model_from_dir(model_dir, allow_pickle=allow_pickle))


def autolog(**flags: Any) -> None:
    """Autologging of lightgbm training, as MLflow's (see `mlgrpc.autologging.lightgbm`)."""
    from mlgrpc.autologging.lightgbm import autolog as enable

    enable(**flags)
