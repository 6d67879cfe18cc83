"""`mlgrpc up`: the whole platform in one command, on the embedded default or on MySQL.

Starts the tracking (50051) and registry (50052) services — and a scoring service when given
`-m URI` — as child processes, migrates the database once before them (so that they never race
to create it), waits until each answers its health check with SERVING, prints the addresses,
streams their logs with a per-service prefix, and on Ctrl-C / SIGTERM stops all of them. A child
that dies is reported, the others are stopped, and the exit status is non-zero.

With `--detach` it returns once every service is SERVING and leaves them running, their logs
and pid file in `--run-dir`; `mlgrpc down` stops them (`mlgrpc.cli.detached`).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.cli.style import PREFIX_COLOURS, paint

DEFAULT_STORE = "sqlite:///mlgrpc.db"
DEFAULT_ARTIFACTS = "./mlgrpc-artifacts"
#: Where `up --detach` keeps the pid file and logs that `mlgrpc down` reads.
DEFAULT_RUN_DIR = "./.mlgrpc"

#: TLS flags handed to every service through its environment (flag, variable, meaning).
TLS_FLAGS = (
    ("--tls-cert", "MLGRPC_TLS_CERT", "certificate chain of the services"),
    ("--tls-key", "MLGRPC_TLS_KEY", "its private key"),
    ("--tls-ca", "MLGRPC_TLS_CA", "CA the services verify each other with"),
    ("--tls-client-ca", "MLGRPC_TLS_CLIENT_CA", "mutual TLS: CA of the clients' certificates"),
)


@dataclass
class Child:
    name: str
    address: str
    argv: list[str]
    #: Answers HTTP (`GET /health`), not gRPC's health service: the MLflow REST gateway.
    http: bool = False
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlgrpc up", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend-store-uri",
        default=os.environ.get("MLGRPC_BACKEND_STORE_URI", DEFAULT_STORE),
        help="database of all services (env MLGRPC_BACKEND_STORE_URI; default %(default)s)",
    )
    parser.add_argument(
        "--default-artifact-root",
        default=os.environ.get("MLGRPC_DEFAULT_ARTIFACT_ROOT", DEFAULT_ARTIFACTS),
        help="artifact store of the tracking service (env MLGRPC_DEFAULT_ARTIFACT_ROOT)",
    )
    parser.add_argument(
        "--allow-artifact-locations-outside-root",
        action="store_true",
        default=os.environ.get("MLGRPC_ALLOW_ARTIFACT_LOCATIONS_OUTSIDE_ROOT", "").strip().lower()
        in ("1", "true", "yes", "on"),
        help="let experiments and model versions name artifact locations outside the root "
        "(env MLGRPC_ALLOW_ARTIFACT_LOCATIONS_OUTSIDE_ROOT=true; default off)",
    )
    parser.add_argument("--host", default=os.environ.get("MLGRPC_HOST", "127.0.0.1"))
    parser.add_argument("--tracking-port", type=int, default=50051)
    parser.add_argument("--registry-port", type=int, default=50052)
    parser.add_argument("--scoring-port", type=int, default=8088)
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=int(os.environ.get("MLGRPC_GATEWAY_PORT", "5000")),
        help="the MLflow REST gateway, for MLflow's own client (MLFLOW_TRACKING_URI="
        "http://HOST:PORT; env MLGRPC_GATEWAY_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--no-gateway", action="store_true", help="do not start the MLflow REST gateway"
    )
    parser.add_argument(
        "--scoring-http-port",
        type=int,
        default=None,
        help="the scoring service also answers HTTP here (MLflow's /invocations, the V2 REST "
        "API); default: off",
    )
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="URI",
        help="also start a scoring service serving this model (repeatable, or name=URI)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="seconds to wait for SERVING"
    )
    parser.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="return once every service is SERVING and leave them running; `mlgrpc down` "
        "stops them",
    )
    parser.add_argument(
        "--run-dir",
        default=os.environ.get("MLGRPC_RUN_DIR", DEFAULT_RUN_DIR),
        help="with --detach: where the services' logs and pid file go "
        "(env MLGRPC_RUN_DIR; default %(default)s)",
    )
    tls = parser.add_argument_group("TLS (off unless --tls-cert is given; needs --tls-ca)")
    for flag, variable, meaning in TLS_FLAGS:
        text = f"{meaning} (env {variable})"
        tls.add_argument(flag, default=os.environ.get(variable) or None, metavar="PEM", help=text)
    args = parser.parse_args(argv)
    if (args.tls_cert or args.tls_key or args.tls_client_ca) and not (
        args.tls_cert and args.tls_key and args.tls_ca
    ):
        parser.exit(
            2,
            "mlgrpc up: TLS needs --tls-cert, --tls-key and --tls-ca (the services call each "
            "other and verify each other's certificates)\n",
        )
    return args


def child_environ(args: argparse.Namespace) -> dict[str, str]:
    """Our environment with the MLGRPC_TLS_* variables the flags say, and none when TLS is off
    (a lone MLGRPC_TLS_CA, set for a client, would make the registry call tracking over TLS)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MLGRPC_TLS_")}
    if args.tls_cert:
        for flag, variable, _ in TLS_FLAGS:
            value = getattr(args, flag.removeprefix("--").replace("-", "_"))
            if value:
                environ[variable] = value
    return environ


