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
    probes = {
        validate.parse_command(container["command"])[0]: container["readinessProbe"]
        for _, container in validate.k8s_containers()
        if "readinessProbe" in container
    }
    assert set(probes) == {"tracking", "registry", "scoring", "gateway"}
    assert probes["scoring"]["grpc"] == {
        "port": 8088,
        "service": "mlgrpc.scoring.v1.ScoringService",
    }
    # The gateway speaks HTTP: its own /health on its port.
    assert probes["gateway"]["httpGet"] == {"path": "/health", "port": 5000}


def test_a_gateway_probe_on_another_port_is_reported(validate: ModuleType) -> None:
    problems: list[str] = []
    container = {
        "ports": [{"containerPort": 5000}],
        **{
            kind: {"httpGet": {"path": "/health", "port": 5001}}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe")
        },
    }
    validate.check_http_probes("gateway", container, 5000, {5000}, problems)
    assert len(problems) == 3 and all("5001" in problem for problem in problems)


def test_a_mistyped_flag_is_reported(validate: ModuleType) -> None:
    with pytest.raises(SystemExit):
        validate.parse_command(["mlgrpc", "server", "tracking", "--prot", "50051"])
    with pytest.raises(ValueError, match="unknown mlgrpc command"):
        validate.parse_command(["mlgrpc", "server", "trackin"])


def test_every_path_the_dockerfile_copies_reaches_the_build(validate: ModuleType) -> None:
    copies = validate.dockerfile_copies()
    assert {"pyproject.toml", "client", "mlgrpc_server", "scoring_service", "gateway"} <= set(
        copies
    )
    assert not [path for path in copies if validate.ignored_by_dockerignore(path)]
    assert validate.ignored_by_dockerignore(".venv")
    assert validate.ignored_by_dockerignore("tests")
