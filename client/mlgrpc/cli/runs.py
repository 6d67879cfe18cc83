"""`mlgrpc runs list|describe|compare|sync`: the runs of an experiment, one run, runs side by
side, and sending what async logging kept in the local spool."""

from __future__ import annotations

import argparse
from typing import Any

from mlgrpc.cli import output
from mlgrpc.client import MlgrpcClient
from mlgrpc.entities import Experiment, FileInfo, Run, ViewType
from mlgrpc.exceptions import MlgrpcException

PROG = "mlgrpc runs"

#: `runs describe` walks the artifact tree down to this many entries.
MAX_ARTIFACT_ENTRIES = 200
#: `runs list` shows at most this many metric columns in a table (JSON has them all).
MAX_METRIC_COLUMNS = 6

#: `runs sync` retries each call this long by default: the service may be starting.
SYNC_RETRY_SECONDS = 10.0

_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
_DIFFERS_STYLE = "bold yellow"


def _parser() -> argparse.ArgumentParser:
    parser, verbs = output.build_parser(PROG, "Look at runs.")
    listing = output.add_verb(verbs, "list", "list the runs of experiments")
    listing.add_argument(
        "--experiment",
        "-e",
        action="append",
        required=True,
        metavar="NAME",
        help="experiment name (or id); repeatable",
    )
    listing.add_argument(
        "--filter", default="", help="e.g. \"metrics.rmse < 0.8 and params.alpha = '0.5'\""
    )
    listing.add_argument(
        "--order-by", action="append", default=[], help="e.g. 'metrics.rmse ASC'; repeatable"
    )
    listing.add_argument("--max-results", type=int, default=100, metavar="N")
    listing.add_argument("--view", choices=sorted(_VIEWS), default="active")
    describe = output.add_verb(verbs, "describe", "params, latest metrics, tags and artifacts")
    describe.add_argument("run_id", metavar="RUN_ID")
    compare = output.add_verb(verbs, "compare", "params and metrics of runs side by side")
    compare.add_argument("run_ids", metavar="RUN_ID", nargs="+")
    sync = output.add_verb(
        verbs,
        "sync",
        "send the values (and run ends) that async logging kept in the local spool "
        "(MLGRPC_SPOOL_DIR, default ~/.cache/mlgrpc/spool) while the service was unreachable",
    )
    sync.add_argument("run_ids", metavar="RUN_ID", nargs="*", help="only these runs (default: all)")
    sync.add_argument(
        "--retry-seconds",
        type=float,
        default=SYNC_RETRY_SECONDS,
        metavar="S",
        help=f"retry each call this long while the service is unavailable ({SYNC_RETRY_SECONDS})",
    )
    return parser


def main(argv: list[str]) -> int:
    args = output.resolve_globals(_parser().parse_args(argv))
    return output.run_command(f"{PROG} {args.verb}", _ACTIONS[args.verb], args)


def get_run(client: MlgrpcClient, run_id: str) -> Run:
    """The run, or a CliError "run … not found"."""
    return output.not_found_as(f"run {run_id} not found", lambda: client.get_run(run_id))


def find_experiment(client: MlgrpcClient, name_or_id: str) -> Experiment:
    experiment = client.get_experiment_by_name(name_or_id)
    if experiment is None and name_or_id.isdigit():
        experiment = output.not_found_as(
            f"experiment {name_or_id!r} not found", lambda: client.get_experiment(name_or_id)
        )
    if experiment is None:
        raise output.CliError(f"experiment {name_or_id!r} not found")
    return experiment


# ---- list ----


