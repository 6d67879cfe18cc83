"""`mlgrpc.registry_client.RegistryClient` against a real registry: typed entities and errors."""

from __future__ import annotations

import pytest
from registry_rpc_helpers import unique_name

from mlgrpc.exceptions import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from mlgrpc.registry_client import RegistryClient
from mlgrpc.registry_entities import ModelVersion, RegisteredModel


@pytest.fixture(scope="module")
def client(registry_server: str) -> RegistryClient:
    return RegistryClient(f"grpc://{registry_server}")


def test_client_registered_model_lifecycle(client: RegistryClient) -> None:
    name, new_name = unique_name(), unique_name("renamed")
    created = client.create_registered_model(name, tags={"team": "ml"}, description="d")
    assert isinstance(created, RegisteredModel)
    assert (created.name, created.tags, created.description) == (name, {"team": "ml"}, "d")
    client.set_registered_model_tag(name, "stage", 1)
    assert client.get_registered_model(name).tags == {"team": "ml", "stage": "1"}
    client.delete_registered_model_tag(name, "team")
    assert client.update_registered_model(name, "new").description == "new"
    assert client.rename_registered_model(name, new_name).name == new_name
    client.delete_registered_model(new_name)
    with pytest.raises(NotFoundError) as caught:
        client.get_registered_model(new_name)
    assert caught.value.reason == "RESOURCE_DOES_NOT_EXIST"
    assert caught.value.field == "name"


def test_client_model_versions_stages_aliases_and_uris(
    client: RegistryClient, new_run, model_source
) -> None:
    run = new_run()
    name = unique_name()
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"runs:/{run.run_id}/model", tags={"k": "v"})
    assert isinstance(mv, ModelVersion)
    assert (mv.version, mv.run_id, mv.status, mv.tags) == (1, run.run_id, "READY", {"k": "v"})
    client.create_model_version(name, f"{model_source}-other", description="two")
    assert client.get_model_version(name, "2").description == "two"
    assert client.update_model_version(name, 2, "2nd").description == "2nd"
    client.set_model_version_tag(name, 2, "t", "x")
    client.delete_model_version_tag(name, 2, "t")
    assert client.get_model_version(name, 2).tags == {}
    moved = client.transition_model_version_stage(name, 1, "production")
    assert moved.current_stage == "Production"
    assert [v.version for v in client.get_latest_versions(name, ["Production"])] == [1]
    client.set_registered_model_alias(name, "champion", 1)
    assert client.get_model_version_by_alias(name, "champion").aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": 1}
    resolved = client.resolve_model_uri(f"models:/{name}@champion")
    assert (resolved.run_id, resolved.artifact_path) == (run.run_id, "model")
    assert resolved.storage_location == client.get_model_version_download_uri(name, 1)
    client.delete_registered_model_alias(name, "champion")
    found = client.search_model_versions(f"name = '{name}'")
    assert [v.version for v in found] == [2, 1] and found.token is None
    client.delete_model_version(name, 2)
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == [1]


def test_client_search_registered_models_pages(client: RegistryClient) -> None:
    prefix = unique_name("paged")
    for i in range(3):
        client.create_registered_model(f"{prefix}-{i}")
    first = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2)
    assert [m.name for m in first] == [f"{prefix}-0", f"{prefix}-1"] and first.token
    rest = client.search_registered_models(
        f"name LIKE '{prefix}-%'", max_results=2, page_token=first.token
    )
    assert [m.name for m in rest] == [f"{prefix}-2"] and rest.token is None


def test_client_raises_typed_exceptions(client: RegistryClient, model_source) -> None:
    name = unique_name()
    client.create_registered_model(name)
    with pytest.raises(AlreadyExistsError):
        client.create_registered_model(name)
    with pytest.raises(InvalidArgumentError) as caught:
        client.set_registered_model_alias(name, "latest", 1)
    assert caught.value.field == "alias"
    client.create_model_version(name, model_source)
    with pytest.raises(FailedPreconditionError):
        client.transition_model_version_stage(name, 1, "None", archive_existing_versions=True)
    with pytest.raises(InvalidArgumentError):
        client.get_model_version(name, "one")


def test_client_watch_yields_the_model(client: RegistryClient) -> None:
    name = unique_name("watched")
    client.create_registered_model(name)
    first = next(iter(client.watch_registered_model(name, timeout=30)))
    assert first.name == name


def test_importing_the_client_loads_no_server_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mlgrpc.registry_client; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'registry_service', 'mlgrpc_server', 'tracking_service')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
