"""HTTP scoring benchmark (issue #13, "Speed"): our `--http-port` beside MLflow's and MLServer's
HTTP servers and a bare ASGI floor, one sitting, the same model directory, h2load `--h1`.

    PYTHONPATH=client:. .venv/bin/python -m bench.http_bench [--quick] [--duration 5]

Servers, one after another, each POSTed the seed's single row as JSON at c=1 and c=8:
  M  `mlflow models serve --env-manager local` (MLflow 3.17, peer venv): /invocations
  X  MLServer 1.7's REST with its MLflow runtime (peer venv): /v2/models/wine/infer
  F  the floor: a bare ASGI app answering a fixed JSON body on uvicorn + httptools + uvloop
  O  ours, `python -m scoring_service -m DIR --http-port P`, --workers 1 and 2: /invocations
     and /v2/models/wine/infer, and gRPC Predict at c=1 (h2load, as bench/scoring_bench.py)
Every answer is checked: h2load's status of each (all must be 2xx, none failed or errored), and
the body of a sample (before, during and after each load, by a separate client) must hold the
in-process prediction (the floor answers it as a constant).
The peer venvs are made on first use under ~/.cache/mlgrpc/peer-venvs/ (pip, a few minutes).
Needs h2load (`apt-get install -y nghttp2-client`). The exit status is 1 if a check failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.scoring_bench import (
    PREDICT,
    SEED_COLUMNS,
    SEED_ROW,
    H2Run,
    free_port,
    h2load,
    run_h2load,
    save_seed_model,
    seed_predict_request,
    stop,
    wait_until_answering,
)

PEER_VENV_ROOT = Path.home() / ".cache" / "mlgrpc" / "peer-venvs"
MLFLOW_REQUIREMENTS = ["mlflow==3.17.*", "scikit-learn==1.9.1"]
# uvloop 0.22+ breaks MLServer 1.7's inference workers (`asyncio.get_event_loop()` in a fresh
# process: "There is no current event loop"), and the model never loads.
MLSERVER_REQUIREMENTS = [
    "mlserver==1.7.*", "mlserver-mlflow==1.7.*", "scikit-learn==1.9.1", "uvloop<0.22"
]  # fmt: skip
JSON = "application/json"


# ---- the requests and the expected answers --------------------------------------------------


def invocations_body() -> bytes:
    return json.dumps({"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}}).encode()


def v2_body() -> bytes:
    """The V2 form MLServer's MLflow runtime answers correctly: one named input per column.

    A single [1, 11] tensor is read by MLServer as an unnamed array and fails the signature;
    named [1] inputs with the pandas content type become the DataFrame MLflow's pyfunc wants.
    Ours reads the same body (columns matched by name).
    """
    inputs = [
        {"name": name, "shape": [1], "datatype": "FP64", "data": [float(value)]}
        for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True)
    ]
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs}).encode()


def in_process_prediction(model_dir: Path) -> float:
    import pandas as pd

    from mlgrpc import sklearn as mlgrpc_sklearn

    model = mlgrpc_sklearn.load_model_from_dir(model_dir)
    frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)[list(model.feature_names_in_)]
    return float(model.predict(frame)[0])


def prediction_of(answer: object) -> float:
    """The one number in an answer of any of the three protocols."""
    if isinstance(answer, dict):
        if "predictions" in answer:
            return prediction_of(answer["predictions"])
        if "outputs" in answer:
            (output,) = answer["outputs"]
            return prediction_of(output["data"])
    if isinstance(answer, list) and len(answer) == 1:
        return prediction_of(answer[0])
    if isinstance(answer, float | int) and not isinstance(answer, bool):
        return float(answer)
    raise ValueError(f"no single prediction in {answer!r:.200}")


# ---- checking answers -----------------------------------------------------------------------


@dataclass
class Check:
    """Answers whose body was read and compared, and what was wrong with any of them."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)


