"""deploy/validate.py's consistency checks, on the real files and on broken ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

VALIDATE = Path(__file__).resolve().parents[2] / "deploy" / "validate.py"


@pytest.fixture(scope="module")
def validate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_validate", VALIDATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_compose_file_and_manifests_agree_with_the_code(validate: ModuleType) -> None:
    problems: list[str] = []
    names = validate.service_names()
    validate.check_kubernetes(names, problems)
    validate.check_compose(names, problems)
    assert problems == []


def test_every_service_has_a_kubernetes_grpc_probe_on_its_port(validate: ModuleType) -> None:
    probed = {
        validate.parse_command(container["command"])[0]: container["readinessProbe"]["grpc"]
        for _, container in validate.k8s_containers()
        if "readinessProbe" in container
    }
    assert set(probed) == {"tracking", "registry", "scoring"}
    assert probed["scoring"] == {"port": 8088, "service": "mlgrpc.scoring.v1.ScoringService"}


def test_a_mistyped_flag_is_reported(validate: ModuleType) -> None:
    with pytest.raises(SystemExit):
        validate.parse_command(["mlgrpc", "server", "tracking", "--prot", "50051"])
    with pytest.raises(ValueError, match="unknown mlgrpc command"):
        validate.parse_command(["mlgrpc", "server", "trackin"])


def test_every_path_the_dockerfile_copies_reaches_the_build(validate: ModuleType) -> None:
    copies = validate.dockerfile_copies()
    assert {"pyproject.toml", "client", "mlgrpc_server", "scoring_service"} <= set(copies)
    assert not [path for path in copies if validate.ignored_by_dockerignore(path)]
    assert validate.ignored_by_dockerignore(".venv")
    assert validate.ignored_by_dockerignore("tests")
