"""Entry point of the `mlgrpc` command: dispatches to the module that owns a command.

Commands are looked up by their leading words and imported only when used, so that
`mlgrpc runs list` does not pay for importing the servers, and `import mlgrpc` stays light.
Each target module has `main(argv: list[str]) -> int` with an argparse parser of its own.
"""

from __future__ import annotations

import importlib
import sys

#: What `pip install 'mlgrpc[server]'` adds (top-level import names): a command needing one of them
#: says so in one line instead of a traceback.
SERVER_DEPENDENCIES = frozenset({
    "sqlalchemy", "alembic", "pymysql", "psycopg", "cryptography", "prometheus_client",
    "uvicorn", "httptools", "uvloop", "orjson", "starlette",
})  # fmt: skip

#: (leading words) → module. Longest prefix wins.
COMMANDS: dict[tuple[str, ...], str] = {
    ("server", "tracking"): "tracking_service.cli",
    ("server", "registry"): "registry_service.cli",
    ("server", "scoring"): "scoring_service.cli",
    ("server", "gateway"): "gateway.cli",
    ("models", "serve"): "scoring_service.cli",
    ("db",): "mlgrpc_server.cli",
    ("health",): "mlgrpc_server.health_probe",
    ("tokens",): "mlgrpc_server.auth.cli",
    ("up",): "mlgrpc.cli.up",
    ("down",): "mlgrpc.cli.detached",
    ("experiments",): "mlgrpc.cli.experiments",
    ("runs",): "mlgrpc.cli.runs",
    ("metrics",): "mlgrpc.cli.metrics",
    ("artifacts",): "mlgrpc.cli.artifacts",
    ("models",): "mlgrpc.cli.models",
    ("demo",): "mlgrpc.cli.demo",
}

USAGE = """usage: mlgrpc COMMAND ...

commands:
  up                  start tracking + registry (+ scoring with -m URI) and wait for Ctrl-C;
                      --detach: return once all are SERVING and leave them running
  down                stop what `up --detach` started
  server tracking     run the tracking service
  server registry     run the model-registry service
  server scoring      run the scoring service (same as `models serve`)
  server gateway      serve MLflow's REST API (tracking) on HTTP :5000, in front of tracking
  models serve        serve a model over gRPC
  db upgrade          migrate the shared database to the newest schema
  health [ADDRESS]    exit 0 if the server at ADDRESS (grpcs:// for TLS) answers SERVING
  tokens              create --name N --role read|write|admin | list | revoke NAME | grant
  experiments         list | create NAME | rename ID NEW | delete ID | restore ID
  runs                list --experiment NAME | describe RUN_ID | compare RUN_ID... | sync
  metrics             plot RUN_ID KEY... [--run RUN_ID] -o curves.png | history RUN_ID KEY...
  artifacts           list RUN_ID [PATH] | download RUN_ID PATH [-d DIR] | upload RUN_ID LOCAL
  models              list | describe NAME | versions NAME | alias set|delete | stage
  demo                the whole story on a throw-away local stack: train, register, serve, predict

The inspection commands take --tracking-uri / --registry-uri (env MLGRPC_TRACKING_URI /
MLGRPC_REGISTRY_URI) and --output table|json.

`mlgrpc COMMAND --help` shows a command's options."""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for length in sorted({len(k) for k in COMMANDS}, reverse=True):
        target = COMMANDS.get(tuple(args[:length]))
        if target is not None:
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError as error:
                missing = (error.name or "").split(".")[0]
                if missing not in SERVER_DEPENDENCIES:
                    raise
                command = " ".join(args[:length])
                print(f"mlgrpc {command}: needs the server dependencies ({missing} is missing): "
                      "pip install 'mlgrpc[server]'", file=sys.stderr)  # fmt: skip
                return 2
            return int(module.main(args[length:]) or 0)
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    if args:
        print(f"\nmlgrpc: unknown command: {' '.join(args[:2])}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
