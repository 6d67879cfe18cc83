"""`import mlgrpc` stays light: no SQLAlchemy, pandas, numpy or service code."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "pandas",
    "numpy",
    "tracking_service",
    "registry_service",
    "scoring_service",
    "mlgrpc_server",
    "sklearn",
)


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return set(out.splitlines())


def test_import_mlgrpc_loads_no_heavy_package() -> None:
    loaded = {name.split(".")[0] for name in _modules_after("import mlgrpc")}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_fluent_api_is_importable_under_mlflow_name() -> None:
    modules = _modules_after(
        "import mlgrpc as mlflow\n"
        "assert callable(mlflow.start_run) and callable(mlflow.log_metric)\n"
        "assert mlflow.MlgrpcClient is mlflow.MlflowClient"
    )
    assert {name.split(".")[0] for name in modules}.isdisjoint(HEAVY)


def test_flavor_modules_load_on_first_attribute_access() -> None:
    assert "mlgrpc.models" not in _modules_after("import mlgrpc")
    assert "mlgrpc.models" in _modules_after("import mlgrpc\nmlgrpc.models")
