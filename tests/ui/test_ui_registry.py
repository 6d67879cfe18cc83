"""The registry page: models and versions with links to their runs; moving an alias (after the
confirmation) is what `mlgrpc models describe` then shows."""

from __future__ import annotations

import json
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