class Sampler:
    """Sends the request on its own keep-alive connection and compares each answer's body."""

    def __init__(self, port: int, path: str, body: bytes, expected: float) -> None:
        self.port, self.path, self.body, self.expected = port, path, body, expected
        self.check = Check()
        self.sample_body = b""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self, connection: http.client.HTTPConnection) -> None:
        connection.request("POST", self.path, self.body, {"content-type": JSON})
        response = connection.getresponse()
        content = response.read()
        self.sample_body = content
        self.check.checked += 1
        try:
            got: float | None = prediction_of(json.loads(content))
        except ValueError:
            got = None
        if response.status != 200 or got is None or abs(got - self.expected) > 1e-9:
            self.check.problems.append(f"status {response.status}, body {content[:200]!r}")

    def burst(self, count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for _ in range(count):
                self.once(connection)
        finally:
            connection.close()

    def __enter__(self) -> Sampler:
        def run() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                while not self._stop.wait(0.2):  # ~5 a second: a small share of any load
                    self.once(connection)
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(35)


def wait_http(
    port: int, path: str, body: bytes, process: subprocess.Popen, limit_s: float
) -> float:
    """Seconds until POST `path` first answers 200 (the process must stay alive)."""
    t0 = time.perf_counter()
    last = ""
    while time.perf_counter() - t0 < limit_s:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", path, body, {"content-type": JSON})
            response = connection.getresponse()
            content = response.read()
            connection.close()
            if response.status == 200:
                return time.perf_counter() - t0
            last = f"{response.status} {content[:300]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.05)
    raise TimeoutError(f"POST {path} did not answer 200 within {limit_s} s: {last}")


_REQUESTS = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                       r"(\d+) failed, (\d+) errored, (\d+) timeout")  # fmt: skip
_STATUS_CODES = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")


def h2load_problems(run: H2Run, concurrency: int) -> list[str]:
    """What h2load saw wrong: failed, errored or timed-out requests, and non-2xx answers.

    A status 0 is allowed only for the requests in flight as the warm-up ended (the first
    `concurrency` to start): they are answered during the warm-up, and h2load counts them
    succeeded but logs no status.
    """
    problems = []
    counts = _REQUESTS.search(run.stdout)
    if counts is None or any(int(counts[i]) for i in (5, 6, 7)):
        problems.append(f"h2load: {counts[0] if counts else run.stdout[-300:]}")
    codes = _STATUS_CODES.search(run.stdout)
    if codes is None or any(int(codes[i]) for i in (2, 3, 4)):
        problems.append(f"h2load: {codes[0] if codes else 'no status codes'}")
    first = sorted(range(len(run.starts)), key=run.starts.__getitem__)[:concurrency]
    at_warm_up_end = {i for i in first if run.answers[i][0] == 0}
    bad = [
        status
        for i, (status, _) in enumerate(run.answers)
        if not 200 <= status < 300 and i not in at_warm_up_end
    ]
    if bad:
        problems.append(f"{len(bad)} of {len(run.answers)} answers were {sorted(set(bad))}")
    return problems


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (workers, uvicorn children)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = int(fields[11]) + int(fields[12])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


# ---- measuring one endpoint -----------------------------------------------------------------


@dataclass
class Load:
    label: str
    concurrency: int
    rps: float
    p50: float
    p99: float
    answers: int
    check: Check
    #: Server CPU per request (µs): the process tree's CPU over the run ÷ the requests of its
    #: warm-up and measured seconds (at the measured rate); the sampler's few are ignored.
    cpu_us: float = 0.0


def measure(
    label: str, port: int, path: str, body: bytes, expected: float, levels: list[int],
    duration: int, pid: int | None = None,
) -> list[Load]:  # fmt: skip
    """h2load --h1 at each concurrency; every status counted, a sample of bodies compared."""
    sampler = Sampler(port, path, body, expected)
    sampler.burst(20)
    loads = []
    for c in levels:
        before, checked = len(sampler.check.problems), sampler.check.checked
        cpu = tree_cpu_seconds(pid) if pid is not None else 0.0
        with sampler:
            run = run_h2load(f"http://127.0.0.1:{port}{path}", body, [f"content-type: {JSON}"],
                             c, duration, h1=True)  # fmt: skip
        cpu = tree_cpu_seconds(pid) - cpu if pid is not None else 0.0
        sampler.burst(20)
        rps, p50, p99, _ = run.figures()
        check = Check(sampler.check.checked - checked, sampler.check.problems[before:])
        check.problems += h2load_problems(run, c)
        cpu_us = cpu / (rps * (duration + 1)) * 1e6 if rps else 0.0
        loads.append(Load(label, c, rps, p50, p99, len(run.answers), check, cpu_us))
    return loads


