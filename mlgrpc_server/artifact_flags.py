"""The artifact flags tracking and registry share, kept free of heavy imports for `--help`:
the artifact root, and whether callers may name artifact locations outside it (see
`mlgrpc_server.artifact_locations`)."""

from __future__ import annotations

import argparse
import os

from mlgrpc_server.auth.flags import env_flag

DEFAULT_ARTIFACT_ROOT = "./mlgrpc-artifacts"
ALLOW_OUTSIDE_ROOT_FLAG = "--allow-artifact-locations-outside-root"
ALLOW_OUTSIDE_ROOT_ENV = "MLGRPC_ALLOW_ARTIFACT_LOCATIONS_OUTSIDE_ROOT"


def add_artifact_arguments(parser: argparse.ArgumentParser, root_help: str) -> None:
    """`--default-artifact-root` (env MLGRPC_DEFAULT_ARTIFACT_ROOT) and the outside-root flag."""
    parser.add_argument(
        "--default-artifact-root",
        default=os.environ.get("MLGRPC_DEFAULT_ARTIFACT_ROOT", DEFAULT_ARTIFACT_ROOT),
        help=f"{root_help} (env MLGRPC_DEFAULT_ARTIFACT_ROOT; default %(default)s)",
    )
    parser.add_argument(
        ALLOW_OUTSIDE_ROOT_FLAG,
        dest="allow_artifact_locations_outside_root",
        action="store_true",
        default=env_flag(ALLOW_OUTSIDE_ROOT_ENV),
        help="accept experiment artifact locations and model-version sources outside the "
        f"artifact root: any absolute path, any s3:// bucket (env {ALLOW_OUTSIDE_ROOT_ENV}=true; "
        "default off)",
    )
