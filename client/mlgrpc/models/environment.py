"""The environment files of a model directory, pinned from the INSTALLED package versions.

MLflow infers requirements by loading the model in a pip subprocess (≈2.45 s of its 3.25 s
`log_model`); a flavor knows what it needs, so we read the versions from `importlib.metadata`
instead — no subprocess, well under a millisecond.

Files (same layout as MLflow 3): `requirements.txt` (one pinned requirement a line),
`python_env.yaml` (python, build_dependencies, `-r requirements.txt`) and `conda.yaml`
(conda-forge, python, pip and the same pip requirements). We do not add `mlflow` to the
requirements: MLflow's loaders never need it in requirements.txt, and `mlflow models serve`
installs MLflow into the environments it builds by itself.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
_BUILD_PACKAGES = ("pip", "setuptools", "wheel")
#: libyaml's safe dumper when PyYAML was built with it (≈10× faster), else the pure-Python one.
YAML_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.lru_cache(maxsize=256)
def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`, without a local label (`2.4.1+cpu` → `2.4.1`).

    Cached for the process: a metadata lookup scans sys.path (≈4 ms) and versions of imported
    packages do not change under a running program.
    """
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    return version.split("+", 1)[0]


def pinned_requirement(distribution: str) -> str:
    """`name==version` from the installed version, or the bare name when it is not installed."""
    version = installed_version(distribution)
    return f"{distribution}=={version}" if version else distribution


def _requirement_name(requirement: str) -> str:
    for separator in ("==", ">=", "<=", "~=", "!=", ">", "<", "[", ";", " "):
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def merge_requirements(
    defaults: Iterable[str],
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
) -> list[str]:
    """MLflow's rules: `pip_requirements` replaces the defaults, `extra_pip_requirements` adds to
    them (an extra naming a default package replaces that default's pin)."""
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise ValueError("pass either pip_requirements or extra_pip_requirements, not both")
    if pip_requirements is not None:
        return [r for r in (str(x).strip() for x in pip_requirements) if r]
    merged = {_requirement_name(r): r for r in defaults}
    for extra in extra_pip_requirements or ():
        extra = str(extra).strip()
        if extra:
            merged[_requirement_name(extra)] = extra
    return sorted(merged.values(), key=_requirement_name)


@dataclass(frozen=True)
class PythonEnv:
    python: str
    build_dependencies: tuple[str, ...]

    @classmethod
    def current(cls) -> PythonEnv:
        return cls(
            python=platform.python_version(),
            build_dependencies=tuple(pinned_requirement(p) for p in _BUILD_PACKAGES),
        )


def write_environment_files(model_dir: str | Path, requirements: list[str]) -> None:
    """Write requirements.txt, python_env.yaml and conda.yaml into `model_dir`."""
    model_dir = Path(model_dir)
    env = PythonEnv.current()
    (model_dir / REQUIREMENTS_FILE).write_text("\n".join(requirements))
    python_env = {
        "python": env.python,
        "build_dependencies": list(env.build_dependencies),
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (model_dir / PYTHON_ENV_FILE).write_text(
        yaml.dump(python_env, Dumper=YAML_DUMPER, default_flow_style=False, sort_keys=False)
    )
    pip_version = installed_version("pip")
    conda_env = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={env.python}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": list(requirements)},
        ],
        "name": "mlflow-env",
    }
    (model_dir / CONDA_ENV_FILE).write_text(
        yaml.dump(conda_env, Dumper=YAML_DUMPER, default_flow_style=False)
    )


def read_requirements(model_dir: str | Path) -> list[str]:
    path = Path(model_dir) / REQUIREMENTS_FILE
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
