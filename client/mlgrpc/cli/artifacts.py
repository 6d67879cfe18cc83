"""`mlgrpc artifacts list RUN_ID [PATH] | download RUN_ID PATH [-d DIR] | upload RUN_ID LOCAL`.

Transfers above a few MB show a progress bar when stdout is a terminal.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mlgrpc import artifacts as transfer
from mlgrpc.cli import output
from mlgrpc.cli.runs import get_run
from mlgrpc.client import MlgrpcClient
from mlgrpc.entities import FileInfo

PROG = "mlgrpc artifacts"

#: Transfers smaller than this finish before a bar would be worth looking at.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser, verbs = output.build_parser(PROG, "List, download and upload the artifacts of runs.")
    listing = output.add_verb(verbs, "list", "list a run's artifacts (one directory level)")
    listing.add_argument("run_id", metavar="RUN_ID")
    listing.add_argument("path", metavar="PATH", nargs="?", default="")
    download = output.add_verb(verbs, "download", "download a file or directory of a run")
    download.add_argument("run_id", metavar="RUN_ID")
    download.add_argument("path", metavar="PATH", help="artifact path ('' or '.' for all)")
    download.add_argument("-d", "--dst", metavar="DIR", default=".", help="default: .")
    upload = output.add_verb(verbs, "upload", "upload a local file or directory to a run")
    upload.add_argument("run_id", metavar="RUN_ID")
    upload.add_argument("local", metavar="LOCAL")
    upload.add_argument("--artifact-path", metavar="P", default=None, help="directory in the run")
    return parser


def main(argv: list[str]) -> int:
    args = output.resolve_globals(_parser().parse_args(argv))
    return output.run_command(f"{PROG} {args.verb}", _ACTIONS[args.verb], args)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A byte-counting bar (rich) on a terminal for big transfers; else no callback at all."""
    if total < PROGRESS_MIN_BYTES or not output.stdout_is_terminal():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _client_and_run(args: argparse.Namespace) -> tuple[MlgrpcClient, str]:
    client = MlgrpcClient(args.tracking_uri)
    return client, get_run(client, args.run_id).info.run_id


def _clean(path: str) -> str:
    path = path.replace(os.sep, "/").strip("/")
    return "" if path == "." else path


def _list(args: argparse.Namespace) -> int:
    client, run_id = _client_and_run(args)
    entries = client.list_artifacts(run_id, _clean(args.path))
    if args.output == "json":
        output.print_json(entries)
        return 0
    output.print_table(
        None,
        ("path", "dir", "size"),
        [(f.path, f.is_dir, output.format_size(f.file_size)) for f in entries],
        empty=f"no artifacts under {args.path or '/'!r}",
    )
    return 0


def _bytes_below(client: MlgrpcClient, run_id: str, path: str) -> int:
    """Total size of the artifact file or directory `path` (for the progress bar)."""
    parent = path.rpartition("/")[0]
    entry: FileInfo | None = None
    if path:
        entry = next((f for f in client.list_artifacts(run_id, parent) if f.path == path), None)
        if entry is None:
            return 0  # the download itself will say what is wrong
        if not entry.is_dir:
            return entry.file_size or 0
    total = 0
    pending = [path]
    while pending:
        for f in client.list_artifacts(run_id, pending.pop()):
            if f.is_dir:
                pending.append(f.path)
            else:
                total += f.file_size or 0
    return total


def _download(args: argparse.Namespace) -> int:
    client, run_id = _client_and_run(args)
    path = _clean(args.path)
    total = _bytes_below(client, run_id, path) if output.stdout_is_terminal() else 0
    with progress_bar(f"download {path or '/'}", total) as progress:
        local = transfer.download(client._stub, run_id, path, args.dst, progress)
    if args.output == "json":
        output.print_json({"run_id": run_id, "path": path, "local_path": local})
    else:
        print(local)
    return 0


def _upload(args: argparse.Namespace) -> int:
    client, run_id = _client_and_run(args)
    local = Path(args.local)
    if local.is_dir():
        total = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
        with progress_bar(f"upload {local.name}", total) as progress:
            uploaded = transfer.upload_dir(
                client._stub, run_id, local, args.artifact_path, progress
            )
    elif local.is_file():
        path = transfer.join_artifact_path(args.artifact_path, local.name)
        with progress_bar(f"upload {local.name}", local.stat().st_size) as progress:
            uploaded = [transfer.upload_file(client._stub, run_id, local, path, progress)]
    else:
        raise output.CliError(f"{args.local}: no such file or directory")
    if args.output == "json":
        output.print_json(uploaded)
        return 0
    for entry in uploaded:
        print(f"uploaded {entry.path} ({output.format_size(entry.file_size)})")
    return 0


_ACTIONS = {"list": _list, "download": _download, "upload": _upload}
