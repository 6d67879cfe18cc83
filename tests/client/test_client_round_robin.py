"""One client over two tracking replicas on one MariaDB database, balanced by gRPC round_robin.

The replicas are real tracking servers built as `tracking_service.server.create_server` builds
them, plus an interceptor that counts the calls each one answers, so that the test can see
where calls land without mocking anything.
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

import mlgrpc
from mlgrpc.error_reasons import TRACKING_DOMAIN
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.artifact_locations import ArtifactLocations
from mlgrpc_server.bootstrap import RunningServer, start_server
from mlgrpc_server.db import create_db_engine
from tracking_service.servicer import SERVICE_NAME, TrackingServicer
from tracking_service.store.sql_store import SqlTrackingStore

pytestmark = pytest.mark.mysql


class CallCounter(grpc.ServerInterceptor):
    """Counts the calls of the tracking service (not health or reflection) by method."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        method = handler_call_details.method
        if method.startswith(f"/{SERVICE_NAME}/"):
            with self._lock:
                self.calls[method.rsplit("/", 1)[1]] += 1
        return continuation(handler_call_details)

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


@dataclass
class Replica:
    running: RunningServer
    counter: CallCounter

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"


def start_replica(db_uri: str, artifact_root: Path) -> Replica:
    counter = CallCounter()
    engine = create_db_engine(db_uri, pool_size=8)
    locations = ArtifactLocations(str(artifact_root))
    servicer = TrackingServicer(SqlTrackingStore(engine, str(artifact_root)), locations)  # type: ignore[arg-type]
    running = start_server(
        register=lambda server: pb_grpc.add_TrackingServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        domain=TRACKING_DOMAIN,
        port=0,
        max_workers=8,
        interceptors=[counter],
    )
    running.on_stop.append(engine.dispose)
    return Replica(running, counter)


@pytest.fixture(scope="module")
def mysql_uri(new_database: Callable[[str], str]) -> str:
    return new_database("mysql")


@pytest.fixture(scope="module")
def replicas(mysql_uri: str, artifact_root: Path) -> Iterator[list[Replica]]:
    pair = [start_replica(mysql_uri, artifact_root) for _ in range(2)]
    yield pair
    for replica in pair:
        replica.running.stop(grace=1)


def balanced_uri(replicas: list[Replica]) -> str:
    return "grpc://" + ",".join(replica.address for replica in replicas)


def new_experiment(client: mlgrpc.MlgrpcClient) -> str:
    return client.create_experiment(f"rr-{uuid.uuid4().hex[:10]}")


def test_calls_are_spread_over_both_replicas(replicas: list[Replica]) -> None:
    client = mlgrpc.MlgrpcClient(balanced_uri(replicas))
    before = [replica.counter.total() for replica in replicas]
    experiment_id = new_experiment(client)
    for _ in range(60):
        client.get_experiment(experiment_id)
    served = [replica.counter.total() - b for replica, b in zip(replicas, before, strict=True)]
    assert sum(served) == 61
    # round_robin alternates once both connections are up; the first calls may all go to the
    # replica that connected first.
    assert min(served) >= 15, served


def test_runs_written_through_one_replica_are_read_through_the_other(
    replicas: list[Replica],
) -> None:
    first, second = (mlgrpc.MlgrpcClient(f"grpc://{r.address}") for r in replicas)
    experiment_id = new_experiment(first)
    run = first.create_run(experiment_id, run_name="written-by-first")
    first.log_param(run.info.run_id, "alpha", "0.5")
    for step in range(5):
        first.log_metric(run.info.run_id, "loss", 1 / (step + 1), step=step)
    seen = second.get_run(run.info.run_id)
    assert seen.info.run_name == "written-by-first"
    assert seen.data.params == {"alpha": "0.5"}
    assert seen.data.metrics == {"loss": pytest.approx(0.2)}
    history = second.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]


def test_page_token_of_one_replica_is_accepted_by_the_other(replicas: list[Replica]) -> None:
    first, second = (mlgrpc.MlgrpcClient(f"grpc://{r.address}") for r in replicas)
    experiment_id = new_experiment(first)
    created = {first.create_run(experiment_id).info.run_id for _ in range(5)}
    page = first.search_runs(experiment_id, max_results=2, order_by=["attributes.run_id"])
    pages = [page]
    while pages[-1].token:
        # Alternate replicas: each continues where the other stopped.
        client = second if len(pages) % 2 else first
        pages.append(
            client.search_runs(
                experiment_id,
                max_results=2,
                order_by=["attributes.run_id"],
                page_token=pages[-1].token,
            )
        )
    listed = [run.info.run_id for page in pages for run in page]
    assert listed == sorted(created)
    assert len(pages) == 3


