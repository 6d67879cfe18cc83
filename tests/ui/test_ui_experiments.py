"""The experiments page: search by name, create, rename and delete (each asked for first)."""

from __future__ import annotations

from typing import Any

import pytest

import mlgrpc


@pytest.fixture(scope="module")
def experiments(tracking_server: str) -> dict[str, str]:
    client = mlgrpc.MlgrpcClient(tracking_server)
    return {name: client.create_experiment(name) for name in ("Wine-red", "wine-white", "beer")}


def _names(page: Any) -> list[str]:
    return page.locator("#experiments tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.experiment)"
    )


def test_search_by_name_ignores_case(page: Any, ui_url: str, experiments: dict[str, str]) -> None:
    page.goto(ui_url + "/#/?q=WINE")
    page.locator("#experiments").wait_for()
    assert sorted(_names(page)) == ["Wine-red", "wine-white"]


def test_create_rename_delete(page: Any, ui_url: str, tracking_server: str) -> None:
    page.goto(ui_url + "/")
    page.locator("#experiments").wait_for()
    page.once("dialog", lambda dialog: dialog.accept("cider"))
    page.get_by_role("button", name="New experiment").click()
    page.locator("h1", has_text="cider").wait_for()  # its runs table

    page.goto(ui_url + "/#/?q=cider")
    row = page.locator("tr[data-experiment='cider']")
    page.once("dialog", lambda dialog: dialog.accept("perry"))
    row.get_by_role("button", name="Rename").click()
    page.goto(ui_url + "/#/?q=perry")
    row = page.locator("tr[data-experiment='perry']")
    row.wait_for()

    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    client = mlgrpc.MlgrpcClient(tracking_server)
    perry = client.get_experiment_by_name("perry")
    assert perry is not None and perry.lifecycle_stage == "active"
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    page.locator("text=No experiment matches").wait_for()
    assert client.get_experiment_by_name("perry").lifecycle_stage == "deleted"


def test_runs_of_two_experiments_in_one_table(
    page: Any, ui_url: str, experiments: dict[str, str], tracking_server: str
) -> None:
    client = mlgrpc.MlgrpcClient(tracking_server)
    for name in ("Wine-red", "beer"):
        client.create_run(experiments[name], run_name=f"run-of-{name}")
    page.goto(ui_url + "/")
    for name in ("Wine-red", "beer"):
        page.locator(f"tr[data-experiment='{name}'] input[type=checkbox]").check()
    page.click("#runs-of-selected")
    page.locator("#runs[data-complete]").wait_for()
    names = page.locator("#runs tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(names) == ["run-of-Wine-red", "run-of-beer"]
