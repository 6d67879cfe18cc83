"""`mlgrpc experiments list|create NAME|rename ID NEW|delete ID|restore ID`."""

from __future__ import annotations

import argparse

from mlgrpc.cli import output
from mlgrpc.client import MlgrpcClient
from mlgrpc.entities import Experiment, ViewType

PROG = "mlgrpc experiments"

_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def _parser() -> argparse.ArgumentParser:
    parser, verbs = output.build_parser(PROG, "List and manage experiments.")
    listing = output.add_verb(verbs, "list", "list experiments")
    listing.add_argument(
        "--view", choices=sorted(_VIEWS), default="active", help="which lifecycle stage"
    )
    listing.add_argument("--filter", default="", help="e.g. \"name LIKE 'wine%%'\"")
    create = output.add_verb(verbs, "create", "create an experiment; prints its id")
    create.add_argument("name")
    create.add_argument("--artifact-location", default=None)
    rename = output.add_verb(verbs, "rename", "rename an experiment")
    rename.add_argument("experiment_id", metavar="ID")
    rename.add_argument("new_name", metavar="NEW")
    for verb in ("delete", "restore"):
        sub = output.add_verb(verbs, verb, f"{verb} an experiment (and its runs)")
        sub.add_argument("experiment_id", metavar="ID")
    return parser


def main(argv: list[str]) -> int:
    args = output.resolve_globals(_parser().parse_args(argv))
    return output.run_command(f"{PROG} {args.verb}", _ACTIONS[args.verb], args)


def list_all_experiments(
    client: MlgrpcClient, view_type: int, filter_string: str = ""
) -> list[Experiment]:
    """Every page of SearchExperiments."""
    found: list[Experiment] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            view_type=view_type, filter_string=filter_string, page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _list(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    experiments = list_all_experiments(client, _VIEWS[args.view], args.filter)
    if args.output == "json":
        output.print_json(experiments)
        return 0
    output.print_table(
        None,
        ("id", "name", "stage", "created", "artifact location"),
        [
            (
                e.experiment_id,
                e.name,
                e.lifecycle_stage,
                output.format_time_ms(e.creation_time),
                e.artifact_location,
            )
            for e in experiments
        ],
        empty="no experiments",
    )
    return 0


def _experiment(client: MlgrpcClient, experiment_id: str) -> Experiment:
    return output.not_found_as(
        f"experiment {experiment_id} not found", lambda: client.get_experiment(experiment_id)
    )


def _create(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    experiment_id = client.create_experiment(args.name, artifact_location=args.artifact_location)
    _report(args, "created", client.get_experiment(experiment_id))
    return 0


def _rename(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    _experiment(client, args.experiment_id)
    client.rename_experiment(args.experiment_id, args.new_name)
    _report(args, "renamed", client.get_experiment(args.experiment_id))
    return 0


def _delete(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    _experiment(client, args.experiment_id)
    client.delete_experiment(args.experiment_id)
    _report(args, "deleted", client.get_experiment(args.experiment_id))
    return 0


def _restore(args: argparse.Namespace) -> int:
    client = MlgrpcClient(args.tracking_uri)
    _experiment(client, args.experiment_id)
    client.restore_experiment(args.experiment_id)
    _report(args, "restored", client.get_experiment(args.experiment_id))
    return 0


def _report(args: argparse.Namespace, what: str, experiment: Experiment) -> None:
    if args.output == "json":
        output.print_json(experiment)
    else:
        print(f"{what} experiment {experiment.experiment_id} ({experiment.name!r})")


_ACTIONS = {
    "list": _list,
    "create": _create,
    "rename": _rename,
    "delete": _delete,
    "restore": _restore,
}