# ---- the servers ------------------------------------------------------------------------------


def peer_venv(name: str, requirements: list[str]) -> Path:
    """The bin/ of ~/.cache/mlgrpc/peer-venvs/NAME holding `requirements` (tests' peer_python)."""
    venv = PEER_VENV_ROOT / name
    python, marker = venv / "bin" / "python", venv / ".mlgrpc-requirements"
    wanted = "\n".join(requirements)
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        print(f"making the peer venv {venv} ({' '.join(requirements)})", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        marker.write_text(wanted)
    return venv / "bin"


def peer_env(bin_dir: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)  # our packages stay out of the peers' processes
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"  # mlflow shells `uvicorn` from its venv
    return env


def floor_app_main(port: int, prediction: float) -> None:
    """The floor: a bare ASGI app answering a fixed JSON body, on our stack, one process."""
    import uvicorn

    from scoring_service.http.one_write import OneWriteHttpToolsProtocol

    answer = json.dumps({"predictions": [prediction]}).encode()
    headers = [(b"content-type", b"application/json")]

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await receive()  # the body (one message: the requests are small)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    uvicorn.run(app, host="127.0.0.1", port=port, http=OneWriteHttpToolsProtocol, loop="uvloop",
                lifespan="off", access_log=False, log_level="warning")  # fmt: skip


@dataclass
class Server:
    """A started server: its HTTP port and process, and how long it took to answer."""

    port: int
    process: subprocess.Popen
    cold_s: float
    logs: Path | None = None


def start_server(
    command: list[str], port: int, path: str, body: bytes, env: dict[str, str], cwd: Path,
    limit_s: float = 180,
) -> Server:  # fmt: skip
    log = cwd / f"server-{port}.log"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        wait_http(port, path, body, process, limit_s)
    except (RuntimeError, TimeoutError):
        stop(process)
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    return Server(port, process, time.perf_counter() - t0, log)


def mlserver_repo(tmp: Path, model_dir: Path) -> tuple[Path, int]:
    repo = tmp / "mlserver-repo"
    (repo / "wine").mkdir(parents=True)
    settings = {"name": "wine", "implementation": "mlserver_mlflow.MLflowRuntime",
                "parameters": {"uri": str(model_dir)}}  # fmt: skip
    (repo / "wine" / "model-settings.json").write_text(json.dumps(settings))
    http_port = free_port()
    # MLServer's defaults otherwise (one inference worker process, metrics on).
    server = {"http_port": http_port, "grpc_port": free_port(), "metrics_port": free_port()}
    (repo / "settings.json").write_text(json.dumps(server))
    return repo, http_port


# ---- the run ----------------------------------------------------------------------------------

#: The workers `--workers` defaults to: what we ship, so what the targets are held to.
DEFAULT_WORKERS = 1


@dataclass
class Results:
    loads: list[Load] = field(default_factory=list)
    grpc_p50: dict[str, float] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: (floor req/s, ours req/s) of each interleaved round (`floor_rounds`), /invocations c=8.
    floor_rounds: list[tuple[float, float]] = field(default_factory=list)

    def get(self, label: str, c: int) -> Load | None:
        return next((x for x in self.loads if x.label == label and x.concurrency == c), None)


def run_server(
    results: Results, name: str, command: list[str], port: int, env: dict[str, str], tmp: Path,
    endpoints: list[tuple[str, str, bytes]], expected: float, levels: list[int], duration: int,
    then: Callable[[Server], None] | None = None, settle_s: float = 0,
) -> None:  # fmt: skip
    """Start one server, measure each (label, path, body) at each level, stop it."""
    _, first_path, first_body = endpoints[0]
    try:
        server = start_server(command, port, first_path, first_body, env, tmp)
    except (RuntimeError, TimeoutError) as exc:
        results.failures.append(f"{name} did not start: {exc}")
        return
    results.cold[name] = server.cold_s
    try:
        time.sleep(settle_s)
        for label, path, body in endpoints:
            results.loads += measure(
                label, port, path, body, expected, levels, duration, server.process.pid
            )
        if then is not None:
            then(server)
    finally:
        stop(server.process)


