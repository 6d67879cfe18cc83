"""What the inspection commands share: global flags, rendering, and error → exit status.

Rendering: rich tables when stdout is a terminal (plain, wide text otherwise) or, with
`--output json`, stable JSON (lists of objects with the entities' fields) for scripts.
Errors: every failure becomes one line on stderr and a non-zero exit status, never a traceback;
`run_command` is the one place that decides the wording.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mlgrpc.exceptions import (
    DeadlineExceededError,
    MlgrpcException,
    NotFoundError,
    UnavailableError,
)

#: Exit statuses: 1 = the operation failed, 2 = bad usage (argparse's own), 130 = Ctrl-C.
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

#: Set to 1 to see the traceback of an unexpected error instead of one line.
DEBUG_ENV = "MLGRPC_CLI_DEBUG"

TRACKING = "tracking"
REGISTRY = "registry"


class CliError(Exception):
    """A failure the user should read as is (one line, no traceback)."""


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """`--tracking-uri`, `--registry-uri`, `--output` — accepted before or after the verb.

    Defaults are SUPPRESS so that a subparser never overwrites a value given before the verb;
    `resolve_globals` fills in the environment and built-in defaults afterwards.
    """
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,
        help="tracking service, grpc://host:port (env MLGRPC_TRACKING_URI; 127.0.0.1:50051)",
    )
    group.add_argument(
        "--registry-uri",
        default=argparse.SUPPRESS,
        help="model registry, grpc://host:port (env MLGRPC_REGISTRY_URI; 127.0.0.1:50052)",
    )
    group.add_argument(
        "--output",
        "-O",
        choices=("table", "json"),
        default=argparse.SUPPRESS,
        help="table (default) for people, json for scripts",
    )


def resolve_globals(args: argparse.Namespace) -> argparse.Namespace:
    from mlgrpc import config

    if not getattr(args, "tracking_uri", None):
        args.tracking_uri = config.get_tracking_uri()
    if not getattr(args, "registry_uri", None):
        args.registry_uri = config.get_registry_uri()
    if not getattr(args, "output", None):
        args.output = "table"
    return args


def build_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, Any]:
    """A command's parser with the global options, and its (required) sub-command set."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_global_options(parser)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    return parser, verbs


def add_verb(verbs: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
    add_global_options(sub)
    return sub


# ---- error → message and exit status ----


def run_command(
    prog: str, action: Callable[[argparse.Namespace], int | None], args: argparse.Namespace
) -> int:
    """Run one command; map every failure to one line on stderr and an exit status."""
    try:
        return int(action(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `mlgrpc runs list | head`: the reader left; not an error worth a message.
        _silence_stdout()
        return 0
    except CliError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MlgrpcException as exc:
        print(f"{prog}: {describe_error(exc, args)}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prog}: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        # A bug of ours or of a library: still one line, unless the user asks for the traceback.
        if os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes"):
            raise
        print(
            f"{prog}: unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def describe_error(exc: MlgrpcException, args: argparse.Namespace) -> str:
    """The one-line wording of a failed call."""
    service = getattr(exc, "cli_service", None) or getattr(args, "service", TRACKING)
    address = getattr(args, f"{service}_uri", None) or "its address"
    # No ErrorInfo domain: the service itself never answered (down, wrong address, network).
    if isinstance(exc, DeadlineExceededError) and not exc.domain:
        return f"cannot reach the {service} service at {address} (no answer before the deadline)"
    if isinstance(exc, UnavailableError) and not exc.domain:
        return f"cannot reach the {service} service at {address}{_http_hint(address)}"
    return exc.message


def _http_hint(address: str) -> str:
    # An MLflow user's http:// URI is read as plaintext gRPC; if nothing answers, it may still be
    # pointing at an MLflow REST server rather than at an mlgrpc service.
    if not str(address).lower().startswith(("http://", "https://")):
        return ""
    return (
        " (an http:// URI is read as plaintext gRPC: is an mlgrpc service listening there, "
        "not an MLflow REST server? e.g. grpc://127.0.0.1:50051)"
    )


def not_found_as(message: str, call: Callable[[], Any]) -> Any:
    """`call()`, with NOT_FOUND reworded as `message` (e.g. "run 1a2b… not found")."""
    try:
        return call()
    except NotFoundError:
        raise CliError(message) from None


def on_registry(exc: MlgrpcException) -> MlgrpcException:
    """Mark an exception as coming from the registry, so that "cannot reach" names it."""
    exc.cli_service = REGISTRY  # type: ignore[attr-defined]
    return exc


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would fail again; point it at /dev/null instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


# ---- rendering ----


def to_jsonable(value: Any) -> Any:
    """Dataclasses → dicts (their fields), recursively; everything else as JSON knows it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        # Strict JSON has no NaN/Infinity; spell them as protobuf's JSON mapping does.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, sort_keys=True, allow_nan=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def console() -> Any:
    """A rich console on stdout; not a terminal → no colours and a wide page (no wrapping)."""
    from rich.console import Console

    if stdout_is_terminal():
        return Console()
    return Console(width=240, no_color=True, color_system=None, highlight=False, soft_wrap=True)


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_styles: Sequence[str | None] | None = None,
) -> Any:
    from rich import box
    from rich.table import Table

    rendered = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False)
    for column in columns:
        rendered.add_column(column, overflow="fold")
    for index, row in enumerate(rows):
        style = row_styles[index] if row_styles is not None else None
        rendered.add_row(*(cell_text(c) for c in row), style=style)
    return rendered


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_styles: Sequence[str | None] | None = None,
    empty: str = "(none)",
) -> None:
    rows = list(rows)
    out = console()
    if not rows:
        if title:
            out.print(f"{title}: {empty}", markup=False)
        else:
            out.print(empty, markup=False)
        return
    out.print(table(title, columns, rows, row_styles=row_styles))


def print_fields(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    """A two-column key/value table."""
    print_table(title, ("field", "value"), fields)


def cell_text(value: Any) -> str:
    from rich.markup import escape

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return escape(", ".join(f"{k}={v}" for k, v in value.items()))
    if isinstance(value, list | tuple):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


def format_time_ms(ms: int | None) -> str | None:
    """Milliseconds since the epoch → local time, to the second."""
    if not ms:
        return None
    moment = dt.datetime.fromtimestamp(ms / 1000).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_size(size: int | None) -> str | None:
    if size is None:
        return None
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


class Steps:
    """Shows the steps of a long command: a rich spinner on a terminal, plain lines otherwise.

    A step that fails raises CliError naming the step (one line, never a traceback).
    """

    def __init__(self, prog: str, *, quiet: bool = False) -> None:
        self._prog = prog
        self._quiet = quiet
        self._console: Any = None
        if not quiet and stdout_is_terminal():
            from rich.console import Console

            self._console = Console()

    def say(self, line: str) -> None:
        if self._quiet:
            return
        if self._console is not None:
            self._console.print(line, markup=False, highlight=False)
        else:
            print(line, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            if self._console is not None:
                from rich.markup import escape

                with self._console.status(escape(title) + " …"):
                    yield
                self._console.print(
                    f"[green]✓[/green] {escape(title)} ({time.monotonic() - started:.1f} s)",
                    highlight=False,
                )
            else:
                self.say(f"{self._prog}: {title} …")
                yield
                self.say(f"{self._prog}: {title}: done ({time.monotonic() - started:.1f} s)")
        except KeyboardInterrupt:
            raise
        except CliError as exc:
            raise CliError(f"{title}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - one line naming the step, never a traceback
            raise CliError(f"{title}: {type(exc).__name__}: {exc}") from None
