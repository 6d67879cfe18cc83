"""Fixtures of the CLI suite: real tracking and registry services (SQLite and MariaDB, see
`db_uri`), a seeded experiment with runs, metrics, artifacts and a registered model, and `cli`,
which runs `mlgrpc …` in-process and returns its exit status and output."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgrpc.client import MlgrpcClient
from mlgrpc.entities import Metric
from mlgrpc.registry_client import RegistryClient


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tracking_server: str, registry_server: str) -> Cli:
    """`cli("runs", "list", …)` → Result; the service addresses are passed as global flags."""
    from mlgrpc.cli.main import main

    def run(*argv: str, addresses: bool = True) -> Result:
        capsys.readouterr()
        flags = ["--tracking-uri", tracking_server, "--registry-uri", registry_server]
        code = main([*argv, *(flags if addresses else [])])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@dataclass(frozen=True)
class Seeded:
    experiment_name: str
    experiment_id: str
    #: Two finished runs: alpha 0.5 vs 0.7, and rmse histories over steps 0..4.
    run_ids: tuple[str, str]
    model_name: str


@pytest.fixture(scope="module")
def seeded(
    tracking_server: str, registry_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Seeded:
    client = MlgrpcClient(tracking_server)
    name = "cli-wine"
    experiment_id = client.create_experiment(name)
    run_ids = []
    for index, alpha in enumerate((0.5, 0.7)):
        run = client.create_run(experiment_id, run_name=f"alpha-{alpha}")
        run_id = run.info.run_id
        client.log_param(run_id, "alpha", alpha)
        client.log_param(run_id, "l1_ratio", 0.5)
        client.log_batch(
            run_id,
            metrics=[
                Metric("rmse", 1.0 / (step + 1) + index * 0.1, 1_700_000_000_000 + step, step)
                for step in range(5)
            ],
        )
        client.log_metric(run_id, "r2", 0.25 + index, step=0)
        client.set_tag(run_id, "team", "cli")
        model_dir = tmp_path_factory.mktemp("model")
        (model_dir / "MLmodel").write_text("flavors: {}\n")
        client.log_artifacts(run_id, model_dir, "model")
        client.set_terminated(run_id)
        run_ids.append(run_id)
    registry = RegistryClient(registry_server)
    model_name = "cli-model"
    registry.create_registered_model(model_name, description="seeded by the CLI tests")
    for run_id in run_ids:
        registry.create_model_version(model_name, f"runs:/{run_id}/model", run_id=run_id)
    return Seeded(name, experiment_id, (run_ids[0], run_ids[1]), model_name)


@pytest.fixture
def down_address() -> str:
    """A loopback address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def write_file() -> Callable[[Path, int], Path]:
    def write(path: Path, size: int) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
        return path

    return write