def _children(args: argparse.Namespace) -> list[Child]:
    python = sys.executable
    tracking = f"{args.host}:{args.tracking_port}"
    registry = f"{args.host}:{args.registry_port}"
    common = ["--backend-store-uri", args.backend_store_uri, "--host", args.host]
    # Tracking stores artifacts under the root; the registry accepts model sources under it.
    common += ["--default-artifact-root", args.default_artifact_root]
    if args.allow_artifact_locations_outside_root:
        common.append("--allow-artifact-locations-outside-root")
    children = [
        Child(
            "tracking",
            tracking,
            [
                python,
                "-m",
                "tracking_service",
                *common,
                "--port",
                str(args.tracking_port),
            ],
        ),
        Child(
            "registry",
            registry,
            [
                python,
                "-m",
                "registry_service",
                *common,
                "--port",
                str(args.registry_port),
                "--tracking-address",
                tracking,
            ],
        ),
    ]
    if not args.no_gateway:
        scheme = "grpcs://" if args.tls_cert else ""
        gateway = [python, "-m", "gateway", "--host", args.host, "--port", str(args.gateway_port),
                   "--tracking-address", f"{scheme}{tracking}",
                   "--registry-address", f"{scheme}{registry}"]  # fmt: skip
        if args.model:  # the registry page then says which version the scoring service serves
            gateway += ["--scoring-address", f"{scheme}{args.host}:{args.scoring_port}"]
        children.append(
            Child(
                "gateway",
                f"{args.host}:{args.gateway_port}",
                gateway,
                http=True,
            )  # fmt: skip
        )
    if args.model:
        models = [part for uri in args.model for part in ("-m", uri)]
        children.append(
            Child(
                "scoring",
                f"{args.host}:{args.scoring_port}",
                [
                    python,
                    "-m",
                    "scoring_service",
                    *models,
                    "--host",
                    args.host,
                    "--port",
                    str(args.scoring_port),
                    *(
                        ["--http-port", str(args.scoring_http_port)]
                        if args.scoring_http_port is not None
                        else []
                    ),
                    "--registry-address",
                    registry,
                    "--tracking-address",
                    tracking,
                ],
            )
        )
    return children


