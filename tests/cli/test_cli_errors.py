"""What every command does when things go wrong: one line, an exit status, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from mlgrpc import config

if TYPE_CHECKING:
    from conftest import Cli, Seeded


def test_tracking_service_down_names_the_address(cli: Cli, down_address: str) -> None:
    result = cli("runs", "describe", "abc", "--tracking-uri", down_address, addresses=False)
    assert result.code != 0
    assert result.err.strip() == (
        f"mlgrpc runs describe: cannot reach the tracking service at {down_address}"
    )


def test_registry_service_down_names_the_address(cli: Cli, down_address: str) -> None:
    result = cli("models", "list", "--registry-uri", down_address, addresses=False)
    assert result.code != 0
    assert f"cannot reach the registry service at {down_address}" in result.err


def test_unreachable_http_uri_says_it_is_read_as_grpc(cli: Cli, down_address: str) -> None:
    uri = f"http://{down_address}"
    result = cli("experiments", "list", "--tracking-uri", uri, addresses=False)
    assert result.code != 0
    assert f"cannot reach the tracking service at {uri}" in result.err
    assert "plaintext gRPC" in result.err and "grpc://" in result.err


def test_http_uri_with_a_rest_path_is_refused_with_the_grpc_form(cli: Cli) -> None:
    uri = "http://127.0.0.1:5000/api/2.0/mlflow"
    result = cli("experiments", "list", "--tracking-uri", uri, addresses=False)
    assert result.code != 0
    assert "grpc://" in result.err and "path" in result.err


def test_environment_variables_give_the_addresses(
    cli: Cli, seeded: Seeded, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.reset()
    monkeypatch.setenv("MLGRPC_TRACKING_URI", f"grpc://{tracking_server}")
    result = cli("runs", "describe", seeded.run_ids[0], "-O", "json", addresses=False)
    assert result.code == 0, result.err
    assert result.json()["run"]["info"]["run_id"] == seeded.run_ids[0]


def test_global_flags_may_come_before_the_verb(cli: Cli, tracking_server: str) -> None:
    result = cli(
        "experiments", "--output", "json", "--tracking-uri", tracking_server, "list",
        addresses=False,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert any(e["name"] == "Default" for e in result.json())


def test_missing_verb_is_a_usage_error(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("runs", addresses=False)
    assert exited.value.code == 2


def test_unknown_run_as_a_subprocess_prints_one_line_and_no_traceback(
    tracking_server: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "runs", "describe", "nope",
         "--tracking-uri", tracking_server],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == "mlgrpc runs describe: run nope not found"
    assert done.stdout == ""
