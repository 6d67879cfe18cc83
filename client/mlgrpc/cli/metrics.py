"""`mlgrpc metrics plot RUN_ID KEY… [--run RUN_ID…] -o curves.png` (and `metrics history`).

One line per (run, key): the metric's history against its step, all in one PNG. matplotlib is
the optional extra `mlgrpc[plot]`, imported only here and only when plotting.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mlgrpc.cli import output
from mlgrpc.cli.runs import get_run
from mlgrpc.client import MlgrpcClient
from mlgrpc.entities import Metric, Run

PROG = "mlgrpc metrics"
#: A line of one point is only its marker: drawn larger than the markers along a curve.
SINGLE_POINT_MARKER_SIZE = 8


def _parser() -> argparse.ArgumentParser:
    parser, verbs = output.build_parser(PROG, "Metric histories.")
    plot = output.add_verb(verbs, "plot", "plot metric histories against step into one PNG")
    plot.add_argument("run_id", metavar="RUN_ID")
    plot.add_argument("keys", metavar="KEY", nargs="+")
    plot.add_argument(
        "--run", action="append", default=[], metavar="RUN_ID", help="another run; repeatable"
    )
    plot.add_argument("-o", "--out", default="curves.png", help="PNG file (default %(default)s)")
    plot.add_argument("--title", default=None)
    history = output.add_verb(verbs, "history", "print every value of metrics of a run")
    history.add_argument("run_id", metavar="RUN_ID")
    history.add_argument("keys", metavar="KEY", nargs="+")
    return parser


def main(argv: list[str]) -> int:
    args = output.resolve_globals(_parser().parse_args(argv))
    return output.run_command(f"{PROG} {args.verb}", _ACTIONS[args.verb], args)


def collect_histories(
    client: MlgrpcClient, run_ids: list[str], keys: list[str]
) -> list[tuple[Run, str, list[Metric]]]:
    """(run, key, history) for every pair, in the order given; empty histories included."""
    runs = [get_run(client, run_id) for run_id in dict.fromkeys(run_ids)]
    return [
        (run, key, client.get_metric_history(run.info.run_id, key)) for run in runs for key in keys
    ]


def _import_pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise output.CliError(
            "plotting needs matplotlib, which is not installed: pip install 'mlgrpc[plot]'"
        ) from None
    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _label(run: Run, key: str, several_runs: bool) -> str:
    if not several_runs:
        return key
    return f"{run.info.run_name or run.info.run_id[:8]} ({run.info.run_id[:8]}) · {key}"


def _fit_step_axis(axes: Any, steps: set[int]) -> None:
    """Whole-number ticks on the step axis, also when every point is at one step.

    MaxNLocator(integer=True) keeps to integers only while at least two are in view; around a
    single step matplotlib's margins leave none but that step, and the ticks fall back to
    fractions of it. One step of room either side keeps three integers in view."""
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(steps) == 1:
        (step,) = steps
        axes.set_xlim(step - 1, step + 1)


def _annotate_value(axes: Any, point: Metric) -> None:
    """Write the value beside a line's only point: a lone dot reads as nothing without it."""
    axes.annotate(
        f"{point.value:.6g}",
        xy=(point.step, point.value),
        xytext=(8, 8),
        textcoords="offset points",
        fontsize="small",
    )


def _plot(args: argparse.Namespace) -> int:
    plt = _import_pyplot()
    client = MlgrpcClient(args.tracking_uri)
    histories = collect_histories(client, [args.run_id, *args.run], list(args.keys))
    missing = [(run, key) for run, key, points in histories if not points]
    for run, key in missing:
        print(f"{PROG} plot: run {run.info.run_id} has no metric {key!r}", file=sys.stderr)
    lines = [(run, key, points) for run, key, points in histories if points]
    if not lines:
        raise output.CliError("nothing to plot: none of the runs has any of the metrics")
    several_runs = len({run.info.run_id for run, _, _ in lines}) > 1
    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=100)
    try:
        for run, key, points in lines:
            single = len(points) == 1
            axes.plot(
                [p.step for p in points],
                [p.value for p in points],
                marker="o" if len(points) < 30 else None,
                markersize=SINGLE_POINT_MARKER_SIZE if single else 3,
                label=_label(run, key, several_runs),
            )
            if single:
                _annotate_value(axes, points[0])
        _fit_step_axis(axes, {p.step for _, _, points in lines for p in points})
        axes.set_xlabel("step")
        axes.set_ylabel("value" if len(set(args.keys)) > 1 else args.keys[0])
        axes.set_title(args.title or ", ".join(dict.fromkeys(args.keys)))
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize="small")
        figure.tight_layout()
        out = Path(args.out)
        if out.parent and not out.parent.exists():
            raise output.CliError(f"{out.parent}: no such directory")
        figure.savefig(out, format="png")
    finally:
        plt.close(figure)
    if args.output == "json":
        output.print_json(
            {
                "path": str(out),
                "lines": [
                    {"run_id": run.info.run_id, "key": key, "points": len(points)}
                    for run, key, points in lines
                ],
            }
        )
    else:
        print(f"wrote {out} ({len(lines)} line{'s' if len(lines) != 1 else ''})")
    return 0 if not missing else output.EXIT_FAILED


def _point_json(point: Metric) -> dict[str, Any]:
    """A point as JSON; its model and dataset only when it has them (as MLflow's REST API
    leaves out empty fields), so a plain run's history reads as key, value, timestamp, step."""
    fields = dataclasses.asdict(point)
    for link in ("model_id", "dataset_name", "dataset_digest"):
        if not fields[link]:
            del fields[link]
    return fields


def _history(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    histories = collect_histories(client, [args.run_id], list(args.keys))
    if args.output == "json":
        output.print_json([_point_json(p) for _, _, points in histories for p in points])
        return 0
    output.print_table(
        None,
        ("key", "step", "value", "time"),
        [
            (p.key, p.step, p.value, output.format_time_ms(p.timestamp))
            for _, _, points in histories
            for p in points
        ],
        empty="no values",
    )
    return 0


_ACTIONS = {"plot": _plot, "history": _history}
