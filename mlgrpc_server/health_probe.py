"""`mlgrpc health [ADDRESS] [--service NAME]`: exit 0 if the server answers SERVING, else 1.

For container health checks (Docker's HEALTHCHECK, compose's `healthcheck`) where Kubernetes'
native `grpc:` probe is not available; it needs nothing but this package, so it works offline.
Plaintext only, like Kubernetes' gRPC probes: a TLS-only port is checked from outside the pod.
"""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_ADDRESS = "127.0.0.1:50051"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgrpc health",
        description="Ask a server's grpc.health.v1 service; exit 0 if SERVING.",
    )
    parser.add_argument(
        "address",
        nargs="?",
        default=os.environ.get("MLGRPC_HEALTH_ADDRESS", DEFAULT_ADDRESS),
        help="HOST:PORT (env MLGRPC_HEALTH_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--service", default="", help="service name to ask about; default: the whole server"
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(args.address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"{args.address}: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{args.address}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1
