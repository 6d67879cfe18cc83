"""The runs table's controls: keyset pages forward and back, chosen columns, nested runs under
their parent, grouping by a param; each kept in the URL."""

from __future__ import annotations

from typing import Any

import pytest

import mlgrpc

PAGE_SIZE = 50  # gateway/ui/static/views/runs.js


@pytest.fixture(scope="module")
def experiment_id(tracking_server: str) -> str:
    """60 runs (two pages), alpha in {0.1, 0.2}; the last is the parent of two nested runs."""
    client = mlgrpc.MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment("table-controls")
    for i in range(58):
        run = client.create_run(
            experiment_id, run_name=f"run-{i:02d}", params={"alpha": 0.1 * (1 + i % 2)},
            start_time=1_700_000_000_000 + i * 1000,
        )  # fmt: skip
        client.log_metric(run.info.run_id, "rmse", i / 100, synchronous=True)
    parent = client.create_run(experiment_id, run_name="parent", start_time=1_700_000_100_000)
    for name in ("child-a", "child-b"):
        client.create_run(
            experiment_id, run_name=name, parent_run_id=parent.info.run_id,
            start_time=1_700_000_090_000,
        )  # fmt: skip
    return experiment_id


def test_a_page_draws_the_rows_in_view_first_then_the_rest(
    page: Any, ui_url: str, experiment_id: str
) -> None:
    """All 50 rows end up in the table, each once, once it says it is complete."""
    page.goto(f"{ui_url}/#/experiments/{experiment_id}?order=attributes.run_name%20DESC")
    page.locator("#runs[data-complete]").wait_for()
    names = _names(page)
    assert len(names) == len(set(names)) == PAGE_SIZE
    assert names[:3] == ["run-57", "run-56", "run-55"] and names[-1] == "run-08"


def _names(page: Any) -> list[str]:
    return page.locator("#runs tbody tr[data-run] td:nth-child(2)").all_inner_texts()


def test_pages_forward_and_back(page: Any, ui_url: str, experiment_id: str) -> None:
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    page.locator("#runs[data-complete]").wait_for()
    first = _names(page)
    assert len(first) == PAGE_SIZE
    page.click("#next-page")
    page.wait_for_function("location.hash.includes('page=')")
    page.locator("#prev-page:not([disabled])").wait_for()
    page.locator("#runs[data-complete]").wait_for()
    second = _names(page)
    assert len(second) == 61 - PAGE_SIZE and not set(first) & set(second)
    assert page.locator("#next-page").is_disabled()
    page.click("#prev-page")
    page.wait_for_function("!location.hash.includes('page=')")
    page.locator("#prev-page[disabled]").wait_for()
    page.locator("#runs[data-complete]").wait_for()
    assert _names(page) == first


def test_nested_runs_follow_their_parent(page: Any, ui_url: str, experiment_id: str) -> None:
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    page.locator("#runs[data-complete]").wait_for()
    names = _names(page)
    at = names.index("parent")
    assert sorted(names[at + 1 : at + 3]) == ["child-a", "child-b"]
    assert page.locator("#runs tr.child").count() == 2


def test_chosen_columns_are_the_only_ones(page: Any, ui_url: str, experiment_id: str) -> None:
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    page.locator("#runs th[data-column='p:alpha']").wait_for()
    page.click("#columns")
    page.locator(".columns .menu input[value='p:alpha']").uncheck()
    page.wait_for_function("location.hash.includes('cols=m%3Armse')")
    page.locator("#runs[data-complete]").wait_for()
    assert page.locator("#runs th[data-column='p:alpha']").count() == 0
    assert page.locator("#runs th[data-column='m:rmse']").count() == 1


def test_grouping_by_a_param(page: Any, ui_url: str, experiment_id: str) -> None:
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    page.locator("#runs[data-complete]").wait_for()
    page.select_option("#group", "alpha")
    page.wait_for_function("location.hash.includes('group=alpha')")
    page.locator("#runs tr.group").first.wait_for()
    groups = page.locator("#runs tr.group").all_inner_texts()
    assert sorted(groups) == ["alpha = 0.1", "alpha = 0.2", "alpha not set"]


def test_markup_in_names_and_values_is_shown_as_text(
    page: Any, ui_url: str, tracking_server: str
) -> None:
    """The rows are built as one HTML string: every name and value in it is escaped."""
    client = mlgrpc.MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment("markup")
    run = client.create_run(
        experiment_id, run_name="<b>bold</b> & co", params={"note": '"><img src=x>'}
    )
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    row = page.locator(f"tr[data-run='{run.info.run_id}']")
    row.wait_for()
    assert row.locator("td:nth-child(2)").inner_text() == "<b>bold</b> & co"
    assert row.locator("td[data-column='p:note']").inner_text() == '"><img src=x>'
    assert page.locator("#runs img, #runs b").count() == 0
