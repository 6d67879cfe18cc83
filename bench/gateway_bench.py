"""The MLflow REST gateway beside `mlflow server` (issue #14, point 7; issue #17 on PostgreSQL):
both on fresh databases of the same database server, driven by MLflow 3.17's own client,
unchanged, in one client process, round after round, turn and turn about.

    PYTHONPATH=client:. .venv/bin/python -m bench.gateway_bench [--backend mysql|postgresql]
        [--quick] [--rounds 3]

O  ours: `python -m tracking_service` on database A, `python -m gateway` in front of it
M  `mlflow server` (MLflow 3.17, peer venv, its defaults) on database B
Workloads, each round on both (which goes first alternates from round to round):
  W1 sequential `MlflowClient.log_metric`            ratio O/M calls/s   target >= 5
  W2 `search_runs` over an experiment of 10,000 runs: 100 runs filtered+ordered, 100 ordered by
     a metric, and all 10,000 paged 1,000 a page     ratio M/O time      target >= 5
  W3 `log_batch` of 1,000 metrics                    ratio O/M metrics/s target >= 5
  G  the gateway's own cost: POST runs/log-metric on a keep-alive HTTP connection vs the same
     LogMetric over gRPC from Python (the generated stub on the client's channel), in this
     process, interleaved in blocks                  ratio HTTP/gRPC p50 target <= 2
The 10,000 runs (3 metrics, 2 params, 1 tag each, the same values on both) are written before
the rounds, untimed: on ours through gRPC (CreateRun with params and tags, then LogBatch), on
MLflow's database by bulk INSERTs into MLflow's own tables (its REST API would take many minutes
for 20,000 calls); each search checks that both servers find the same number of runs.
The figures are medians over the rounds; ratios are what count on a shared machine.
Two bounds beside each ratio: the ceiling, MLflow's figure against a floor server answering at
once (the best any server reaches with this client), and for W1 and W3 on MariaDB the durable
ceiling, where the floor also pays the write that no server losing nothing acknowledged can skip
(bare PyMySQL INSERT + COMMIT of 1 and of 1,000 rows on the same database server, every round),
and the same with the hop the gateway's design makes to the tracking service (a no-op gRPC call,
the health check, every round): "+hop", the best a gateway before a gRPC service can reach.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.http_bench import peer_venv
from bench.tracking_bench import BenchServer, durable_writes, free_port, settle_statistics, timed
from mlgrpc._channel import TRACKING_SERVICE, get_channel
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

#: MLflow 3.17 with the database drivers its server needs for each backend.
MLFLOW_BENCH_REQUIREMENTS = ["mlflow==3.17.*", "pymysql", "psycopg2-binary"]
SERVER_URLS = {
    "mysql": os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306"),
    "postgresql": os.environ.get(
        "MLGRPC_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
    ),
}
#: The driver MLflow's server is given (psycopg 3 is not in its venv).
MLFLOW_DRIVERS = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg2"}
CLIENT_SCRIPT = Path(__file__).with_name("gateway_bench_client.py")


# ---- the two servers -------------------------------------------------------------------------


def mlflow_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MLFLOW_DISABLE_TELEMETRY": "true"}
    for name in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(name, None)
    return env


def wait_http_ok(url: str, process: subprocess.Popen, limit_s: float, log: Path) -> None:
    """Until GET /health answers. A port `free_port()` gave may be taken by another process
    meanwhile (a shared machine; one answered with HTTP/2 frames): keep trying, and the server's
    own exit (it could not bind) then says what happened."""
    deadline = time.monotonic() + limit_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.3)


def wait_workers(url: str, process: subprocess.Popen, log: Path, in_a_row: int = 12) -> None:
    """Until `in_a_row` API calls on new connections answer in a row: `mlflow server`'s parent
    answers /health while its uvicorn workers still start (a minute on a loaded machine), and a
    request to a worker that is then restarted is cut short."""
    answered, deadline = 0, time.monotonic() + 300
    while answered < in_a_row:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url}: its workers did not start:\n{log.read_text()[-3000:]}")
        try:
            search = "/api/2.0/mlflow/experiments/search?max_results=1"
            with urllib.request.urlopen(url + search, timeout=10) as answer:
                answer.read()
            answered += 1
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            answered = 0
        time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in its own session: its process group (its workers), ours only."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, 15)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(10)


class FreshDatabase:
    """An empty database for MLflow's server on the same database server as ours."""

    def __init__(self, server_url: str, backend: str) -> None:
        self.postgresql = backend == "postgresql"
        admin_url = f"{server_url}/postgres" if self.postgresql else server_url
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"mlflow_bench_{uuid.uuid4().hex[:10]}"
        create = (
            f'CREATE DATABASE "{self.name}"'
            if self.postgresql
            else f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
        with self.admin.connect() as conn:
            conn.execute(sa.text(create))
        url = sa.engine.make_url(server_url)
        rest = server_url.split("://", 1)[1]
        self.mlflow_uri = f"{MLFLOW_DRIVERS[backend]}://{rest}/{self.name}"
        self.our_uri = url.set(database=self.name)  # the same database through our driver

    def drop(self) -> None:
        with self.admin.connect() as conn:
            quoted = f'"{self.name}" WITH (FORCE)' if self.postgresql else f"`{self.name}`"
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))
        self.admin.dispose()


