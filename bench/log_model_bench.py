"""`log_model` of the seed's ElasticNet: mlgrpc through a tracking-service subprocess, and MLflow
to a local file store for comparison (when the MLflow venv exists).

    .venv/bin/python -m bench.log_model_bench [--repeat 10] [--mysql-url mysql+pymysql://root@127.0.0.1:3306]
        [--mlflow-venv /work/.venv-mlflow] [--mlflow-repeat 3] [--cold-skops-cache]

Figures: the first call in the process (imports skops and opens the channel), then the median,
p90 and minimum of `--repeat` more calls (each a new artifact path in one run, incl. the upload),
and save_model alone. The first call depends on skops' trusted-type cache
(`mlgrpc.models.skops_import`): warm after any earlier process on this machine imported skops
through mlgrpc, which is what a training script run again sees; `--cold-skops-cache` measures
the very first run instead (an empty cache directory).
MLflow: `mlflow.sklearn.log_model` with its default requirement inference (a pip subprocess),
and with `pip_requirements=` given (no inference).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WINE_CSV = ROOT / "tests" / "fixtures" / "winequality-red.csv"

MLFLOW_SCRIPT = """
import statistics, sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd, mlflow, mlflow.sklearn
from sklearn.linear_model import ElasticNet
csv, repeat = sys.argv[1], int(sys.argv[2])
data = pd.read_csv(csv, sep=";")
x = data.drop(columns=["quality"])
model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, data[["quality"]])
# A path that does not exist yet: the file store then creates the default experiment.
mlflow.set_tracking_uri("file://" + tempfile.mkdtemp() + "/mlruns")
with mlflow.start_run():
    for label, kwargs in (("default (pip inference)", {}),
                          ("pip_requirements given", {"pip_requirements": ["scikit-learn"]})):
        times = []
        for i in range(repeat):
            start = time.perf_counter()
            mlflow.sklearn.log_model(model, name=f"m{i}-{len(label)}", **kwargs)
            times.append(time.perf_counter() - start)
        print(f"MLFLOW\\t{label}\\t{times[0]:.4f}\\t{statistics.median(times):.4f}\\t{min(times):.4f}")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _database(mysql_url: str | None, workdir: Path) -> Iterator[str]:
    if not mysql_url:
        yield f"sqlite:///{workdir / 'mlgrpc.db'}"
        return
    import sqlalchemy as sa

    name = f"mlgrpc_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        yield f"{mysql_url}/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@contextmanager
def _tracking_server(db_uri: str, artifact_root: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracking_service",
            "--backend-store-uri",
            db_uri,
            "--default-artifact-root",
            str(artifact_root),
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
    )
    try:
        _wait_listening(port, process)
        yield f"grpc://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the tracking service exited before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the tracking service did not listen within 30 s")


def _train() -> tuple[Any, Any]:
    import pandas as pd
    from sklearn.linear_model import ElasticNet

    data = pd.read_csv(WINE_CSV, sep=";")
    x = data.drop(columns=["quality"])
    return ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, data[["quality"]]), x


def _skops_cache_state(cold: bool, workdir: Path) -> str:
    from mlgrpc.models import skops_import

    if cold:
        os.environ["MLGRPC_SKOPS_TYPES_CACHE"] = str(workdir / "skops-types")
    directory = skops_import.cache_dir()
    if directory is None:
        return "skops type cache disabled"
    warm = directory.is_dir() and any(directory.glob("*.json"))
    return f"skops type cache {'warm' if warm else 'cold (first run)'}: {directory}"


def _bench_mlgrpc(tracking_uri: str, repeat: int) -> None:
    import mlgrpc
    import mlgrpc.sklearn

    model, x = _train()
    mlgrpc.set_tracking_uri(tracking_uri)
    example = x.head(3)
    with mlgrpc.start_run():
        start = time.perf_counter()
        mlgrpc.sklearn.log_model(model, name="first", input_example=example)
        first = time.perf_counter() - start
        times = []
        for i in range(repeat):
            start = time.perf_counter()
            mlgrpc.sklearn.log_model(model, name=f"m{i}", input_example=example)
            times.append(time.perf_counter() - start)
    saves = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            start = time.perf_counter()
            mlgrpc.sklearn.save_model(model, Path(tmp) / f"s{i}", input_example=example)
            saves.append(time.perf_counter() - start)
    times.sort()
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    print(f"mlgrpc log_model, first call in process: {first * 1000:8.1f} ms")
    print(
        f"mlgrpc log_model, {repeat} calls: median {statistics.median(times) * 1000:.1f} ms, "
        f"p90 {p90 * 1000:.1f} ms, min {times[0] * 1000:.1f} ms (target <= 300 ms)"
    )
    print(f"mlgrpc save_model alone: median {statistics.median(saves) * 1000:.1f} ms")


def _bench_mlflow(venv: Path, repeat: int) -> None:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"MLflow comparison skipped: no venv at {venv}")
        return
    # MLflow 3.17 refuses its file store unless asked (it prefers a database backend).
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MLFLOW_ALLOW_FILE_STORE": "true"}
    out = subprocess.run(
        [str(python), "-c", MLFLOW_SCRIPT, str(WINE_CSV), str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        print(f"MLflow comparison failed:\n{out.stderr[-2000:]}")
        return
    for line in out.stdout.splitlines():
        if line.startswith("MLFLOW\t"):
            _tag, label, first, median, best = line.split("\t")
            print(
                f"MLflow log_model, {label}: first {float(first) * 1000:.0f} ms, "
                f"median {float(median) * 1000:.0f} ms, min {float(best) * 1000:.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--mysql-url", default=None, help="use MariaDB at this server URL")
    parser.add_argument(
        "--mlflow-venv", default=os.environ.get("MLGRPC_MLFLOW_VENV", "/work/.venv-mlflow")
    )
    parser.add_argument("--mlflow-repeat", type=int, default=3)
    parser.add_argument(
        "--cold-skops-cache",
        action="store_true",
        help="measure the first call of the very first run (empty skops type cache)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgrpc-bench-") as tmp:
        workdir = Path(tmp)
        print(_skops_cache_state(args.cold_skops_cache, workdir))
        with _database(args.mysql_url, workdir) as db_uri:
            backend = "MariaDB" if args.mysql_url else "SQLite"
            print(f"tracking service subprocess on {backend}")
            with _tracking_server(db_uri, workdir / "artifacts") as uri:
                _bench_mlgrpc(uri, args.repeat)
    if args.mlflow_repeat > 0:
        _bench_mlflow(Path(args.mlflow_venv), args.mlflow_repeat)


if __name__ == "__main__":
    main()
