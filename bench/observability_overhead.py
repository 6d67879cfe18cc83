"""What the observability interceptor costs per call: A/B against the same server without it.

    .venv/bin/python -m bench.observability_overhead [--calls 3000] [--rounds 7]

Part 1 (end to end): three in-process servers with one echo RPC (bytes in, same bytes out),
all with the error-mapping interceptor every service has: (A) nothing more, (B) + request ids,
(C) + request ids and Prometheus metrics. One client calls them in interleaved blocks, so that
machine noise hits the three alike; the figure is the median over rounds of µs per call, and
B−A, C−A are the interceptor's cost as a client sees it.

Part 2 (the wrapper alone): the wrapped handler called directly with a stand-in context, no
gRPC in between: the interceptor's own CPU time per call, less noisy than part 1.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from mlgrpc_server.interceptors import ErrorMappingInterceptor
from mlgrpc_server.observability.interceptor import ObservabilityInterceptor
from mlgrpc_server.observability.metrics import GrpcMetrics

METHOD = "/bench.v1.EchoService/Echo"
PAYLOAD = b"x" * 64


def _echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return request


def _start(extra: list[grpc.ServerInterceptor]) -> tuple[grpc.Server, int]:
    handler = grpc.method_handlers_generic_handler(
        "bench.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[ErrorMappingInterceptor("bench"), *extra],
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def end_to_end(calls: int, rounds: int) -> dict[str, tuple[float, float]]:
    variants: dict[str, list[grpc.ServerInterceptor]] = {
        "A baseline (error mapping only)": [],
        "B + request ids": [ObservabilityInterceptor(None)],
        "C + request ids + metrics": [ObservabilityInterceptor(GrpcMetrics(CollectorRegistry()))],
    }
    started = {name: _start(extra) for name, extra in variants.items()}
    channels = {
        name: grpc.insecure_channel(f"127.0.0.1:{port}") for name, (_, port) in started.items()
    }
    stubs = {name: ch.unary_unary(METHOD) for name, ch in channels.items()}
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    cpu_per_round: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for stub in stubs.values():  # warm-up: connections, caches
            for _ in range(300):
                stub(PAYLOAD)
        names = list(stubs)
        for index in range(rounds):
            # The order rotates each round, so that no variant always runs first or last.
            for name in names[index % len(names) :] + names[: index % len(names)]:
                stub = stubs[name]
                begin, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    stub(PAYLOAD)
                per_round[name].append((time.perf_counter() - begin) / calls * 1e6)
                cpu_per_round[name].append((time.process_time() - cpu) / calls * 1e6)
    finally:
        for channel in channels.values():
            channel.close()
        for server, _ in started.values():
            server.stop(0)
    return {
        name: (statistics.median(per_round[name]), statistics.median(cpu_per_round[name]))
        for name in variants
    }


class _Context:
    """The three context methods the wrapper uses, as the sync server's context has them."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata
        self.trailers: Any = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def set_trailing_metadata(self, trailers: Any) -> None:
        self.trailers = trailers

    def code(self) -> None:
        return None


def wrapper_alone(number: int) -> dict[str, float]:
    base = grpc.unary_unary_rpc_method_handler(_echo)
    details = type("Details", (), {"method": METHOD, "invocation_metadata": ()})()

    def wrapped(metrics: GrpcMetrics | None) -> Callable[[bytes, Any], bytes]:
        handler = ObservabilityInterceptor(metrics).intercept_service(lambda _: base, details)
        assert handler is not None
        return handler.unary_unary

    plain = _Context(())
    with_id = _Context((("user-agent", "grpc-python"), ("x-request-id", "abc123")))
    cases: dict[str, tuple[Callable[[bytes, Any], bytes], _Context]] = {
        "raw handler": (_echo, plain),
        "request id generated": (wrapped(None), plain),
        "request id from metadata": (wrapped(None), with_id),
        "request id + metrics": (wrapped(GrpcMetrics(CollectorRegistry())), plain),
    }
    results = {}
    for name, (behavior, context) in cases.items():
        best = min(
            timeit.repeat(lambda b=behavior, c=context: b(PAYLOAD, c), number=number, repeat=5)
        )
        results[name] = best / number * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per block (part 1)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (part 1)")
    parser.add_argument("--number", type=int, default=100_000, help="calls per timing (part 2)")
    args = parser.parse_args()

    print("part 2: the wrapper alone (best of 5, µs per call)")
    alone = wrapper_alone(args.number)
    for name, value in alone.items():
        print(f"  {name:<28} {value:7.2f}")
    raw = alone["raw handler"]
    print(
        f"  → interceptor overhead: {alone['request id generated'] - raw:.2f} µs (ids), "
        f"{alone['request id + metrics'] - raw:.2f} µs (ids + metrics)"
    )

    print(f"part 1: end to end, {args.rounds} rounds × {args.calls} calls (median µs per call)")
    e2e = end_to_end(args.calls, args.rounds)
    print(f"  {'':<34} {'wall':>8} {'CPU':>8}  (CPU: client + server threads of this process)")
    for name, (wall, cpu) in e2e.items():
        print(f"  {name:<34} {wall:8.1f} {cpu:8.1f}")
    wall_a, cpu_a = e2e["A baseline (error mapping only)"]
    for label, key in (("B−A", "B + request ids"), ("C−A", "C + request ids + metrics")):
        wall, cpu = e2e[key]
        print(f"  → {label}: wall {wall - wall_a:+.1f} µs, CPU {cpu - cpu_a:+.1f} µs")
    print("  (wall time is noisy on a shared machine; CPU time less so)")


if __name__ == "__main__":
    main()
