"""`mlgrpc health [ADDRESS] [--service NAME] [--tls-…]`: exit 0 if the server answers SERVING.

For container health checks (Docker's HEALTHCHECK, compose's `healthcheck`) where Kubernetes'
native `grpc:` probe is not available; it needs nothing but this package, so it works offline.

ADDRESS takes every form the client takes (`grpc://`, `grpcs://`, `http(s)://`, `HOST:PORT`,
`unix:`), and a `grpcs://` one is checked over TLS with the client's files: `--tls-ca`,
`--tls-cert`, `--tls-key`, else MLGRPC_TLS_CA / MLGRPC_TLS_CERT / MLGRPC_TLS_KEY, the variables
every client and `mlgrpc up` read (`mlgrpc.tls`). Exit 1 for anything but SERVING, including an
address or TLS file that is wrong (Docker reads any other non-zero status as unhealthy too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

DEFAULT_ADDRESS = "127.0.0.1:50051"
#: Pause between two questions of `--wait`.
RETRY_INTERVAL_SECONDS = 0.2

#: Client TLS flags: (flag, variable that stands in when it is not given, meaning).
TLS_FLAGS = (
    (
        "--tls-ca",
        "MLGRPC_TLS_CA",
        "CA that signed the server's certificate (default: system roots)",
    ),
    ("--tls-cert", "MLGRPC_TLS_CERT", "mutual TLS: this client's certificate chain"),
    ("--tls-key", "MLGRPC_TLS_KEY", "mutual TLS: its private key"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgrpc health",
        description="Ask a server's grpc.health.v1 service; exit 0 if SERVING.",
    )
    parser.add_argument(
        "address",
        nargs="?",
        default=os.environ.get("MLGRPC_HEALTH_ADDRESS", DEFAULT_ADDRESS),
        help="grpc://HOST:PORT, grpcs://HOST:PORT (TLS) or HOST:PORT "
        "(env MLGRPC_HEALTH_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--service", default="", help="service name to ask about; default: the whole server"
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="ask again until SERVING or SECONDS have passed, e.g. for a server still starting "
        "or loading its model (default: ask once)",
    )
    tls = parser.add_argument_group("TLS (used for a grpcs:// ADDRESS)")
    for flag, variable, meaning in TLS_FLAGS:
        tls.add_argument(flag, metavar="PEM", help=f"{meaning} (env {variable})")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from mlgrpc.exceptions import InvalidArgumentError, MlgrpcException
    from mlgrpc.service_support import probe_channel
    from mlgrpc.tls import ClientTls
    from mlgrpc.uris import parse_service_uri

    try:
        secure = parse_service_uri(args.address, what="address").secure
        if not secure and (args.tls_ca or args.tls_cert or args.tls_key):
            # The files would be ignored and plaintext checked: say so instead.
            raise InvalidArgumentError(
                f"TLS files were given but {args.address!r} is a plaintext address; "
                "use grpcs://HOST:PORT",
                field="address",
            )
        tls = ClientTls.resolve(args.tls_ca, args.tls_cert, args.tls_key) if secure else None
        channel = probe_channel(args.address, tls)
    except MlgrpcException as error:
        print(f"mlgrpc health: {error.message}", file=sys.stderr)
        return 1
    request = health_pb2.HealthCheckRequest(service=args.service)
    deadline = time.monotonic() + args.wait
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = stub.Check(request, timeout=args.timeout).status
                answer, failed = health_pb2.HealthCheckResponse.ServingStatus.Name(status), False
            except grpc.RpcError as error:
                status, answer, failed = None, f"{error.code().name}: {error.details()}", True
            serving = status == health_pb2.HealthCheckResponse.SERVING
            if serving or time.monotonic() >= deadline:
                break
            time.sleep(RETRY_INTERVAL_SECONDS)
    print(f"{args.address}: {answer}", file=sys.stderr if failed else sys.stdout)
    return 0 if serving else 1
