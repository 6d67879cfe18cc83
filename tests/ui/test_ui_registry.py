"""The registry page: models and versions with links to their runs; moving an alias (after the
confirmation) is what `mlgrpc models describe` then shows; tags set, changed and deleted; which
version a real scoring service serves (and a readable line when none can be asked)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import serve_gateway

import mlgrpc
from mlgrpc.registry_client import RegistryClient

MODEL = "ui-wine"


@pytest.fixture(scope="module")
def registry_ui_url(tracking_server: str, registry_server: str) -> Iterator[str]:
    with serve_gateway(tracking_server, registry_server) as url:
        yield url


@pytest.fixture(scope="module")
def model(
    tracking_server: str, registry_server: str, tmp_path_factory: pytest.TempPathFactory
) -> list[str]:
    """Two versions of MODEL from two runs; @champion on version 1."""
    client = mlgrpc.MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment("registry-page")
    registry = RegistryClient(registry_server)
    registry.create_registered_model(MODEL, description="two ElasticNets")
    run_ids = []
    for alpha in (0.5, 0.7):
        run = client.create_run(experiment_id, run_name=f"alpha-{alpha}")
        model_dir = tmp_path_factory.mktemp("model")
        (model_dir / "MLmodel").write_text("flavors: {}\n")
        client.log_artifacts(run.info.run_id, model_dir, "model")
        client.set_terminated(run.info.run_id)
        registry.create_model_version(
            MODEL, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
        )
        run_ids.append(run.info.run_id)
    registry.set_registered_model_alias(MODEL, "champion", 1)
    return run_ids


def _describe(tracking_server: str, registry_server: str) -> Any:
    mlgrpc_cli = Path(sys.executable).with_name("mlgrpc")
    result = subprocess.run(
        [str(mlgrpc_cli), "models", "describe", MODEL, "-O", "json",
         "--tracking-uri", tracking_server, "--registry-uri", registry_server],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_models_list_links_to_the_model(
    page: Any, registry_ui_url: str, model: list[str]
) -> None:
    page.goto(registry_ui_url + "/#/models")
    page.locator(f"tr[data-model='{MODEL}']", has_text="@champion → v1").wait_for()
    page.get_by_role("link", name=MODEL).click()
    page.locator("#versions tr[data-version='2']").wait_for()
    page.locator("#versions tr[data-version='1'] a", has_text=model[0][:8]).click()
    page.locator("#latest-metrics, #run-status").first.wait_for()
    assert model[0] in page.url


def test_moving_an_alias_is_seen_by_mlgrpc_models_describe(
    page: Any,
    registry_ui_url: str,
    model: list[str],
    tracking_server: str,
    registry_server: str,
    screenshots: Path,
) -> None:
    page.goto(f"{registry_ui_url}/#/models/{MODEL}")
    row = page.locator("#aliases tr[data-alias='champion']")
    row.wait_for()
    row.locator("select").select_option("2")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.locator(".move-alias").click()
    assert asked == [f"Move @champion of {MODEL} from version 1 to version 2?"]
    described = _describe(tracking_server, registry_server)
    assert described["registered_model"]["aliases"] == {"champion": 1}  # dismissed: unchanged

    page.once("dialog", lambda dialog: dialog.accept())
    row.locator(".move-alias").click()
    page.locator("#aliases tr[data-alias='champion']", has_text="version 2").first.wait_for()
    described = _describe(tracking_server, registry_server)
    assert described["registered_model"]["aliases"] == {"champion": 2}
    page.screenshot(path=screenshots / "registry.png", full_page=True)


def test_without_a_registry_address_the_page_says_how_to_get_one(page: Any, ui_url: str) -> None:
    page.goto(ui_url + "/#/models")
    assert "--registry-address" in page.locator("main [role=alert]").inner_text()


def test_a_stage_change_is_confirmed_then_made(
    page: Any, registry_ui_url: str, model: list[str], registry_server: str
) -> None:
    page.goto(f"{registry_ui_url}/#/models/{MODEL}")
    stage = page.locator("#versions tr[data-version='1'] select.stage")
    stage.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    stage.select_option("Staging")
    page.locator("#versions tr[data-version='1'] select.stage").wait_for()
    page.wait_for_function(
        "() => document.querySelector(\"#versions tr[data-version='1'] select.stage\")"
        "?.value === 'Staging'"
    )
    version = RegistryClient(registry_server).get_model_version(MODEL, 1)
    assert version.current_stage == "Staging"


def test_model_tags_are_set_changed_and_deleted(
    page: Any, registry_ui_url: str, model: list[str], registry_server: str
) -> None:
    registry = RegistryClient(registry_server)
    page.goto(f"{registry_ui_url}/#/models/{MODEL}")
    page.locator("#new-model-tag-key").fill("owner")
    page.locator("#new-model-tag-value").fill("data-team")
    page.click("#set-model-tag")
    row = page.locator("#model-tags tr[data-tag='owner']")
    row.wait_for()
    assert registry.get_registered_model(MODEL).tags == {"owner": "data-team"}

    row.locator("input").fill("ml-team")
    row.locator(".save-tag").click()
    page.wait_for_function(
        "() => document.querySelector(\"#model-tags tr[data-tag='owner'] input\")?.value"
        " === 'ml-team' && !document.activeElement?.closest('#model-tags')"
    )
    assert registry.get_registered_model(MODEL).tags == {"owner": "ml-team"}

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#model-tags tr[data-tag='owner'] .delete-tag").click()
    page.locator("#model-tags tr[data-tag='owner']").wait_for(state="detached")
    assert registry.get_registered_model(MODEL).tags == {}


def test_version_tags_are_set_and_deleted(
    page: Any, registry_ui_url: str, model: list[str], registry_server: str
) -> None:
    registry = RegistryClient(registry_server)
    page.goto(f"{registry_ui_url}/#/models/{MODEL}")
    page.locator("#new-version-tag-version").select_option("1")
    page.locator("#new-version-tag-key").fill("validated")
    page.locator("#new-version-tag-value").fill("yes")
    page.click("#set-version-tag")
    chip = page.locator("#versions tr[data-version='1'] .chip[data-tag='validated']")
    chip.wait_for()
    assert "validated=yes" in chip.inner_text()
    assert registry.get_model_version(MODEL, 1).tags == {"validated": "yes"}

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    chip.locator(".chip-x").click()
    chip.wait_for(state="detached")
    assert asked == [f"Delete the tag validated of version 1 of {MODEL}?"]
    assert registry.get_model_version(MODEL, 1).tags == {}


def test_without_a_scoring_address_the_page_says_how_to_ask_one(
    page: Any, registry_ui_url: str, model: list[str]
) -> None:
    page.goto(f"{registry_ui_url}/#/models/{MODEL}")
    served = page.locator("#served", has_text="--scoring-address")
    served.wait_for()


def test_a_scoring_service_that_does_not_answer_is_a_line_not_a_broken_page(
    page: Any, tracking_server: str, registry_server: str, model: list[str]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    with serve_gateway(tracking_server, registry_server, address) as url:
        page.goto(f"{url}/#/models/{MODEL}")
        page.locator("#served .error", has_text=address).wait_for()
        assert page.locator("#versions tr[data-version='2']").count() == 1


@pytest.fixture(scope="module")
def served_model(
    tracking_server: str, registry_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A real scoring service serving `models:/ui-served@champion`, @champion on version 2 of
    two versions of a fitted LinearRegression; the model's name and the service's address."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    from mlgrpc import sklearn as mlgrpc_sklearn
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    name = "ui-served"
    client = mlgrpc.MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment("registry-served")
    registry = RegistryClient(registry_server)
    registry.create_registered_model(name)
    x = np.arange(20, dtype=float).reshape(10, 2)
    for _ in range(2):
        run = client.create_run(experiment_id)
        model_dir = tmp_path_factory.mktemp("served") / "model"
        mlgrpc_sklearn.save_model(LinearRegression().fit(x, x.sum(axis=1)), model_dir)
        client.log_artifacts(run.info.run_id, model_dir, "model")
        client.set_terminated(run.info.run_id)
        registry.create_model_version(
            name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
        )
    registry.set_registered_model_alias(name, "champion", 2)
    config = ServeConfig(
        models=(ModelSpec(f"models:/{name}@champion"),),
        port=0,
        registry_address=registry_server,
        tracking_address=tracking_server,
        cache_dir=tmp_path_factory.mktemp("scoring-cache"),
    )
    server = create_server(config)
    yield name, server.address
    server.stop(grace=0)


def test_the_version_a_scoring_service_serves_is_shown(
    page: Any,
    tracking_server: str,
    registry_server: str,
    served_model: tuple[str, str],
    screenshots: Path,
) -> None:
    name, address = served_model
    with serve_gateway(tracking_server, registry_server, address) as url:
        page.goto(f"{url}/#/models/{name}")
        line = page.locator("#served .served-model")
        line.wait_for()
        assert line.get_attribute("data-version") == "2"
        assert f"serves version 2 (loaded from models:/{name}@champion" in line.inner_text()
        page.locator("#versions tr[data-version='2'] .chip.served").wait_for()
        assert page.locator("#versions tr[data-version='1'] .chip.served").count() == 0
        page.screenshot(path=screenshots / "registry-served.png", full_page=True)