def run_ours(
    results: Results, workers: int, tag: str, env: dict[str, str], model_dir: Path,
    invocations: bytes, v2: bytes, common: dict,
) -> None:  # fmt: skip
    port, grpc_port = free_port(), free_port()
    name = f"ours w={workers}{tag}"

    def grpc_p50(server: Server) -> None:
        address = f"127.0.0.1:{grpc_port}"
        wait_until_answering(address, PREDICT, seed_predict_request())
        _, p50, _, bad = h2load(address, PREDICT, seed_predict_request(), 1, common["duration"])
        results.grpc_p50[name] = p50
        if bad:
            results.failures.append(f"{name} gRPC: {bad} non-200 answers")

    command = [sys.executable, "-m", "scoring_service", "-m", str(model_dir), "-p",
               str(grpc_port), "--http-port", str(port), "--workers", str(workers),
               "--log-level", "WARNING"]  # fmt: skip
    endpoints = [(f"O  {name} /invocations", "/invocations", invocations),
                 (f"O  {name} /v2 infer", "/v2/models/wine/infer", v2)]  # fmt: skip
    # settle: the full model loads in the background behind an early start.
    run_server(results, f"O {name}", command, port, env, endpoints=endpoints, then=grpc_p50,
               settle_s=3, **common)  # fmt: skip


def floor_rounds(
    results: Results, rounds: int, env: dict[str, str], model_dir: Path, invocations: bytes,
    common: dict,
) -> None:  # fmt: skip
    """The floor and ours (--workers as shipped) both up, `/invocations` at c=8 measured one
    after the other in each round, the order alternating: the ratio of each round is taken
    under the same load of the shared machine, and the median of the rounds is reported."""
    tmp, expected, duration = common["tmp"], common["expected"], common["duration"]
    floor_port, our_port = free_port(), free_port()
    commands = {
        "floor": [sys.executable, "-m", "bench.http_bench", "--floor-server", str(floor_port),
                  repr(expected)],
        "ours": [sys.executable, "-m", "scoring_service", "-m", str(model_dir), "-p",
                 str(free_port()), "--http-port", str(our_port), "--workers",
                 str(DEFAULT_WORKERS), "--log-level", "WARNING"],
    }  # fmt: skip
    ports = {"floor": floor_port, "ours": our_port}
    servers: dict[str, Server] = {}
    try:
        for name, command in commands.items():
            port = ports[name]
            servers[name] = start_server(command, port, "/invocations", invocations, env, tmp)
        time.sleep(3)  # the full model, behind the early start
        for i in range(rounds):
            order = ["floor", "ours"] if i % 2 == 0 else ["ours", "floor"]
            rps = {}
            for name in order:
                (load,) = measure(f"{name} round {i + 1}", ports[name], "/invocations",
                                  invocations, expected, [8], duration)  # fmt: skip
                for problem in load.check.problems:
                    results.failures.append(f"floor rounds, {name} round {i + 1}: {problem}")
                rps[name] = load.rps
            results.floor_rounds.append((rps["floor"], rps["ours"]))
    except (RuntimeError, TimeoutError) as exc:
        results.failures.append(f"floor rounds did not start: {exc}")
    finally:
        for server in servers.values():
            stop(server.process)