def _list(args: argparse.Namespace) -> int:
    if args.max_results < 1:
        raise output.CliError("--max-results must be at least 1")
    client = MlgrpcClient(args.tracking_uri)
    experiment_ids = [find_experiment(client, e).experiment_id for e in args.experiment]
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < args.max_results:
        page = client.search_runs(
            experiment_ids,
            filter_string=args.filter,
            run_view_type=_VIEWS[args.view],
            max_results=min(1000, args.max_results - len(runs)),
            order_by=args.order_by,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if args.output == "json":
        output.print_json(runs)
        return 0
    metric_keys = sorted({k for r in runs for k in r.data.metrics})[:MAX_METRIC_COLUMNS]
    output.print_table(
        None,
        ("run id", "name", "status", "started", *metric_keys),
        [
            (
                r.info.run_id,
                r.info.run_name,
                r.info.status,
                output.format_time_ms(r.info.start_time),
                *(r.data.metrics.get(k) for k in metric_keys),
            )
            for r in runs
        ],
        empty="no runs",
    )
    return 0


# ---- describe ----


def walk_artifacts(client: MlgrpcClient, run_id: str, limit: int) -> list[FileInfo]:
    """The run's artifact tree, breadth first, at most `limit` entries."""
    found: list[FileInfo] = []
    pending = [""]
    while pending and len(found) < limit:
        for entry in client.list_artifacts(run_id, pending.pop(0)):
            if len(found) >= limit:
                break
            found.append(entry)
            if entry.is_dir:
                pending.append(entry.path)
    return found


def _describe(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    run = get_run(client, args.run_id)
    artifacts = walk_artifacts(client, run.info.run_id, MAX_ARTIFACT_ENTRIES)
    if args.output == "json":
        output.print_json({"run": run, "artifacts": artifacts})
        return 0
    info = run.info
    output.print_fields(
        f"run {info.run_id}",
        [
            ("name", info.run_name),
            ("experiment", info.experiment_id),
            ("status", info.status),
            ("user", info.user_id),
            ("started", output.format_time_ms(info.start_time)),
            ("ended", output.format_time_ms(info.end_time)),
            ("lifecycle", info.lifecycle_stage),
            ("artifact uri", info.artifact_uri),
        ],
    )
    output.print_table("params", ("key", "value"), sorted(run.data.params.items()))
    output.print_table(
        "metrics (latest)",
        ("key", "value", "step", "time"),
        [
            (m.key, m.value, m.step, output.format_time_ms(m.timestamp))
            for m in sorted(run.data.metric_objs, key=lambda m: m.key)
        ],
    )
    output.print_table("tags", ("key", "value"), sorted(run.data.tags.items()))
    if run.inputs.dataset_inputs:
        output.print_table(
            "datasets (inputs)",
            ("name", "digest", "source", "context"),
            [
                (
                    i.dataset.name,
                    i.dataset.digest,
                    i.dataset.source_type,
                    i.tags.get("mlflow.data.context", ""),
                )
                for i in run.inputs.dataset_inputs
            ],
        )
    models = [(m.model_id, "input", "") for m in run.inputs.model_inputs]
    models += [(m.model_id, "output", m.step) for m in run.outputs.model_outputs]
    if models:
        output.print_table("logged models", ("model id", "direction", "step"), models)
    output.print_table(
        "artifacts",
        ("path", "size"),
        [(f.path + ("/" if f.is_dir else ""), output.format_size(f.file_size)) for f in artifacts],
    )
    return 0


# ---- compare ----


def comparison_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per param and metric key: the value of each run, and whether they differ."""
    rows: list[dict[str, Any]] = []
    for kind, values_of in (
        ("param", lambda r: r.data.params),
        ("metric", lambda r: r.data.metrics),
    ):
        keys = sorted({k for r in runs for k in values_of(r)})
        for key in keys:
            values = {r.info.run_id: values_of(r).get(key) for r in runs}
            distinct = {repr(v) for v in values.values()}
            rows.append({"kind": kind, "key": key, "values": values, "differs": len(distinct) > 1})
    return rows


def _compare(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    runs = [get_run(client, run_id) for run_id in args.run_ids]
    rows = comparison_rows(runs)
    if args.output == "json":
        output.print_json(rows)
        return 0
    headers = [f"{r.info.run_name or r.info.run_id[:8]}\n{r.info.run_id[:8]}" for r in runs]
    output.print_table(
        "params and metrics (* = differs)",
        ("", "kind", "key", *headers),
        [
            (
                "*" if row["differs"] else "",
                row["kind"],
                row["key"],
                *(row["values"][r.info.run_id] for r in runs),
            )
            for row in rows
        ],
        row_styles=[_DIFFERS_STYLE if row["differs"] else None for row in rows],
        empty="the runs have no params or metrics",
    )
    return 0


# ---- sync ----


def _sync(args: argparse.Namespace) -> int:
    from mlgrpc import _spool_replay, spool

    client = MlgrpcClient(args.tracking_uri)
    spools = spool.run_spools(client.spool_dir)
    if args.run_ids:
        spools = [s for s in spools if s.run_id in set(args.run_ids)]
    rows: list[dict[str, Any]] = []
    failed = 0
    for run_spool in spools:
        row: dict[str, Any] = {"run_id": run_spool.run_id}
        try:
            synced = _spool_replay.replay(client, run_spool, args.retry_seconds)
        except MlgrpcException as error:
            failed += 1
            row.update(sent=False, error=str(error), kept_in=str(run_spool.path))
        else:
            row.update(sent=True, batches=synced.batches, values=synced.values, ended=synced.ended)
            if synced.rejected:
                failed += 1
                row.update(
                    refused=len(synced.rejected),
                    error=str(synced.rejected[0]),
                    kept_in=str(run_spool.rejected.path),
                )
        rows.append(row)
    if args.output == "json":
        output.print_json(rows)
    else:
        output.print_table(
            f"spool {client.spool_dir}",
            ("run id", "sent", "batches", "values", "ended as", "error"),
            [
                (
                    r["run_id"],
                    r["sent"],
                    r.get("batches"),
                    r.get("values"),
                    r.get("ended"),
                    r.get("error"),
                )
                for r in rows
            ],
            empty="nothing to send",
        )
    if failed:
        raise output.CliError(
            f"{failed} of {len(rows)} runs not (wholly) sent; what was not is kept in the spool"
        )
    return 0


_ACTIONS = {"list": _list, "describe": _describe, "compare": _compare, "sync": _sync}
