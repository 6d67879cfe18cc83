"""Scoring-service benchmark: h2load against `python -m scoring_service` serving the seed's
ElasticNet, next to a bare Python gRPC echo server (the floor) measured in the same run.

    .venv/bin/python -m bench.scoring_bench [--quick] [--duration 5] [--workers 1,2]

S1 single-row seed Predict (dataframe_split JSON) at concurrency 1, 8, 32 · S2 the same row
as an OIP ModelInfer with raw tensors (tritonclient's form) · S3 one 10,000-row request
(typed columnar Predict and OIP raw) · S4 cold start (command → first successful prediction) ·
F bare echo server floor. Needs h2load (`apt-get install -y nghttp2-client`).

    .venv/bin/python -m bench.scoring_bench --cold-start-only 5

measures S4 alone, N fresh server processes each (warm OS file cache, as a restart sees it), by
default (a plain linear model is served from its weights, numpy only, while scikit-learn loads
in the background: `scoring_service/models/early_linear.py`) and with `--wait-full-load`
(SERVING only once scikit-learn has loaded it), and prints each run and the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WINE_CSV = next(
    p
    for p in (
        ROOT / "tests/fixtures/winequality-red.csv",
        Path("/work/shared/data/winequality-red.csv"),
    )
    if p.is_file()
)
SEED_COLUMNS = [
    "alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur dioxide",
    "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity",
]  # fmt: skip
SEED_ROW = [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]
PREDICT = "/mlgrpc.scoring.v1.ScoringService/Predict"
INFER = "/inference.GRPCInferenceService/ModelInfer"
ECHO = "/bench.Echo/Echo"


@dataclass
class Row:
    test: str
    figure: float
    unit: str
    target: str = ""
    ok: bool | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the model and the request bodies ----------------------------------------------------------


def save_seed_model(directory: Path) -> Path:
    import pandas as pd
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import train_test_split

    from mlgrpc import sklearn as mlgrpc_sklearn

    wine = pd.read_csv(WINE_CSV, sep=";")
    train, _ = train_test_split(wine, random_state=40)
    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42)
    model.fit(train.drop(columns=["quality"]), train[["quality"]])
    path = directory / "wine"
    mlgrpc_sklearn.save_model(model, path, input_example=wine.drop(columns=["quality"]).head(3))
    return path


def seed_predict_request() -> bytes:
    from mlgrpc.scoring.v1 import scoring_service_pb2 as pb

    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    return request.SerializeToString()


def columnar_request(rows: int) -> bytes:
    from mlgrpc.scoring.v1 import scoring_service_pb2 as pb

    rng = np.random.default_rng(0)
    request = pb.PredictRequest()
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        values = (value * (1 + 0.1 * rng.standard_normal(rows))).tolist()
        request.columnar.columns.add(name=name, doubles=pb.DoubleColumn(values=values))
    return request.SerializeToString()


def oip_raw_request(rows: int) -> bytes:
    from mlgrpc.inference import grpc_predict_v2_pb2 as pb

    request = pb.ModelInferRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        request.inputs.add(name=name, datatype="FP64", shape=[rows])
        request.raw_input_contents.append(np.full(rows, value, dtype="<f8").tobytes())
    return request.SerializeToString()


def frame(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


# ---- servers -----------------------------------------------------------------------------------


def echo_server_main(port: int) -> None:
    """A bare sync gRPC server whose one method returns its request: the per-call floor."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 0)]
    )
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()


