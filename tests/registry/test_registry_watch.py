"""WatchRegisteredModel: the model at once, then again when an alias or a stage changes."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc

#: Generous bound on waiting for one message; a working watch answers in well under a second.
MESSAGE_WAIT_SECONDS = 10


class Watch:
    """A watch stream read by a background thread into a queue."""

    def __init__(self, registry: pb_grpc.ModelRegistryServiceStub, name: str) -> None:
        self.call = registry.WatchRegisteredModel(pb.WatchRegisteredModelRequest(name=name))
        self.messages: queue.Queue[pb.RegisteredModel | BaseException | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for response in self.call:
                self.messages.put(response.registered_model)
            self.messages.put(None)
        except grpc.RpcError as error:
            self.messages.put(error)

    def next(self) -> pb.RegisteredModel | BaseException | None:
        return self.messages.get(timeout=MESSAGE_WAIT_SECONDS)


@pytest.fixture
def model(registry, model_source) -> str:
    name = unique_name("watched")
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    for _ in range(2):
        registry.CreateModelVersion(pb.CreateModelVersionRequest(name=name, source=model_source))
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=1)
    )
    return name


@pytest.fixture
def watch(registry, model) -> Iterator[Watch]:
    watch = Watch(registry, model)
    yield watch
    watch.call.cancel()


def _aliases(message: object) -> dict[str, int]:
    assert isinstance(message, pb.RegisteredModel), message
    return {a.alias: a.version for a in message.aliases}


def test_watch_sends_the_model_at_once(watch, model) -> None:
    first = watch.next()
    assert isinstance(first, pb.RegisteredModel)
    assert first.name == model
    assert _aliases(first) == {"champion": 1}


def test_watch_sees_an_alias_move(registry, watch, model) -> None:
    watch.next()
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=model, alias="champion", version=2)
    )
    assert _aliases(watch.next()) == {"champion": 2}


def test_watch_sees_a_stage_change(registry, watch, model) -> None:
    watch.next()
    registry.TransitionModelVersionStage(
        pb.TransitionModelVersionStageRequest(name=model, version=2, stage="Production")
    )
    message = watch.next()
    assert isinstance(message, pb.RegisteredModel)
    assert ("Production", 2) in [(mv.current_stage, mv.version) for mv in message.latest_versions]


def test_watch_sees_changes_made_by_another_registry_process(
    registry, watch, model, db_uri, tracking_server
) -> None:
    from registry_service.server import create_server

    watch.next()
    other = create_server(backend_store_uri=db_uri, tracking_address=tracking_server)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{other.port}") as channel:
            pb_grpc.ModelRegistryServiceStub(channel).SetRegisteredModelAlias(
                pb.SetRegisteredModelAliasRequest(name=model, alias="champion", version=2)
            )
        assert _aliases(watch.next()) == {"champion": 2}
    finally:
        other.stop(grace=1)


def test_watch_skips_changes_it_does_not_follow(registry, watch, model) -> None:
    watch.next()
    registry.UpdateRegisteredModel(pb.UpdateRegisteredModelRequest(name=model, description="x"))
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=model, alias="challenger", version=2)
    )
    # The description change alone sent nothing: the next message is the alias change.
    assert _aliases(watch.next()) == {"champion": 1, "challenger": 2}


def test_watch_ends_with_not_found_when_the_model_is_deleted(registry, watch, model) -> None:
    watch.next()
    registry.DeleteRegisteredModel(pb.DeleteRegisteredModelRequest(name=model))
    ended = watch.next()
    assert isinstance(ended, grpc.RpcError)
    assert ended.code() == grpc.StatusCode.NOT_FOUND


def test_watch_of_unknown_model_is_not_found(registry) -> None:
    expect_error(
        lambda: next(
            iter(
                registry.WatchRegisteredModel(pb.WatchRegisteredModelRequest(name="never-created"))
            )
        ),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )


def test_watch_ends_cleanly_when_the_server_stops(db_uri, tracking_server) -> None:
    from registry_service.server import create_server

    running = create_server(backend_store_uri=db_uri, tracking_address=tracking_server)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.ModelRegistryServiceStub(channel)
            name = unique_name("stopping")
            stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
            watch = Watch(stub, name)
            assert isinstance(watch.next(), pb.RegisteredModel)
            running.stop(grace=5)
            assert watch.next() is None  # the stream ended with OK
    finally:
        running.stop(grace=0)