class Servers:
    """Ours (tracking service + gateway) and MLflow's server, each on a fresh database."""

    def __init__(self, backend: str, mlflow_bin: Path, logs: Path) -> None:
        self.processes: list[subprocess.Popen] = []
        self.mlflow_db: FreshDatabase | None = None
        self.tracking = BenchServer(SERVER_URLS[backend], workers=16)
        try:
            self.gateway_url = self._start_gateway(logs / "gateway.log")
            self.mlflow_db = FreshDatabase(SERVER_URLS[backend], backend)
            self.mlflow_url = self._start_mlflow(mlflow_bin, logs / "mlflow.log")
        except BaseException:
            self.close()
            raise

    def _start_gateway(self, log: Path) -> str:
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gateway", "--port", str(port),
                "--tracking-address", self.tracking.address, "--registry-address", "",
                "--log-level", "WARNING",
            ],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_http_ok(url, process, 60, log)
        return url

    def _start_mlflow(self, mlflow_bin: Path, log: Path) -> str:
        assert self.mlflow_db is not None
        port = free_port()
        self.artifacts = tempfile.TemporaryDirectory(prefix="mlflow-bench-")
        env = {**mlflow_env(), "PATH": f"{mlflow_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        process = subprocess.Popen(
            [
                str(mlflow_bin / "mlflow"), "server",
                "--backend-store-uri", self.mlflow_db.mlflow_uri,
                "--artifacts-destination", self.artifacts.name,
                "--host", "127.0.0.1", "--port", str(port),
            ],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_http_ok(url, process, 300, log)  # it migrates its fresh database first
        wait_workers(url, process, log)
        return url

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process)
        if self.mlflow_db is not None:
            self.mlflow_db.drop()
        self.tracking.close()


# ---- the client's floor: a server that does nothing ---------------------------------------


def search_key(body: dict[str, Any]) -> str:
    """What tells the bench's searches apart (not the experiment: the floor has none)."""
    return json.dumps([body.get("filter", ""), body.get("order_by", []),
                       body.get("max_results"), body.get("page_token", "")])  # fmt: skip


def floor_app_main(port: int, canned_file: str) -> None:
    """The floor: answers MLflow's client at once, on the gateway's stack (uvicorn, httptools,
    uvloop, one process): `{}` to a log call, and to a search the page our gateway gave for the
    same search (recorded before the rounds). The MLflow client against it costs only itself."""
    import uvicorn

    canned = {key: body.encode() for key, body in json.loads(Path(canned_file).read_text()).items()}
    headers = [(b"content-type", b"application/json")]

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        raw, more = b"", True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        answer = b"{}"
        if scope["path"].endswith("/runs/search"):
            answer = canned[search_key(json.loads(raw))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                lifespan="off", access_log=False, log_level="warning")  # fmt: skip