def start(cmd: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def call_raw(address: str, method: str, body: bytes, timeout: float = 30) -> bytes:
    with grpc.insecure_channel(address) as channel:
        return channel.unary_unary(method)(body, timeout=timeout, wait_for_ready=True)


RETRY_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def wait_until_answering(
    address: str, method: str, body: bytes, limit_s: float = 120, retry: tuple = RETRY_CODES
) -> float:
    """Seconds until `method` first answers OK (new connection per attempt)."""
    started = time.perf_counter()
    last: object = None
    while time.perf_counter() - started < limit_s:
        with grpc.insecure_channel(address) as channel:
            try:
                channel.unary_unary(method)(body, timeout=1)
                return time.perf_counter() - started
            except grpc.RpcError as exc:
                last = exc.details() if isinstance(exc, grpc.Call) else exc
                if exc.code() not in retry:
                    raise
        time.sleep(0.005)
    raise TimeoutError(f"{address}{method} did not answer within {limit_s} s: {last}")


# ---- h2load ------------------------------------------------------------------------------------


@dataclass
class H2Run:
    """One h2load run: (status, latency ms) per answer from its log, and its own summary text.

    `starts` are the answers' start times (µs). The requests in flight when the warm-up ends are
    logged with status 0 though they succeed (h2load counts them done and succeeded).
    """

    answers: list[tuple[int, float]]
    stdout: str
    duration: int
    starts: list[int] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        return sorted(ms for _, ms in self.answers)

    def figures(self) -> tuple[float, float, float, int]:
        """(req/s, p50 ms, p99 ms, non-2xx answers)."""
        latencies = self.latencies
        q = statistics.quantiles(latencies, n=100)
        bad = sum(1 for status, _ in self.answers if not 200 <= status < 300)
        return len(latencies) / self.duration, statistics.median(latencies), q[98], bad


def run_h2load(
    url: str, body: bytes, headers: list[str], concurrency: int, duration: int, *, h1: bool = False
) -> H2Run:
    """h2load POSTing `body` to `url` for `duration` s after a 1 s warm-up; one stream each."""
    with tempfile.TemporaryDirectory() as tmp:
        body_file, log_file = Path(tmp, "body.bin"), Path(tmp, "lat.tsv")
        body_file.write_bytes(body)
        command = ["h2load", *(["--h1"] if h1 else []), "-c", str(concurrency), "-m", "1",
                   "-t", "1", "-D", str(duration), "--warm-up-time", "1",
                   "--log-file", str(log_file), "-d", str(body_file)]  # fmt: skip
        for header in headers:
            command += ["-H", header]
        result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
        lines = [line.split("\t") for line in log_file.read_text().splitlines() if line]
    answers = [(int(parts[1]), int(parts[2]) / 1000) for parts in lines]
    return H2Run(answers, result.stdout, duration, [int(parts[0]) for parts in lines])


def h2load(
    address: str, method: str, body: bytes, concurrency: int, duration: int
) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-200) of an h2load run; gRPC errors checked by a preflight."""
    call_raw(address, method, body)  # preflight: raises on a non-OK grpc-status
    headers = ["content-type: application/grpc", "te: trailers"]
    run = run_h2load(f"http://{address}{method}", frame(body), headers, concurrency, duration)
    rps, p50, p99, _ = run.figures()
    return rps, p50, p99, sum(1 for status, _ in run.answers if status != 200)


def sequential_ms(address: str, method: str, body: bytes, calls: int) -> float:
    """Median milliseconds of `calls` sequential calls on one channel (after 3 warm-ups)."""
    with grpc.insecure_channel(
        address, options=[("grpc.max_receive_message_length", 64 << 20)]
    ) as ch:
        call = ch.unary_unary(method)
        for _ in range(3):
            call(body, timeout=30)
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            call(body, timeout=30)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# ---- MLflow's scoring server, for comparison ----------------------------------------------------


def h2load_http(
    url: str, body: bytes, concurrency: int, duration: int
) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx) of an HTTP/1.1 POST run."""
    headers = ["content-type: application/json"]
    return run_h2load(url, body, headers, concurrency, duration, h1=True).figures()


