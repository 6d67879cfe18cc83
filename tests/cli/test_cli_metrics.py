"""`mlgrpc metrics plot|history` against a real tracking service."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mlgrpc.client import MlgrpcClient

if TYPE_CHECKING:
    from conftest import Cli, Seeded

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png_with_one_line_per_run_and_key(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "curves.png"
    result = cli(
        "metrics", "plot", seeded.run_ids[0], "rmse", "r2", "--run", seeded.run_ids[1],
        "-o", str(out), "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000
    lines = result.json()["lines"]
    assert len(lines) == 4
    assert {"run_id": seeded.run_ids[0], "key": "rmse", "points": 5} in lines


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the command saves, kept for inspection (their axes, not their pixels)."""
    from matplotlib.figure import Figure

    figures: list[Any] = []
    save = Figure.savefig

    def keep(self: Figure, *args: Any, **kwargs: Any) -> None:
        figures.append(self)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


@pytest.mark.parametrize("step", [0, 7])
def test_plot_of_a_single_point_has_whole_step_ticks_and_shows_its_value(
    cli: Cli, tracking_server: str, tmp_path: Path, drawn_figures: list[Any], step: int
) -> None:
    client = MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment(f"one-point-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "rmse", 0.8125, step=step)
    out = tmp_path / "one.png"
    result = cli("metrics", "plot", run_id, "rmse", "-o", str(out))
    assert result.code == 0, result.err
    assert out.read_bytes().startswith(PNG_MAGIC)
    (figure,) = drawn_figures
    (axes,) = figure.axes
    low, high = axes.get_xlim()
    assert low <= step - 1 and step + 1 <= high
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert step in ticks and all(float(t).is_integer() for t in ticks), ticks
    assert [text.get_text() for text in axes.texts] == ["0.8125"]
    (line,) = axes.get_lines()
    assert line.get_marker() == "o"


def test_plot_of_a_curve_keeps_whole_step_ticks_and_annotates_nothing(
    cli: Cli, seeded: Seeded, tmp_path: Path, drawn_figures: list[Any]
) -> None:
    result = cli("metrics", "plot", seeded.run_ids[0], "rmse", "-o", str(tmp_path / "c.png"))
    assert result.code == 0, result.err
    (axes,) = drawn_figures[0].axes
    low, high = axes.get_xlim()
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert all(float(t).is_integer() for t in ticks), ticks
    assert len(axes.texts) == 0


def test_plot_of_a_missing_metric_names_it_and_fails(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    result = cli("metrics", "plot", seeded.run_ids[0], "accuracy", "-o", str(tmp_path / "x.png"))
    assert result.code != 0
    assert f"run {seeded.run_ids[0]} has no metric 'accuracy'" in result.err
    assert "nothing to plot" in result.err


def test_plot_of_an_unknown_run_says_run_not_found(cli: Cli, tmp_path: Path) -> None:
    result = cli("metrics", "plot", "abc123", "rmse", "-o", str(tmp_path / "x.png"))
    assert result.code != 0
    assert "run abc123 not found" in result.err


def test_plot_without_matplotlib_says_how_to_install_it(
    cli: Cli, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` → ImportError
    result = cli("metrics", "plot", seeded.run_ids[0], "rmse", "-o", str(tmp_path / "x.png"))
    assert result.code != 0
    assert "pip install 'mlgrpc[plot]'" in result.err


def test_history_json_is_every_point_in_step_order(cli: Cli, seeded: Seeded) -> None:
    result = cli("metrics", "history", seeded.run_ids[0], "rmse", "-O", "json")
    assert result.code == 0, result.err
    points = result.json()
    assert [p["step"] for p in points] == [0, 1, 2, 3, 4]
    assert points[0] == {"key": "rmse", "value": 1.0, "timestamp": 1_700_000_000_000, "step": 0}