def ab(baseline: Path, rounds: int, duration: int) -> int:
    """Before/after an optimisation in one sitting: this tree and `baseline` serve at once, and
    each round measures one then the other (order alternating), so that drift hits both."""
    trees = {"this tree": os.environ.get("PYTHONPATH", ""),
             "baseline": f"{baseline / 'client'}:{baseline}"}  # fmt: skip
    cases = [
        ("/invocations", invocations_body(), 1),
        ("/invocations", invocations_body(), 8),
        ("/v2/models/wine/infer", v2_body(), 1),
        ("/v2/models/wine/infer", v2_body(), 8),
    ]
    rps: dict[tuple[str, str, int], list[float]] = {}
    failed = False
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model_dir = save_seed_model(tmp)
        expected = in_process_prediction(model_dir)
        servers = {}
        try:
            for name, path in trees.items():
                port = free_port()
                command = [sys.executable, "-m", "scoring_service", "-m", str(model_dir),
                           "-p", str(free_port()), "--http-port", str(port),
                           "--log-level", "WARNING"]  # fmt: skip
                env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
                servers[name] = start_server(command, port, "/invocations", cases[0][1], env, tmp)
            time.sleep(3)  # the full model, behind the early start
            for i in range(rounds):
                order = list(servers) if i % 2 == 0 else list(reversed(servers))
                for path, body, c in cases:
                    for name in order:
                        (load,) = measure(name, servers[name].port, path, body, expected, [c],
                                          duration)  # fmt: skip
                        failed |= bool(load.check.problems)
                        for problem in load.check.problems:
                            print(f"FAILED: {name} {path} c={c}: {problem}")
                        rps.setdefault((name, path, c), []).append(load.rps)
        finally:
            for server in servers.values():
                stop(server.process)
    print(f"\n{'endpoint':<24} c  {'this tree req/s':>16}  {'baseline req/s':>16}  ratio (medians)")
    for path, _, c in cases:
        new, old = rps[("this tree", path, c)], rps[("baseline", path, c)]
        runs = " ".join(f"{a / b:.2f}" for a, b in zip(new, old, strict=True))
        ratio = statistics.median(new) / statistics.median(old)
        print(f"{path:<24} {c}  {statistics.median(new):>16,.0f}  {statistics.median(old):>16,.0f}"
              f"  {ratio:.2f} (rounds: {runs})")  # fmt: skip
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="http_bench")
    parser.add_argument("--quick", action="store_true", help="2-second runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds per h2load run")
    parser.add_argument("--workers", default="1,2", help="our server process counts")
    parser.add_argument("--ours-only", action="store_true", help="skip MLflow and MLServer")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="instead: A/B of ours (--workers 1) against this checkout of it (e.g. `git archive "
        "REV | tar -x -C DIR`), both servers up at once, their h2load runs interleaved",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="interleaved rounds: of floor and ours at c=8 (the floor ratio's median and range); "
        "with --baseline, of the A/B",
    )
    parser.add_argument("--floor-server", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_server:
        floor_app_main(int(args.floor_server[0]), float(args.floor_server[1]))
        return 0
    if shutil.which("h2load") is None:
        print("h2load not found: apt-get install -y nghttp2-client", file=sys.stderr)
        return 2
    duration = 2 if args.quick else args.duration
    if args.baseline is not None:
        return ab(args.baseline.resolve(), args.rounds, duration)
    levels = [1, 8]
    results = Results()
    invocations, v2 = invocations_body(), v2_body()
    mlflow_bin = mlserver_bin = None
    if not args.ours_only:
        mlflow_bin = peer_venv("mlflow-3.17", MLFLOW_REQUIREMENTS)
        mlserver_bin = peer_venv("mlserver-1.7", MLSERVER_REQUIREMENTS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model_dir = save_seed_model(tmp)
        expected = in_process_prediction(model_dir)
        # The floor runs as `-m bench.http_bench` from a temp dir: the checkout must be on the path.
        pythonpath = os.pathsep.join(
            p
            for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH"))
            if p
        )
        ours_env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": pythonpath}
        common = dict(tmp=tmp, expected=expected, levels=levels, duration=duration)

        port = free_port()
        run_server(results, "F floor", [sys.executable, "-m", "bench.http_bench",
                   "--floor-server", str(port), repr(expected)], port, ours_env,
                   endpoints=[("F  floor: bare ASGI, fixed JSON", "/invocations", invocations)],
                   **common)  # fmt: skip

        for workers in [int(w) for w in args.workers.split(",")]:
            run_ours(results, workers, "", ours_env, model_dir, invocations, v2, common)
        if args.rounds > 0:
            floor_rounds(results, args.rounds, ours_env, model_dir, invocations, common)

        if mlflow_bin is not None:
            port = free_port()
            run_server(results, "M mlflow", [str(mlflow_bin / "mlflow"), "models", "serve", "-m",
                       str(model_dir), "-p", str(port), "--env-manager", "local"], port,
                       peer_env(mlflow_bin),
                       endpoints=[("M  mlflow models serve /invocations", "/invocations",
                                   invocations)], **common)  # fmt: skip
        if mlserver_bin is not None:
            repo, port = mlserver_repo(tmp, model_dir)
            run_server(results, "X MLServer", [str(mlserver_bin / "mlserver"), "start", str(repo)],
                       port, peer_env(mlserver_bin),
                       endpoints=[("X  MLServer REST /v2 infer", "/v2/models/wine/infer", v2)],
                       **common)  # fmt: skip
    return report(results, [int(w) for w in args.workers.split(",")])


def ratio_rows(results: Results, workers: list[int]) -> list[tuple[str, float | None, str, bool]]:
    """(what, value, target, held to the target) for each ratio issue #13 asks for."""
    rows = []

    def rps(label: str, c: int) -> float | None:
        load = results.get(label, c)
        return load.rps if load else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    for w in workers:
        shipped = w == DEFAULT_WORKERS
        inv, v2 = f"O  ours w={w} /invocations", f"O  ours w={w} /v2 infer"
        for c in (1, 8):
            value = ratio(rps(inv, c), rps("M  mlflow models serve /invocations", c))
            rows.append((f"ours w={w} ÷ mlflow serve, /invocations c={c}", value, ">= 10", shipped))
        value = ratio(rps(v2, 8), rps("X  MLServer REST /v2 infer", 8))
        rows.append((f"ours w={w} ÷ MLServer REST, /v2 infer c=8", value, ">= 3", shipped))
        value = ratio(rps(inv, 8), rps("F  floor: bare ASGI, fixed JSON", 8))
        rows.append((f"ours w={w} ÷ floor, /invocations c=8", value, ">= 0.40", shipped))
        http = results.get(inv, 1)
        value = ratio(http.p50 if http else None, results.grpc_p50.get(f"ours w={w}"))
        rows.append((f"ours w={w} HTTP p50 ÷ gRPC Predict p50, c=1", value, "<= 1", shipped))
    return rows


def report(results: Results, workers: list[int]) -> int:
    failed = bool(results.failures)
    width = max([len(x.label) for x in results.loads] + [20])
    print(f"\n{'server / endpoint'.ljust(width)}    c     req/s  p50 ms  p99 ms  "
          "CPU µs/req  answers  bodies read  check")  # fmt: skip
    for x in results.loads:
        ok = "ok" if not x.check.problems else "FAILED: " + "; ".join(x.check.problems)[:200]
        failed |= bool(x.check.problems)
        print(f"{x.label.ljust(width)}  {x.concurrency:>3}  {x.rps:>8,.0f}  {x.p50:>6.2f}  "
              f"{x.p99:>6.2f}  {x.cpu_us:>10,.0f}  {x.answers:>7,}  {x.check.checked:>11,}  "
              f"{ok}")  # fmt: skip
    for name, p50 in results.grpc_p50.items():
        print(f"{f'O  {name} gRPC Predict (h2load)'.ljust(width)}    1  p50 {p50:.2f} ms")
    cold = ", ".join(f"{name} {s:.1f} s" for name, s in results.cold.items())
    print(f"\nstart → first 200: {cold}")
    print(f"\n{'ratio'.ljust(48)}  {'value':>7}  target")
    for what, value, target, shipped in ratio_rows(results, workers):
        if value is None:
            print(f"{what.ljust(48)}  {'n/a':>7}  [{target}]")
            continue
        op, bound = target.split()
        held = value >= float(bound) if op == ">=" else value <= float(bound)
        mark = ("OK" if held else "MISSED") if shipped else "(not the default workers)"
        print(f"{what.ljust(48)}  {value:>7.2f}  [{target}] {mark}")
    if results.floor_rounds:
        ratios = [ours / floor for floor, ours in results.floor_rounds]
        median = statistics.median(ratios)
        rounds = "  ".join(f"{ours:,.0f}/{floor:,.0f}" for floor, ours in results.floor_rounds)
        print(f"\nfloor rounds (/invocations c=8, ours w={DEFAULT_WORKERS} / floor req/s, "
              f"interleaved): {rounds}")  # fmt: skip
        mark = "OK" if median >= 0.40 else "MISSED"
        what = f"ours w={DEFAULT_WORKERS} ÷ floor, c=8, median of {len(ratios)} rounds"
        print(
            f"{what.ljust(48)}  {median:>7.2f}  [>= 0.40] {mark}  "
            f"(range {min(ratios):.2f}–{max(ratios):.2f})"
        )
    for failure in results.failures:
        print(f"FAILED: {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