def bench_mlflow(
    rows: list[Row], venv: Path, model_dir: Path, levels: list[int], duration: int
) -> None:
    import json
    import urllib.request

    port = free_port()
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"  # mlflow shells `uvicorn`
    url = f"http://127.0.0.1:{port}/invocations"
    body = json.dumps({"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}}).encode()
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [
            str(venv / "bin" / "mlflow"),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "-p",
            str(port),
            "--env-manager",
            "local",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        while True:
            try:
                request = urllib.request.Request(url, body, {"content-type": "application/json"})
                urllib.request.urlopen(request, timeout=1).read()
                break
            except OSError:
                if time.perf_counter() - t0 > 120 or process.poll() is not None:
                    rows.append(Row("M  mlflow models serve did not start", 0, ""))
                    return
                time.sleep(0.02)
        rows.append(Row("M  mlflow serve cold start", time.perf_counter() - t0, "s"))
        for c in levels:
            rps, p50, p99, bad = h2load_http(url, body, c, duration)
            rows.append(Row(f"M  mlflow serve seed c={c} req/s", rps, "req/s"))
            rows.append(Row(f"M  mlflow serve seed c={c} p50 / p99", p50, f"ms (p99 {p99:.2f})"))
            if bad:
                rows.append(Row(f"M  mlflow serve c={c} non-2xx", bad, "responses"))
    finally:
        stop(process)


# ---- MLServer (sklearn runtime), for comparison ----------------------------------------------


def bench_mlserver(
    rows: list[Row], venv: Path, tmp: Path, levels: list[int], duration: int
) -> None:
    """MLServer's SKLearnModel on the same estimator: one [1, 11] FP64 tensor, raw, by gRPC.

    The tensor's columns must be in training order: MLServer maps them by position.
    """
    import json

    import joblib

    from mlgrpc.inference import grpc_predict_v2_pb2 as ipb

    estimator = joblib_estimator()
    repo = tmp / "mlserver-repo"
    (repo / "wine").mkdir(parents=True)
    joblib.dump(estimator, repo / "wine" / "model.joblib")
    settings = {"name": "wine", "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"}}  # fmt: skip
    (repo / "wine" / "model-settings.json").write_text(json.dumps(settings))
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    server_settings = {"http_port": http_port, "grpc_port": grpc_port, "metrics_port": metrics_port}
    (repo / "settings.json").write_text(json.dumps(server_settings))
    by_name = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))
    row = [by_name[str(n)] for n in estimator.feature_names_in_]
    request = ipb.ModelInferRequest(model_name="wine")
    request.inputs.add(name="input-0", datatype="FP64", shape=[1, len(row)])
    request.raw_input_contents.append(np.asarray([row], dtype="<f8").tobytes())
    body = request.SerializeToString()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    t0 = time.perf_counter()
    log = (tmp / "mlserver.log").open("wb")
    process = subprocess.Popen(
        [str(venv / "bin" / "mlserver"), "start", str(repo)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=repo,
    )
    address = f"127.0.0.1:{grpc_port}"
    try:
        try:
            # MLServer serves gRPC before the model is loaded ("not ready yet"): retry any error.
            wait_until_answering(address, INFER, body, 120, tuple(grpc.StatusCode))
        except (TimeoutError, grpc.RpcError) as exc:
            detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
            rows.append(Row(f"X  MLServer did not answer: {detail}"[:100], 0, ""))
            print((tmp / "mlserver.log").read_text()[-3000:], file=sys.stderr)
            return
        rows.append(Row("X  MLServer cold start", time.perf_counter() - t0, "s"))
        for c in levels:
            rps, p50, p99, bad = h2load(address, INFER, body, c, duration)
            rows.append(Row(f"X  MLServer OIP [1,11] c={c} req/s", rps, "req/s"))
            rows.append(Row(f"X  MLServer OIP [1,11] c={c} p50 / p99", p50, f"ms (p99 {p99:.2f})"))
    finally:
        stop(process)
        log.close()


def joblib_estimator() -> object:
    import pandas as pd
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import train_test_split

    wine = pd.read_csv(WINE_CSV, sep=";")
    train, _ = train_test_split(wine, random_state=40)
    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42)
    return model.fit(train.drop(columns=["quality"]), train[["quality"]])


# ---- the run -----------------------------------------------------------------------------------


def bench_load(
    rows: list[Row],
    label: str,
    address: str,
    method: str,
    body: bytes,
    levels: list[int],
    duration: int,
    targets: bool,
) -> None:
    for c in levels:
        rps, p50, p99, bad = h2load(address, method, body, c, duration)
        name = f"{label} c={c}"
        if targets and c == 1:
            rows.append(Row(f"{name} req/s", rps, "req/s", ">= 2,000", rps >= 2000))
        elif targets and c == 8:
            rows.append(Row(f"{name} req/s", rps, "req/s", ">= 4,000", rps >= 4000))
        else:
            rows.append(Row(f"{name} req/s", rps, "req/s"))
        ok = p99 <= 5 if targets and c == 8 else None
        rows.append(
            Row(
                f"{name} p50 / p99",
                p50,
                f"ms (p99 {p99:.2f})",
                "p99 <= 5" if ok is not None else "",
                ok,
            )
        )
        if bad:
            rows.append(Row(f"{name} non-200", bad, "responses", "0", False))


def cold_start_seconds(model_dir: Path, seed: bytes, extra: list[str]) -> float:
    """Command → first successful seed Predict of one fresh `python -m scoring_service`."""
    port = free_port()
    t0 = time.perf_counter()
    server = start([sys.executable, "-m", "scoring_service", "-m", str(model_dir), "-p", str(port),
                    "--workers", "1", "--log-level", "WARNING", *extra])  # fmt: skip
    try:
        wait_until_answering(f"127.0.0.1:{port}", PREDICT, seed)
        return time.perf_counter() - t0
    finally:
        stop(server)