def test_balanced_client_writes_each_value_exactly_once(replicas: list[Replica]) -> None:
    mlgrpc.set_tracking_uri(balanced_uri(replicas))
    experiment_id = new_experiment(mlgrpc.MlgrpcClient())
    mlgrpc.set_experiment(experiment_id=experiment_id)
    before = [replica.counter.calls["LogMetric"] for replica in replicas]
    with mlgrpc.start_run() as run:
        for step in range(40):
            mlgrpc.log_metric("x", float(step), step=step)
        mlgrpc.log_params({"a": 1, "b": 2})
    logged = [r.counter.calls["LogMetric"] - b for r, b in zip(replicas, before, strict=True)]
    assert sum(logged) == 40 and min(logged) > 0, logged
    # Read back through one replica only: the database holds every point once.
    reader = mlgrpc.MlgrpcClient(f"grpc://{replicas[1].address}")
    history = reader.get_metric_history(run.info.run_id, "x")
    assert sorted(m.step for m in history) == list(range(40))
    assert reader.get_run(run.info.run_id).data.params == {"a": "1", "b": "2"}


def test_client_keeps_working_when_one_replica_is_killed(
    mysql_uri: str, artifact_root: Path
) -> None:
    doomed, survivor = (start_replica(mysql_uri, artifact_root) for _ in range(2))
    try:
        client = mlgrpc.MlgrpcClient(balanced_uri([doomed, survivor]))
        experiment_id = new_experiment(client)
        for _ in range(10):
            client.get_experiment(experiment_id)
        assert doomed.counter.total() > 0 and survivor.counter.total() > 0
        doomed.running.stop(grace=0)
        served_before = survivor.counter.total()
        # Writes too (not retried by the channel): round_robin only picks a READY replica.
        run_ids = [client.create_run(experiment_id).info.run_id for _ in range(10)]
        for run_id in run_ids:
            client.log_metric(run_id, "m", 1.0)
            assert client.get_run(run_id).data.metrics == {"m": 1.0}
        assert survivor.counter.total() - served_before == 30
    finally:
        doomed.running.stop(grace=0)
        survivor.running.stop(grace=1)


def test_dns_target_is_served_through_grpc_dns_resolver(replicas: list[Replica]) -> None:
    # Here "localhost" has one record; a name with one record per replica spreads the same way.
    client = mlgrpc.MlgrpcClient(f"grpc://dns:///localhost:{replicas[0].running.port}")
    before = replicas[0].counter.total()
    assert client.get_experiment("0").name == "Default"
    assert replicas[0].counter.total() == before + 1


def test_service_config_adds_round_robin_to_the_retry_policy() -> None:
    import json

    from mlgrpc._balancing import with_round_robin
    from mlgrpc._channel import IDEMPOTENT_TRACKING_METHODS, TRACKING_SERVICE, service_config

    merged = json.loads(
        with_round_robin(service_config(TRACKING_SERVICE, IDEMPOTENT_TRACKING_METHODS))
    )
    assert merged["loadBalancingConfig"] == [{"round_robin": {}}]
    assert merged["methodConfig"][0]["retryPolicy"]["maxAttempts"] == 5


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("grpc://10.0.0.1:50051,10.0.0.2:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
        ("grpc://[::1]:1,[::1]:2", "ipv6:[::1]:1,[::1]:2"),
        ("grpc://dns:///tracking.internal:50051", "dns:///tracking.internal:50051"),
        ("ipv4:127.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2"),
    ],
)
def test_address_lists_become_balanced_targets(uri: str, target: str) -> None:
    from mlgrpc.uris import parse_service_uri

    parsed = parse_service_uri(uri)
    assert (parsed.address, parsed.balanced) == (target, True)


@pytest.mark.parametrize(
    "uri",
    [
        "grpc://host-a:50051,host-b:50051",  # names: gRPC has no resolver for a list of them
        "grpc://10.0.0.1:50051,[::1]:50051",
        "grpc://10.0.0.1:50051,10.0.0.2:0",
        "grpc://dns:///no-port",
        "grpc://10.0.0.1:50051,",
    ],
)
def test_bad_address_lists_are_invalid_argument(uri: str) -> None:
    with pytest.raises(mlgrpc.exceptions.InvalidArgumentError) as caught:
        mlgrpc.set_tracking_uri(uri)
    assert caught.value.field == "tracking_uri"