def record_searches(gateway_url: str, experiment_id: str, path: Path) -> None:
    """Our gateway's answers to the bench's searches (every page of "all"), as the floor's."""
    host_port = gateway_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=120)
    canned: dict[str, str] = {}
    searches = [
        {
            "filter": "metrics.rmse < 0.5 and params.alpha = '0.1'",
            "order_by": ["metrics.rmse"],
            "max_results": 100,
        },
        {"order_by": ["metrics.r2 DESC"], "max_results": 100},
        {"max_results": 1000},
    ]  # fmt: skip (as bench/gateway_bench_client.py's SEARCHES)
    for search in searches:
        token = ""
        while True:
            body = {**search, "experiment_ids": [experiment_id], "run_view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            connection.request("POST", "/api/2.0/mlflow/runs/search", json.dumps(body),
                               {"content-type": "application/json"})  # fmt: skip
            answer = connection.getresponse().read().decode()
            canned[search_key(body)] = answer
            token = json.loads(answer).get("next_page_token", "")
            if not token:
                break
    connection.close()
    path.write_text(json.dumps(canned))


def start_floor(canned_file: Path, log: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.gateway_bench", "--floor-server", str(port),
         str(canned_file)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5):
                return url, process
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


# ---- the MLflow client process ---------------------------------------------------------------


