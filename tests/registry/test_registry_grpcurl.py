"""grpcurl sees the registry through reflection and talks JSON to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from registry_rpc_helpers import unique_name

GRPCURL = Path(sys.executable).parent / "grpcurl"
SERVICE = "mlgrpc.registry.v1.ModelRegistryService"

pytestmark = pytest.mark.skipif(not GRPCURL.exists(), reason="grpcurl is not installed")


def _grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *args], capture_output=True, text=True, timeout=60
    )


def test_grpcurl_list_shows_the_registry_service(registry_server) -> None:
    result = _grpcurl(registry_server, "list")
    assert result.returncode == 0, result.stderr
    assert SERVICE in result.stdout.split()


def test_grpcurl_creates_a_registered_model_with_json_in_and_out(registry_server) -> None:
    name = unique_name("grpcurl")
    body = json.dumps({"name": name, "description": "from grpcurl"})
    result = _grpcurl("-d", body, registry_server, f"{SERVICE}/CreateRegisteredModel")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)["registered_model"]  # grpcurl keeps proto field names
    assert (model["name"], model["description"]) == (name, "from grpcurl")
    assert int(model["creation_timestamp"]) > 0


def test_grpcurl_shows_the_error_info_of_a_failed_call(registry_server) -> None:
    body = json.dumps({"name": ""})
    result = _grpcurl("-d", body, registry_server, f"{SERVICE}/GetRegisteredModel")
    assert result.returncode != 0
    assert "InvalidArgument" in result.stdout + result.stderr
