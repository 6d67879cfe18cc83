"""The experiments list, the runs table, the run page and comparison, in chromium, over the seed
story's run (examples/wine/train.py, unchanged) and a few runs logged beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mlgrpc

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "wine" / "train.py"
SEED_EXPERIMENT = "AirBnb Tracking"  # the seed script's own name
#: rmse of the runs logged beside the seed's: two on each side of 0.8.
OTHER_RMSE = {"low-a": 0.55, "low-b": 0.7, "high-a": 0.9, "high-b": 1.3}


@pytest.fixture(scope="module")
def story(tracking_server: str) -> dict[str, Any]:
    """The seed's training run, then runs with known rmse in the same experiment."""
    env = {**os.environ, "MLGRPC_TRACKING_URI": f"grpc://{tracking_server}"}
    result = subprocess.run(
        [sys.executable, str(TRAIN)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    experiment = client.get_experiment_by_name(SEED_EXPERIMENT)
    assert experiment is not None
    (seed,) = client.search_runs([experiment.experiment_id])
    others = {}
    for i, (name, rmse) in enumerate(OTHER_RMSE.items()):
        run = client.create_run(experiment.experiment_id, run_name=name, params={"alpha": i / 10})
        for step in range(20):
            value = rmse + (20 - step) / 100
            client.log_metric(run.info.run_id, "rmse", value, step=step, synchronous=True)
        client.set_terminated(run.info.run_id)
        others[name] = run.info.run_id
    return {"experiment_id": experiment.experiment_id, "seed": seed, "others": others}


def _runs_page(page: Any, ui_url: str, story: dict[str, Any], query: str = "") -> None:
    page.goto(f"{ui_url}/#/experiments/{story['experiment_id']}{query}")
    page.wait_for_selector("#runs[data-complete], #no-runs, #filter-error:not(:empty)")


def _names(page: Any) -> list[str]:
    return page.locator("#runs tbody tr td:nth-child(2)").all_inner_texts()


def test_the_seed_story_run_appears_with_its_metrics(
    page: Any, ui_url: str, story: dict[str, Any], screenshots: Path
) -> None:
    page.goto(ui_url + "/")
    page.get_by_role("link", name=SEED_EXPERIMENT).click()
    seed = story["seed"]
    row = page.locator(f"tr[data-run='{seed.info.run_id}']")
    row.wait_for()
    rmse = row.locator("td[data-column='m:rmse']").inner_text()
    assert float(rmse) == pytest.approx(seed.data.metrics["rmse"], rel=1e-5)
    page.screenshot(path=screenshots / "runs-table.png")

    row.get_by_role("link").click()
    page.locator("#latest-metrics").wait_for()
    shown = dict(
        (key, float(value))
        for key, value in (
            line.split("\t")[:2]
            for line in page.locator("#latest-metrics tbody tr").all_inner_texts()
        )
    )
    assert shown == pytest.approx(dict(seed.data.metrics), rel=1e-5)
    page.locator("#charts .uplot").first.wait_for()
    page.screenshot(path=screenshots / "run-page.png", full_page=True)


def test_the_experiments_list_counts_runs(page: Any, ui_url: str, story: dict[str, Any]) -> None:
    page.goto(ui_url + "/")
    row = page.locator(f"tr[data-experiment='{SEED_EXPERIMENT}'] .run-count")
    expected = str(1 + len(OTHER_RMSE))
    page.wait_for_function(
        "([el, n]) => el.textContent === n", arg=[row.element_handle(), expected]
    )


def test_a_filter_narrows_the_table(page: Any, ui_url: str, story: dict[str, Any]) -> None:
    _runs_page(page, ui_url, story)
    assert len(_names(page)) == 1 + len(OTHER_RMSE)
    page.fill("#run-filter", "metrics.rmse < 0.8")
    page.press("#run-filter", "Enter")
    page.locator("#runs[data-filter='metrics.rmse < 0.8']").wait_for()
    seed_low = story["seed"].data.metrics["rmse"] < 0.8
    expected = {"low-a", "low-b"} | ({story["seed"].info.run_name} if seed_low else set())
    assert set(_names(page)) == expected
    assert "filter=metrics.rmse" in page.url  # the state is in the URL


def test_a_bad_filter_shows_its_error_under_the_box(
    page: Any, ui_url: str, story: dict[str, Any], screenshots: Path
) -> None:
    _runs_page(page, ui_url, story, "?filter=metrics.rmse%20%3C%3D")
    error = page.locator("#filter-error")
    assert "at character 16" in error.inner_text()
    assert error.locator(".caret").inner_text().endswith(" " * 15 + "^")
    page.screenshot(path=screenshots / "bad-filter.png")


def test_sorting_by_a_metric(page: Any, ui_url: str, story: dict[str, Any]) -> None:
    _runs_page(page, ui_url, story)
    header = page.locator("th[data-column='m:rmse']")
    header.click()
    page.locator("#runs[data-order='metrics.rmse DESC']").wait_for()
    cells = page.locator("#runs td[data-column='m:rmse']").all_inner_texts()
    values = [float(v) for v in cells]
    assert values == sorted(values, reverse=True) and len(values) == 5
    page.locator("th[data-column='m:rmse']").click()
    page.locator("#runs[data-order='metrics.rmse ASC']").wait_for()
    cells = page.locator("#runs td[data-column='m:rmse']").all_inner_texts()
    assert [float(v) for v in cells] == sorted(values)


def test_comparing_three_runs_overlays_one_chart_with_three_series(
    page: Any, ui_url: str, story: dict[str, Any], screenshots: Path
) -> None:
    _runs_page(page, ui_url, story)
    chosen = list(story["others"].values())[:3]
    for run_id in chosen:
        page.locator(f"tr[data-run='{run_id}'] input[type=checkbox]").check()
        page.locator(f"tr[data-run='{run_id}'] input[type=checkbox]:checked").wait_for()
    page.click("#compare")
    page.locator("#compare-chart .uplot").wait_for()
    assert page.locator("#compare-chart .uplot").count() == 1
    # the legend's labels; its first entry is the x axis
    labels = page.locator("#compare-chart .u-legend .u-series .u-label").all_inner_texts()[1:]
    assert labels == list(OTHER_RMSE)[:3]
    assert page.locator("#parallel svg polyline").count() == 3
    assert page.locator("#compare-table tr.differs").count() >= 2  # alpha and rmse differ
    page.screenshot(path=screenshots / "compare.png", full_page=True)


def test_the_theme_button_switches_and_the_choice_stays(
    page: Any, ui_url: str, story: dict[str, Any], screenshots: Path
) -> None:
    _runs_page(page, ui_url, story)
    first = page.evaluate("document.documentElement.dataset.theme")
    page.click("#theme")
    other = "dark" if first == "light" else "light"
    assert page.evaluate("document.documentElement.dataset.theme") == other
    page.reload()
    page.locator("#runs[data-complete]").wait_for()
    assert page.evaluate("document.documentElement.dataset.theme") == other
    if other == "dark":
        page.screenshot(path=screenshots / "runs-table-dark.png")


def test_the_seed_runs_logged_model_shows_its_flavors(
    page: Any, ui_url: str, story: dict[str, Any]
) -> None:
    page.goto(f"{ui_url}/#/runs/{story['seed'].info.run_id}")
    card = page.locator("#logged-models [data-model-path='model']")
    card.wait_for()
    flavors = card.locator("h3 .chip").all_inner_texts()
    assert "sklearn" in flavors and "python_function" in flavors


def test_a_logged_models_signature_and_input_example_are_shown(
    page: Any, ui_url: str, tracking_server: str, story: dict[str, Any]
) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import mlgrpc.sklearn

    frame = pd.DataFrame({"acidity": [7.4, 7.8, 11.2], "alcohol": [9.4, 9.8, 9.8]})
    model = LinearRegression().fit(frame, [5, 5, 6])
    mlgrpc.set_tracking_uri(f"grpc://{tracking_server}")
    with mlgrpc.start_run(experiment_id=story["experiment_id"], run_name="with-example") as run:
        mlgrpc.sklearn.log_model(model, "regressor", input_example=frame.head(2))
    page.goto(f"{ui_url}/#/runs/{run.info.run_id}")
    card = page.locator("#logged-models [data-model-path='regressor']")
    card.wait_for()
    assert card.locator(".signature-inputs th").all_inner_texts() == ["acidity", "alcohol"]
    assert "9.8" in card.locator(".input-example").inner_text()


def test_notes_are_saved_and_shown_as_markdown_without_markup_injection(
    page: Any, ui_url: str, story: dict[str, Any], tracking_server: str
) -> None:
    run_id = story["others"]["low-a"]
    page.goto(f"{ui_url}/#/runs/{run_id}")
    page.get_by_role("button", name="Edit notes").click()
    page.fill("textarea", "# Findings\n- **alpha** 0.5 wins\n<img src=x onerror=alert(1)>")
    page.get_by_role("button", name="Save notes").click()
    page.locator(".notes h3", has_text="Findings").wait_for()
    assert page.locator(".notes li strong").inner_text() == "alpha"
    assert page.locator(".notes img").count() == 0  # shown as text
    tags = mlgrpc.MlgrpcClient(tracking_server).get_run(run_id).data.tags
    assert tags["mlflow.note.content"].startswith("# Findings")


def test_a_link_to_the_runs_page_names_it_in_the_url_and_back_returns(
    page: Any, ui_url: str, story: dict[str, Any]
) -> None:
    page.goto(ui_url + "/")
    page.get_by_role("link", name=SEED_EXPERIMENT).click()
    page.locator("#runs[data-complete]").wait_for()
    # The URL changes once the table is drawn: it names the experiment, as a new history entry.
    page.wait_for_function(
        "id => location.hash === `#/experiments/${id}`", arg=story["experiment_id"]
    )
    page.go_back()
    page.locator(f"tr[data-experiment='{SEED_EXPERIMENT}']").wait_for()
    assert page.locator("#runs").count() == 0
    page.go_forward()
    page.locator("#runs[data-complete]").wait_for()
