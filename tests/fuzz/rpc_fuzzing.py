"""Calling any RPC of a service from its descriptor, and what every answer must satisfy.

An answer may be any status except UNKNOWN and INTERNAL (a bug: an exception nobody mapped) and,
for a call that returns at once, DEADLINE_EXCEEDED (a hang). Its message never holds a traceback.
After each call the server still answers its health check.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .proto_strategies import ProtoStrategies

#: Examples per RPC (and per database backend); MLGRPC_FUZZ_EXAMPLES=2000 for a long local run.
EXAMPLES_PER_RPC = int(os.environ.get("MLGRPC_FUZZ_EXAMPLES", "50"))
#: A call that takes longer than this hangs, for our purposes.
CALL_TIMEOUT_S = float(os.environ.get("MLGRPC_FUZZ_CALL_TIMEOUT", "30"))
#: Server-streaming calls: responses read before the client cancels.
STREAM_READS = 2
#: Streams that legitimately stay open waiting for changes (a deadline ends them, not a bug).
LONG_LIVED_STREAMS = {"mlgrpc.registry.v1.ModelRegistryService.WatchRegisteredModel"}

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 128 * 1024 * 1024),
    ("grpc.max_send_message_length", 128 * 1024 * 1024),
]
FORBIDDEN_CODES = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
TRACEBACK_MARKERS = ("Traceback", 'File "')
#: What a client says when the server's status did not fit in the trailers: the real status
#: (and the field it names) was lost on the way.
LOST_STATUS_MARKERS = ("received metadata size exceeds", "Stream removed")

#: Cases run, per service full name (printed at the end of the session).
CASES: Counter[str] = Counter()


def methods_of(service: ServiceDescriptor) -> list[MethodDescriptor]:
    return list(service.methods)


def method_id(method: MethodDescriptor) -> str:
    return method.full_name.rsplit(".", 2)[-2] + "." + method.name


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    details: str


def call(channel: grpc.Channel, method: MethodDescriptor, requests: list[Message]) -> Outcome:
    """One call of `method` with `requests` (one message unless the client streams)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    kind = (method.client_streaming, method.server_streaming)
    factory = {
        (False, False): channel.unary_unary,
        (True, False): channel.stream_unary,
        (False, True): channel.unary_stream,
        (True, True): channel.stream_stream,
    }[kind]
    stub = factory(
        path,
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    argument = iter(requests) if method.client_streaming else requests[0]
    long_lived = method.full_name in LONG_LIVED_STREAMS
    try:
        if not method.server_streaming:
            stub(argument, timeout=CALL_TIMEOUT_S)
            return Outcome(grpc.StatusCode.OK, "")
        responses = stub(argument, timeout=2.0 if long_lived else CALL_TIMEOUT_S)
        try:
            for _, _response in zip(range(STREAM_READS), responses, strict=False):
                pass
        finally:
            responses.cancel()
        return Outcome(grpc.StatusCode.OK, "")
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.CANCELLED or (
            long_lived and code == grpc.StatusCode.DEADLINE_EXCEEDED
        ):
            return Outcome(grpc.StatusCode.OK, "")
        return Outcome(code, error.details() or "")


def check_outcome(method: MethodDescriptor, outcome: Outcome) -> None:
    assert outcome.code not in FORBIDDEN_CODES, (
        f"{method.full_name} answered {outcome.code.name}: {outcome.details}"
    )
    assert outcome.code != grpc.StatusCode.DEADLINE_EXCEEDED, (
        f"{method.full_name} did not answer within {CALL_TIMEOUT_S} s"
    )
    for marker in TRACEBACK_MARKERS:
        assert marker not in outcome.details, f"traceback in {method.full_name}: {outcome.details}"
    for marker in LOST_STATUS_MARKERS:
        assert marker not in outcome.details, (
            f"{method.full_name} lost its status: {outcome.details}"
        )


def check_alive(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def requests_for(method: MethodDescriptor, strategies: ProtoStrategies) -> SearchStrategy:
    one = strategies.message(method.input_type)
    if method.client_streaming:
        return st.lists(one, min_size=0, max_size=3)
    return one.map(lambda message: [message])


def fuzz_method(
    channel: grpc.Channel,
    method: MethodDescriptor,
    strategies: ProtoStrategies,
    *,
    examples: int = EXAMPLES_PER_RPC,
    after_each: Callable[[], None] | None = None,
) -> None:
    """Run `examples` generated calls of `method`, checking each answer and the server's health."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        # No "explain" phase: it replays many variations of a failing example of several MB;
        # shrinking alone gives the minimal request.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    @given(requests=requests_for(method, strategies))
    def one_call(requests: list[Message]) -> None:
        outcome = call(channel, method, requests)
        CASES[method.containing_service.full_name] += 1
        check_outcome(method, outcome)
        if after_each is not None:
            after_each()
        check_alive(channel)

    one_call()