class MlflowClientProcess:
    """`bench/gateway_bench_client.py` in the MLflow venv: one JSON command in, one answer out."""

    def __init__(self, mlflow_bin: Path) -> None:
        self.process = subprocess.Popen(
            [str(mlflow_bin / "python"), str(CLIENT_SCRIPT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=mlflow_env(), text=True,
        )  # fmt: skip

    def __call__(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"{command['op']} at {command['url']}: {reply['error']}")
        return reply

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


# ---- the 10,000 runs searched ----------------------------------------------------------------


@dataclass(frozen=True)
class SeedRun:
    rmse: float
    r2: float
    mae: float
    alpha: str
    l1_ratio: str


def seed_runs(count: int) -> list[SeedRun]:
    rng = random.Random(7)
    values = [f"{v / 10:.1f}" for v in range(1, 11)]  # "0.1" … "1.0"
    return [
        SeedRun(rng.random(), rng.random(), rng.random(), values[i % 10], values[(i // 10) % 10])
        for i in range(count)
    ]


def populate_ours(address: str, experiment_id: str, runs: list[SeedRun]) -> None:
    """Through our gRPC API, 8 calls in flight (the service has 16 threads)."""
    stub = pb_grpc.TrackingServiceStub(get_channel(address, TRACKING_SERVICE))

    def write(run: SeedRun) -> None:
        created = stub.CreateRun(
            pb.CreateRunRequest(
                experiment_id=experiment_id,
                params=[
                    pb.Param(key="alpha", value=run.alpha),
                    pb.Param(key="l1_ratio", value=run.l1_ratio),
                ],
                tags=[pb.RunTag(key="team", value="ml")],
            )
        )
        metrics = [
            pb.Metric(key=key, value=value, timestamp=1, step=0)
            for key, value in (("rmse", run.rmse), ("r2", run.r2), ("mae", run.mae))
        ]
        stub.LogBatch(pb.LogBatchRequest(run_id=created.run.info.run_id, metrics=metrics))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, runs))


def populate_mlflow(database: FreshDatabase, experiment_id: str, runs: list[SeedRun]) -> None:
    """Bulk INSERTs into MLflow's own tables (runs, tags, params, metrics, latest_metrics): the
    rows its SqlAlchemyStore writes for create_run + log_batch, with its run-name tag."""
    engine = sa.create_engine(database.our_uri)
    meta = sa.MetaData()
    names = ["runs", "tags", "params", "metrics", "latest_metrics"]
    meta.reflect(engine, only=names)
    now = int(time.time() * 1000)
    run_rows, tag_rows, param_rows, metric_rows = [], [], [], []
    for i, run in enumerate(runs):
        run_id = uuid.uuid4().hex
        run_rows.append({
            "run_uuid": run_id, "name": f"seed-{i}", "source_type": "UNKNOWN",
            "source_name": "", "entry_point_name": "", "user_id": "bench",
            "status": "RUNNING", "start_time": now, "end_time": None, "source_version": "",
            "lifecycle_stage": "active", "experiment_id": int(experiment_id),
            "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts",
        })  # fmt: skip
        tag_rows += [
            {"key": "team", "value": "ml", "run_uuid": run_id},
            {"key": "mlflow.runName", "value": f"seed-{i}", "run_uuid": run_id},
            {"key": "mlflow.user", "value": "bench", "run_uuid": run_id},
        ]
        param_rows += [
            {"key": "alpha", "value": run.alpha, "run_uuid": run_id},
            {"key": "l1_ratio", "value": run.l1_ratio, "run_uuid": run_id},
        ]
        metric_rows += [
            {"key": key, "value": value, "timestamp": 1, "step": 0, "is_nan": False,
             "run_uuid": run_id}
            for key, value in (("rmse", run.rmse), ("r2", run.r2), ("mae", run.mae))
        ]  # fmt: skip
    with engine.begin() as conn:
        for table, rows in (
            ("runs", run_rows), ("tags", tag_rows), ("params", param_rows),
            ("metrics", metric_rows), ("latest_metrics", metric_rows),
        ):  # fmt: skip
            columns = set(meta.tables[table].columns.keys())
            for start in range(0, len(rows), 5000):
                chunk = [{k: v for k, v in row.items() if k in columns} for row in
                         rows[start:start + 5000]]  # fmt: skip
                conn.execute(meta.tables[table].insert(), chunk)
    engine.dispose()


# ---- rounds ----------------------------------------------------------------------------------


@dataclass
class Sizes:
    log_metric_calls: int
    batches: int
    search_runs: int
    search_repeat: int
    gateway_calls: int
    batch_writes: int  # 1,000-row durable writes a round (W3's bound)


def w1_log_metric(client: MlflowClientProcess, url: str, run_id: str, calls: int, step: int
                  ) -> float:  # fmt: skip
    """Calls a second of sequential log_metric."""
    samples = client(op="log_metric", url=url, run_id=run_id, calls=calls, first_step=step)
    return calls / (sum(samples["samples_ms"]) / 1000)


def w3_log_batch(client: MlflowClientProcess, url: str, run_id: str, batches: int, step: int
                 ) -> float:  # fmt: skip
    """Metrics a second of log_batch of 1,000 metrics."""
    samples = client(op="log_batch", url=url, run_id=run_id, batches=batches, size=1000,
                     first_step=step)  # fmt: skip
    return 1000 * batches / (sum(samples["samples_ms"]) / 1000)


def w2_search(client: MlflowClientProcess, url: str, experiment_id: str, kind: str, repeat: int
              ) -> tuple[float, int]:  # fmt: skip
    """Median milliseconds of the search, and how many runs it found."""
    reply = client(op="search", url=url, experiment_id=experiment_id, kind=kind, repeat=repeat)
    return statistics.median(reply["samples_ms"]), reply["found"]


def gateway_cost(gateway_url: str, address: str, run_id: str, calls: int, rounds: int
                 ) -> tuple[float, float]:  # fmt: skip
    """p50 ms of POST runs/log-metric through the gateway and of LogMetric over gRPC, the two
    interleaved in blocks of 50 calls so that any change of machine load hits both."""
    stub = pb_grpc.TrackingServiceStub(get_channel(address, TRACKING_SERVICE))
    host_port = gateway_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=30)
    steps = iter(range(10**9))
    headers = {"content-type": "application/json"}

    def over_http() -> None:
        body = json.dumps({"run_id": run_id, "key": "http", "value": 0.5,
                           "timestamp": 1_700_000_000_000, "step": next(steps)})  # fmt: skip
        connection.request("POST", "/api/2.0/mlflow/runs/log-metric", body, headers)
        response = connection.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"log-metric answered {response.status}: {content[:300]!r}")

    def over_grpc() -> None:
        stub.LogMetric(
            pb.LogMetricRequest(
                run_id=run_id, key="grpc", value=0.5, timestamp=1_700_000_000_000, step=next(steps)
            )
        )

    http_ms: list[float] = []
    grpc_ms: list[float] = []
    for warm in (over_http, over_grpc):
        for _ in range(50):  # warm both paths
            warm()
    block = 50
    for _ in range(rounds * max(1, calls // block)):
        for call, samples in ((over_http, http_ms), (over_grpc, grpc_ms)):
            for _ in range(block):
                start = time.perf_counter()
                call()
                samples.append((time.perf_counter() - start) * 1000)
    connection.close()
    return statistics.median(http_ms), statistics.median(grpc_ms)


@dataclass
class DurableWrite:
    """A write no server that loses nothing acknowledged can skip before it answers, timed with a
    bare driver on the database server both servers use, in every round beside the floor."""

    workload: str  # the row it bounds: "W1" (one row a log_metric), "W3" (1,000 a log_batch)
    write: Callable[[], None]
    per_round: int
    samples_ms: list[float] = field(default_factory=list)


def open_durable_writes(
    backend: str, tracking: BenchServer, sizes: Sizes, stack: ExitStack
) -> list[DurableWrite]:
    """Bare PyMySQL INSERT + COMMIT in one round trip (bench.tracking_bench's durable_writes) on
    our tracking database's server; none on PostgreSQL (that helper is PyMySQL's)."""
    if backend != "mysql":
        return []
    return [
        DurableWrite("W1", stack.enter_context(durable_writes(tracking, 1)),
                     sizes.log_metric_calls),
        DurableWrite("W3", stack.enter_context(durable_writes(tracking, 1000)),
                     sizes.batch_writes),
    ]  # fmt: skip


def open_no_op_call(tracking: BenchServer, stack: ExitStack) -> Callable[[], None]:
    """One no-op gRPC call to our tracking service (its health check, on a channel of its own):
    the least the gateway's hop to the service costs a call."""
    channel = stack.enter_context(grpc.insecure_channel(tracking.address))
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()

    def check() -> None:
        health.Check(request)

    for _ in range(100):  # warm
        check()
    return check


@dataclass
class Row:
    test: str
    ours: float
    mlflow: float
    floor: float  # the MLflow client against a server that does nothing
    unit: str
    higher_is_better: bool
    target: float
    items_per_op: int = 1  # of a rate: metrics in one call (1,000 for log_batch)
    durable_write_ms: float | None = None  # p50 of the write one call must at least pay
    hop_ms: float | None = None  # p50 of a no-op gRPC call: the gateway's hop to the service

    def better(self, a: float, b: float) -> float:
        """How many times a is better than b."""
        return a / b if self.higher_is_better else b / a

    @property
    def ratio(self) -> float:
        return self.better(self.ours, self.mlflow)

    @property
    def ceiling(self) -> float:
        """The best ratio any server could reach with this client: MLflow's figure against
        the floor's."""
        return self.better(self.floor, self.mlflow)

    def op_ms(self, rate: float) -> float:
        """Milliseconds one call takes at this rate (items a second)."""
        return 1000 * self.items_per_op / rate

    @property
    def durable_ceiling(self) -> float | None:
        """The best ratio a server that writes each call durably before answering could reach:
        MLflow's time a call against the floor's plus one durable write."""
        if self.durable_write_ms is None or not self.higher_is_better:
            return None
        bound = self.op_ms(self.floor) + self.durable_write_ms
        return self.op_ms(self.mlflow) / bound

    @property
    def hop_ceiling(self) -> float | None:
        """The durable ceiling of a gateway that calls a gRPC service for each call (this
        design): the floor's time plus the write plus one no-op gRPC call."""
        if self.durable_write_ms is None or self.hop_ms is None or not self.higher_is_better:
            return None
        bound = self.op_ms(self.floor) + self.durable_write_ms + self.hop_ms
        return self.op_ms(self.mlflow) / bound


SIDES = ("ours", "mlflow", "floor")


def run_bench(args: argparse.Namespace) -> tuple[list[Row], float, float]:
    sizes = (
        Sizes(log_metric_calls=100, batches=2, search_runs=1000, search_repeat=3, gateway_calls=200,
              batch_writes=10)
        if args.quick
        else Sizes(log_metric_calls=300, batches=5, search_runs=10_000, search_repeat=5,
                   gateway_calls=500, batch_writes=20)
    )  # fmt: skip
    mlflow_bin = peer_venv("mlflow-bench", MLFLOW_BENCH_REQUIREMENTS)
    logs = Path(tempfile.mkdtemp(prefix="gateway-bench-logs-"))
    print(f"server logs in {logs}", file=sys.stderr)
    servers = Servers(args.backend, mlflow_bin, logs)
    client = MlflowClientProcess(mlflow_bin)
    writes = ExitStack()  # closed before the servers: they drop the database
    try:
        durable = open_durable_writes(args.backend, servers.tracking, sizes, writes)
        no_op_call = open_no_op_call(servers.tracking, writes)
        hop_ms: list[float] = []
        urls = {"ours": servers.gateway_url, "mlflow": servers.mlflow_url}

        def new_experiment(side: str, prefix: str) -> str:
            name = prefix + uuid.uuid4().hex[:8]
            return client(op="experiment", url=urls[side], name=name)["experiment_id"]

        experiments = {side: new_experiment(side, "bench-") for side in urls}
        searched = {side: new_experiment(side, "search-") for side in urls}
        runs = seed_runs(sizes.search_runs)
        start = time.perf_counter()
        populate_ours(servers.tracking.address, searched["ours"], runs)
        print(f"ours: {len(runs)} runs in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        assert servers.mlflow_db is not None
        populate_mlflow(servers.mlflow_db, searched["mlflow"], runs)
        settle_statistics(servers.tracking.db_uri)  # both databases, as after a minute of
        settle_statistics(servers.mlflow_db.our_uri)  # autovacuum: see settle_statistics
        run_ids = {
            side: client(op="run", url=url, experiment_id=experiments[side])["run_id"]
            for side, url in urls.items()
        }
        record_searches(servers.gateway_url, searched["ours"], logs / "canned.json")
        urls["floor"], floor_process = start_floor(logs / "canned.json", logs / "floor.log")
        servers.processes.append(floor_process)
        run_ids["floor"], searched["floor"] = run_ids["ours"], searched["ours"]  # not read

        for side, url in urls.items():  # warm the three servers' paths (and MLflow's workers)
            w1_log_metric(client, url, run_ids[side], 50, 10**6)
            w3_log_batch(client, url, run_ids[side], 1, 10**7)
            for kind in ("filtered", "ordered"):
                w2_search(client, url, searched[side], kind, 1)

        figures: dict[str, dict[str, list[float]]] = {}

        def record(name: str, side: str, value: float) -> None:
            figures.setdefault(name, {side: [] for side in SIDES})[side].append(value)

        found: dict[tuple[str, str], int] = {}
        for round_ in range(args.rounds):
            shift = round_ % len(SIDES)  # who goes first turns from round to round
            for side in SIDES[shift:] + SIDES[:shift]:
                url = urls[side]
                step = round_ * 100_000
                record("W1", side, w1_log_metric(client, url, run_ids[side],
                                                 sizes.log_metric_calls, step))  # fmt: skip
                record("W3", side, w3_log_batch(client, url, run_ids[side], sizes.batches,
                                                10**8 + round_ * 10**6))  # fmt: skip
                for kind in ("filtered", "ordered", "all"):
                    repeat = 1 if kind == "all" else sizes.search_repeat
                    ms, count = w2_search(client, url, searched[side], kind, repeat)
                    record(f"W2 {kind}", side, ms)
                    found[(kind, side)] = count
                if side == "floor":  # the floor's time and what it adds, back to back
                    for bound in durable:
                        bound.samples_ms += timed(bound.write, bound.per_round)
                    hop_ms += timed(no_op_call, sizes.log_metric_calls)
            print(f"round {round_ + 1} done", file=sys.stderr, flush=True)
        for kind in ("filtered", "ordered", "all"):
            if len({found[(kind, side)] for side in SIDES}) != 1:
                raise AssertionError(f"search {kind}: the servers found {found}")
        assert found[("all", "ours")] == sizes.search_runs, found

        http_p50, grpc_p50 = gateway_cost(
            servers.gateway_url, servers.tracking.address, run_ids["ours"],
            sizes.gateway_calls, args.rounds,
        )  # fmt: skip
    finally:
        client.close()
        writes.close()
        servers.close()
    write_p50 = {bound.workload: statistics.median(bound.samples_ms) for bound in durable}
    hop_p50 = statistics.median(hop_ms)

    def row(name: str, test: str, unit: str, higher_is_better: bool, items_per_op: int = 1
            ) -> Row:  # fmt: skip
        o, m, f = (statistics.median(figures[name][side]) for side in SIDES)
        return Row(test, o, m, f, unit, higher_is_better, 5, items_per_op, write_p50.get(name),
                   hop_p50)  # fmt: skip

    n = sizes.search_runs
    rows = [
        row("W1", f"W1 log_metric x{sizes.log_metric_calls} sequential", "calls/s", True),
        row("W2 filtered", f"W2 search_runs filter+order, 100 of {n}", "ms", False),
        row("W2 ordered", f"W2 search_runs order by metric, 100 of {n}", "ms", False),
        row("W2 all", f"W2 search_runs page all {n}, 1000/page", "ms", False),
        row("W3", "W3 log_batch of 1000 metrics", "metrics/s", True, items_per_op=1000),
    ]
    return rows, http_p50, grpc_p50


def show(figure: float) -> str:
    return f"{figure:,.0f}" if figure >= 100 else f"{figure:.2f}"


def print_table(rows: list[Row], http_p50: float, grpc_p50: float, backend: str) -> None:
    width = max(len(r.test) for r in rows)
    print(f"backend: {backend}; medians over the rounds; ratio = how many times better ours is "
          "than mlflow; ceiling = the same for the floor (the best any server can reach with "
          "this client); durable = the same for the floor plus one durable write a call; +hop = "
          "that plus one no-op gRPC call (the gateway's hop to the tracking service)")  # fmt: skip
    print(f"{'test':<{width}}  {'ours':>9}  {'mlflow':>9}  {'floor':>9}  {'unit':<9}  "
          f"{'ratio':>6}  {'ceiling':>7}  {'durable':>7}  {'+hop':>5}  target  ok")  # fmt: skip
    print("-" * (width + 95))
    for r in rows:
        durable = "-" if r.durable_ceiling is None else f"{r.durable_ceiling:.2f}"
        hop = "-" if r.hop_ceiling is None else f"{r.hop_ceiling:.2f}"
        print(f"{r.test:<{width}}  {show(r.ours):>9}  {show(r.mlflow):>9}  {show(r.floor):>9}  "
              f"{r.unit:<9}  {r.ratio:6.2f}  {r.ceiling:7.2f}  {durable:>7}  {hop:>5}  "
              f">= {r.target:<3g}  {'yes' if r.ratio >= r.target else 'NO'}")  # fmt: skip
    for r in rows:
        if r.durable_write_ms is not None:
            print(f"{r.test}: one durable write (bare PyMySQL INSERT of {r.items_per_op:,} "
                  f"row(s) + COMMIT, one round trip) p50 {r.durable_write_ms:.2f} ms; a call "
                  f"takes mlflow {r.op_ms(r.mlflow):.2f} ms, the floor {r.op_ms(r.floor):.2f} ms, "
                  f"ours {r.op_ms(r.ours):.2f} ms; a no-op gRPC call p50 {r.hop_ms or 0:.2f} ms"
                  )  # fmt: skip
    cost = http_p50 / grpc_p50
    print(
        f"G log-metric p50: through the gateway (HTTP) {http_p50:.2f} ms, LogMetric over gRPC "
        f"{grpc_p50:.2f} ms: ratio {cost:.2f}, target <= 2  {'yes' if cost <= 2 else 'NO'}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=sorted(SERVER_URLS), default="mysql",
                        help="the database server both run on (URLs from MLGRPC_TEST_MYSQL_URL / "
                        "MLGRPC_TEST_POSTGRESQL_URL)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds on each server")
    parser.add_argument("--floor-server", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.floor_server:
        floor_app_main(int(args.floor_server[0]), args.floor_server[1])
        return 0
    rows, http_p50, grpc_p50 = run_bench(args)
    print_table(rows, http_p50, grpc_p50, args.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
