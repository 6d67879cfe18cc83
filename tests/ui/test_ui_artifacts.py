"""A run's artifacts on its page: a tree opened on demand, previews of CSV (a table), JSON
(indented), text and PNG images, and the file's bytes to download."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import mlgrpc

#: A 1×1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def run_id(tracking_server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    client = mlgrpc.MlgrpcClient(tracking_server)
    run = client.create_run(client.create_experiment("artifacts-page"))
    run_id = run.info.run_id
    client.log_text(run_id, 'name,score\n"wine, red",0.9\nwhite,0.8\n', "eval/scores.csv")
    client.log_dict(run_id, {"alpha": 0.5, "layers": [1, 2]}, "config.json")
    client.log_text(run_id, "epoch 1 done\n", "train.log")
    image = tmp_path_factory.mktemp("img") / "plot.png"
    image.write_bytes(PNG)
    client.log_artifact(run_id, str(image), "plots")
    client.set_terminated(run_id)
    return run_id


def _open(page: Any, ui_url: str, run_id: str, *folders: str) -> None:
    page.goto(f"{ui_url}/#/runs/{run_id}")
    for folder in folders:
        page.locator("#artifact-tree a", has_text=f"{folder}/").click()


def test_a_csv_is_previewed_as_a_table(page: Any, ui_url: str, run_id: str) -> None:
    _open(page, ui_url, run_id, "eval")
    page.locator("[data-artifact='eval/scores.csv']").click()
    table = page.locator("#artifact-preview table.csv")
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["name", "score"]
    assert table.locator("tbody tr").first.locator("td").all_inner_texts() == ["wine, red", "0.9"]


def test_json_is_indented_and_text_shown(page: Any, ui_url: str, run_id: str) -> None:
    _open(page, ui_url, run_id)
    page.locator("[data-artifact='config.json']").click()
    page.locator("#artifact-preview pre", has_text='"alpha": 0.5').wait_for()
    page.locator("[data-artifact='train.log']").click()
    page.locator("#artifact-preview pre", has_text="epoch 1 done").wait_for()


def test_an_image_is_shown_and_downloadable(
    page: Any, ui_url: str, run_id: str, tmp_path: Path
) -> None:
    _open(page, ui_url, run_id, "plots")
    page.locator("[data-artifact='plots/plot.png']").click()
    image = page.locator("#artifact-preview img")
    image.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 1", arg=image.element_handle()
    )
    with page.expect_download() as download:
        page.locator("#artifact-preview button", has_text="Download").click()
    saved = tmp_path / "plot.png"
    download.value.save_as(saved)
    assert saved.read_bytes() == PNG