def _pump(child: Child, colour: str) -> None:
    """Copy a child's output line by line, each line prefixed with the service's name."""
    assert child.process is not None and child.process.stdout is not None
    prefix = paint(f"{child.name:>8} |", colour)
    for raw in iter(child.process.stdout.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        print(f"{prefix} {line}", flush=True)


def _probe_channel(address: str, args: argparse.Namespace) -> grpc.Channel:
    """A channel to a child: TLS when the services speak it, presenting their own certificate
    (needed under mutual TLS)."""
    if not args.tls_cert:
        return grpc.insecure_channel(address)
    from mlgrpc.tls import ClientTls

    credentials = ClientTls(args.tls_ca, args.tls_cert, args.tls_key).channel_credentials()
    return grpc.secure_channel(address, credentials)


def _wait_http(child: Child, deadline: float) -> bool:
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        if child.process is not None and child.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{child.address}/health", timeout=1) as reply:
                if reply.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def shown_address(child: Child, args: argparse.Namespace) -> str:
    if child.http:
        return f"http://{child.address}"
    return f"{'grpcs://' if args.tls_cert else ''}{child.address}"


def mlflow_hint(children: list[Child]) -> str | None:
    """Where to open the web UI and where MLflow users point their client, if a gateway runs."""
    for child in children:
        if child.http:
            return (
                f"mlgrpc up: web UI http://{child.address}/\n"
                f"mlgrpc up: MLFLOW_TRACKING_URI=http://{child.address} (MLflow's own client)"
            )
    return None


def wait_serving(child: Child, deadline: float, args: argparse.Namespace) -> bool:
    if child.http:
        return _wait_http(child, deadline)
    with _probe_channel(child.address, args) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child.process is not None and child.process.poll() is not None:
                return False
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    return False


def stop_all(children: list[Child], grace: float = 15.0) -> None:
    running = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in running:
        assert child.process is not None
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
    for child in children:
        if child.pump is not None:
            child.pump.join(timeout=2)


def busy_ports(children: list[Child]) -> list[Child]:
    """The children whose port something already listens on.

    Checked before starting anything: a service that cannot bind exits at once, but the health
    check could first be answered SERVING by whatever holds the port (an earlier `mlgrpc up`)."""
    busy = []
    for child in children:
        host, _, port = child.address.rpartition(":")
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As the servers bind: a port left in TIME_WAIT by a stopped service is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, int(port)))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    busy.append(child)
    return busy


def _migrate(store_uri: str) -> int:
    return subprocess.call(
        [sys.executable, "-m", "mlgrpc.cli.main", "db", "upgrade", "--backend-store-uri", store_uri]
    )


def main(argv: list[str]) -> int:
    args = _parse(argv)
    children = _children(args)
    busy = busy_ports(children)
    if busy:
        for child in busy:
            print(
                f"mlgrpc up: {child.address} (for {child.name}) is in use: is the platform "
                "already running? (`mlgrpc down` stops one started with --detach)",
                file=sys.stderr,
            )
        return 1
    if args.backend_store_uri.startswith("sqlite:///"):
        Path(args.backend_store_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    # `mlgrpc db upgrade` says in one line what is wrong with the database, if anything.
    if _migrate(args.backend_store_uri) != 0:
        print("mlgrpc up: could not migrate the database", file=sys.stderr)
        return 1
    Path(args.default_artifact_root).mkdir(parents=True, exist_ok=True)
    if args.detach:
        from mlgrpc.cli.detached import start_detached

        return start_detached(args, children)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    for index, child in enumerate(children):
        child.process = subprocess.Popen(
            child.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**child_environ(args), "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        colour = PREFIX_COLOURS[index % len(PREFIX_COLOURS)]
        child.pump = threading.Thread(target=_pump, args=(child, colour), daemon=True)
        child.pump.start()

    deadline = time.monotonic() + args.startup_timeout
    for child in children:
        if not wait_serving(child, deadline, args):
            print(
                f"mlgrpc up: {child.name} did not become SERVING on {child.address}",
                file=sys.stderr,
            )
            stop_all(children)
            return 1
    for child in children:
        print(f"mlgrpc up: {child.name:<8} SERVING on {shown_address(child, args)}", flush=True)
    hint = mlflow_hint(children)
    if hint:
        print(hint, flush=True)
    print("mlgrpc up: Ctrl-C stops everything", flush=True)

    exit_code = 0
    while not stop.is_set():
        dead = [c for c in children if c.process is not None and c.process.poll() is not None]
        if dead:
            for child in dead:
                assert child.process is not None
                print(
                    f"mlgrpc up: {child.name} exited with status {child.process.returncode}; "
                    "stopping the others",
                    file=sys.stderr,
                )
            exit_code = 1
            break
        stop.wait(0.2)
    stop_all(children)
    print("mlgrpc up: stopped", flush=True)
    return exit_code