def cold_start_only(repeat: int) -> int:
    """S4 alone, `repeat` times per mode, the modes interleaved (a noisy machine hits both)."""
    modes = {"early start (default)": [], "--wait-full-load": ["--wait-full-load"]}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_seed_model(Path(tmp))
        seed = seed_predict_request()
        for _ in range(repeat):
            for mode, extra in modes.items():
                times[mode].append(cold_start_seconds(model_dir, seed, extra))
    for mode, values in times.items():
        runs = " ".join(f"{v:.3f}" for v in values)
        median = statistics.median(values)
        mark = "OK" if median <= 1 else "MISSED"
        print(f"S4 cold start, {mode}: median {median:.3f} s [<= 1 s: {mark}]  runs: {runs}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scoring_bench")
    parser.add_argument("--quick", action="store_true", help="2-second runs, c=1 and 8 only")
    parser.add_argument("--duration", type=int, default=5, help="seconds per h2load run")
    parser.add_argument("--workers", default="1,2", help="server process counts to measure")
    parser.add_argument(
        "--server-kinds", default="sync", help="comma-separated: sync (thread pool), aio"
    )
    parser.add_argument(
        "--with-mlflow",
        nargs="?",
        const="/work/.venv-mlflow",
        help="also measure `mlflow models serve` from this virtualenv (default %(const)s)",
    )
    parser.add_argument(
        "--with-mlserver",
        nargs="?",
        const="/work/.venv-mlserver",
        help="also measure MLServer's sklearn runtime from this virtualenv (default %(const)s)",
    )
    parser.add_argument(
        "--cold-start-only",
        type=int,
        metavar="N",
        default=0,
        help="measure only S4, N times each with and without the early start (no h2load)",
    )
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_server:
        echo_server_main(args.echo_server)
        return 0
    if args.cold_start_only:
        return cold_start_only(args.cold_start_only)
    if shutil.which("h2load") is None:
        print("h2load not found: apt-get install -y nghttp2-client", file=sys.stderr)
        return 2
    duration = 2 if args.quick else args.duration
    levels = [1, 8] if args.quick else [1, 8, 32]
    rows: list[Row] = []
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_seed_model(Path(tmp))
        seed, infer_1 = seed_predict_request(), oip_raw_request(1)
        big_columnar, big_oip = columnar_request(10_000), oip_raw_request(10_000)

        port = free_port()
        echo = start([python, "-m", "bench.scoring_bench", "--echo-server", str(port)])
        try:
            wait_until_answering(f"127.0.0.1:{port}", ECHO, seed)
            bench_load(
                rows,
                "F  echo floor (1 process)",
                f"127.0.0.1:{port}",
                ECHO,
                seed,
                levels,
                duration,
                False,
            )
        finally:
            stop(echo)

        setups = [
            (int(w), kind) for kind in args.server_kinds.split(",") for w in args.workers.split(",")
        ]
        for workers, kind in setups:
            port = free_port()
            address = f"127.0.0.1:{port}"
            t0 = time.perf_counter()
            server = start([python, "-m", "scoring_service", "-m", str(model_dir), "-p", str(port),
                            "--workers", str(workers), "--log-level", "WARNING",
                            "--server-kind", kind])  # fmt: skip
            try:
                cold = wait_until_answering(address, PREDICT, seed)
                cold = time.perf_counter() - t0 if cold else cold
                if workers == 1 and kind == "sync":
                    rows.append(
                        Row(
                            "S4 cold start (command → 1st prediction)", cold, "s", "<= 1", cold <= 1
                        )
                    )
                else:
                    rows.append(Row(f"S4 cold start, {kind} w={workers}", cold, "s"))
                # Every worker up, and the full model behind an early start loaded.
                time.sleep(3)
                tag = f"{kind} w={workers}"
                bench_load(
                    rows, f"S1 seed Predict {tag}", address, PREDICT, seed, levels, duration, True
                )
                bench_load(
                    rows,
                    f"S2 OIP raw 1 row {tag}",
                    address,
                    INFER,
                    infer_1,
                    levels[:2],
                    duration,
                    False,
                )
                ms = sequential_ms(address, PREDICT, big_columnar, 20)
                rows.append(
                    Row(
                        f"S3 10,000 rows columnar Predict {tag}",
                        ms,
                        f"ms ({10_000 / ms * 1000:,.0f} rows/s)",
                        "<= 10",
                        ms <= 10,
                    )
                )
                ms = sequential_ms(address, INFER, big_oip, 20)
                rows.append(
                    Row(
                        f"S3 10,000 rows OIP raw {tag}",
                        ms,
                        f"ms ({10_000 / ms * 1000:,.0f} rows/s)",
                    )
                )
            finally:
                stop(server)

        if args.with_mlflow:
            bench_mlflow(rows, Path(args.with_mlflow), model_dir, levels[:2], duration)
        if args.with_mlserver:
            bench_mlserver(rows, Path(args.with_mlserver), Path(tmp), levels[:2], duration)

    width = max(len(r.test) for r in rows)
    print(f"\n{'test'.ljust(width)}  {'figure':>10}  unit / target")
    for r in rows:
        mark = "" if r.ok is None else ("  OK" if r.ok else "  MISSED")
        target = f"  [{r.target}]" if r.target else ""
        print(f"{r.test.ljust(width)}  {r.figure:>10,.2f}  {r.unit}{target}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
