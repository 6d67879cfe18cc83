"""`mlgrpc models list|describe|versions|alias set|alias delete|stage`: the model registry.

(`mlgrpc models serve` is the scoring service's own command; `main.py` routes it there.)
"""

from __future__ import annotations

import argparse
from typing import Any

from mlgrpc.cli import output
from mlgrpc.exceptions import MlgrpcException
from mlgrpc.registry_client import RegistryClient
from mlgrpc.registry_entities import ModelVersion, RegisteredModel

PROG = "mlgrpc models"


def _parser() -> argparse.ArgumentParser:
    parser, verbs = output.build_parser(PROG, "Look at and manage registered models.")
    listing = output.add_verb(verbs, "list", "list registered models")
    listing.add_argument("--filter", default="", help="e.g. \"name LIKE 'wine%%'\"")
    describe = output.add_verb(verbs, "describe", "a model: description, tags, aliases, versions")
    describe.add_argument("name", metavar="NAME")
    versions = output.add_verb(verbs, "versions", "the versions of a model")
    versions.add_argument("name", metavar="NAME")
    alias = output.add_verb(verbs, "alias", "set or delete an alias")
    alias_verbs = alias.add_subparsers(dest="alias_verb", metavar="set|delete", required=True)
    alias_set = output.add_verb(alias_verbs, "set", "point ALIAS at VERSION")
    alias_set.add_argument("name", metavar="NAME")
    alias_set.add_argument("alias", metavar="ALIAS")
    alias_set.add_argument("version", metavar="VERSION")
    alias_delete = output.add_verb(alias_verbs, "delete", "remove ALIAS")
    alias_delete.add_argument("name", metavar="NAME")
    alias_delete.add_argument("alias", metavar="ALIAS")
    stage = output.add_verb(verbs, "stage", "move a version to a stage (MLflow's stages)")
    stage.add_argument("name", metavar="NAME")
    stage.add_argument("version", metavar="VERSION")
    stage.add_argument("stage", metavar="STAGE", help="None, Staging, Production or Archived")
    stage.add_argument(
        "--archive-existing",
        action="store_true",
        help="archive the versions currently in STAGE (Staging/Production only)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = output.resolve_globals(_parser().parse_args(argv))
    args.service = output.REGISTRY
    verb = args.verb if args.verb != "alias" else f"alias {args.alias_verb}"
    return output.run_command(f"{PROG} {verb}", _dispatch, args)


def _dispatch(args: argparse.Namespace) -> int:
    action = _ACTIONS[args.verb if args.verb != "alias" else f"alias {args.alias_verb}"]
    try:
        return action(args, RegistryClient(args.registry_uri))
    except MlgrpcException as exc:
        raise output.on_registry(exc) from None


def _model(client: RegistryClient, name: str) -> RegisteredModel:
    return output.not_found_as(
        f"registered model {name!r} not found", lambda: client.get_registered_model(name)
    )


def all_versions(client: RegistryClient, name: str) -> list[ModelVersion]:
    """Every version of the model, newest first."""
    quoted = name.replace("'", "\\'")
    found: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(
            f"name = '{quoted}'", order_by=["version_number DESC"], page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    return sorted(found, key=lambda v: v.version, reverse=True)


def _version_rows(versions: list[ModelVersion]) -> list[tuple[Any, ...]]:
    return [
        (
            v.version,
            v.current_stage,
            v.aliases,
            v.status,
            v.run_id,
            output.format_time_ms(v.creation_timestamp),
            v.source,
        )
        for v in versions
    ]


_VERSION_COLUMNS = ("version", "stage", "aliases", "status", "run id", "created", "source")


def _list(args: argparse.Namespace, client: RegistryClient) -> int:
    models: list[RegisteredModel] = []
    token: str | None = None
    while True:
        page = client.search_registered_models(args.filter, page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            break
    if args.output == "json":
        output.print_json(models)
        return 0
    output.print_table(
        None,
        ("name", "latest versions", "aliases", "updated", "description"),
        [
            (
                m.name,
                ", ".join(f"{v.version} ({v.current_stage})" for v in m.latest_versions),
                {alias: f"v{version}" for alias, version in sorted(m.aliases.items())},
                output.format_time_ms(m.last_updated_timestamp),
                m.description,
            )
            for m in models
        ],
        empty="no registered models",
    )
    return 0


def _describe(args: argparse.Namespace, client: RegistryClient) -> int:
    model = _model(client, args.name)
    versions = all_versions(client, args.name)
    if args.output == "json":
        output.print_json({"registered_model": model, "versions": versions})
        return 0
    output.print_fields(
        f"model {model.name}",
        [
            ("description", model.description),
            ("created", output.format_time_ms(model.creation_timestamp)),
            ("updated", output.format_time_ms(model.last_updated_timestamp)),
            ("versions", len(versions)),
        ],
    )
    output.print_table("aliases", ("alias", "version"), sorted(model.aliases.items()))
    output.print_table("tags", ("key", "value"), sorted(model.tags.items()))
    output.print_table("versions", _VERSION_COLUMNS, _version_rows(versions))
    return 0


def _versions(args: argparse.Namespace, client: RegistryClient) -> int:
    _model(client, args.name)
    versions = all_versions(client, args.name)
    if args.output == "json":
        output.print_json(versions)
        return 0
    output.print_table(None, _VERSION_COLUMNS, _version_rows(versions), empty="no versions")
    return 0


def _version_of(client: RegistryClient, name: str, version: str) -> ModelVersion:
    _model(client, name)
    return output.not_found_as(
        f"model {name!r} has no version {version}", lambda: client.get_model_version(name, version)
    )


def _alias_set(args: argparse.Namespace, client: RegistryClient) -> int:
    _version_of(client, args.name, args.version)
    client.set_registered_model_alias(args.name, args.alias, args.version)
    return _report_version(
        args,
        client.get_model_version_by_alias(args.name, args.alias),
        f"{args.name}@{args.alias} → version {int(args.version)}",
    )


def _alias_delete(args: argparse.Namespace, client: RegistryClient) -> int:
    _model(client, args.name)
    output.not_found_as(
        f"model {args.name!r} has no alias {args.alias!r}",
        lambda: client.delete_registered_model_alias(args.name, args.alias),
    )
    if args.output == "json":
        output.print_json({"name": args.name, "alias": args.alias, "deleted": True})
    else:
        print(f"deleted alias {args.name}@{args.alias}")
    return 0


def _stage(args: argparse.Namespace, client: RegistryClient) -> int:
    _version_of(client, args.name, args.version)
    version = client.transition_model_version_stage(
        args.name, args.version, args.stage, archive_existing_versions=args.archive_existing
    )
    return _report_version(
        args, version, f"{args.name} version {version.version} → {version.current_stage}"
    )


def _report_version(args: argparse.Namespace, version: ModelVersion, line: str) -> int:
    if args.output == "json":
        output.print_json(version)
    else:
        print(line)
    return 0


_ACTIONS = {
    "list": _list,
    "describe": _describe,
    "versions": _versions,
    "alias set": _alias_set,
    "alias delete": _alias_delete,
    "stage": _stage,
}
