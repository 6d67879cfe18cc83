"""Autologging's added time on the seed's `fit` (ElasticNet on the wine data): mlgrpc's autolog
against a tracking-service subprocess, MLflow 3.17's against `mlflow server` (SQLite), in the
same run. Target: ours ≤ 1/5 of MLflow's.

    .venv/bin/python -m bench.autolog_bench [--repeat 10] [--mlflow-venv PEER_VENV]

(PEER_VENV: default ~/.cache/mlgrpc/peer-venvs/mlflow-flavors, the tests' MLflow peer).

Each side measures, in its own process: the median `fit` without autologging (the floor), then
the median `fit` with autologging inside an active run (params, metrics, tags, estimator.html
and the model logged as that call's side effect). Added time = the second minus the first.
`end_run` (once, after the repeats) shows what the fits left to the background: our uploads of
the models and files, which `end_run` waits for; it is not part of the target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.log_model_bench import ROOT, WINE_CSV, _database, _free_port, _tracking_server

SCRIPT = r"""
import statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from sklearn.linear_model import ElasticNet
{import_line}
mlflow.set_tracking_uri(sys.argv[1])
repeat = int(sys.argv[3])
data = pd.read_csv(sys.argv[2], sep=";")
x, y = data.drop(columns=["quality"]), data["quality"]
def fit_times():
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
fit_times()  # warm-up: imports, caches
plain = fit_times()
mlflow.autolog()
with mlflow.start_run():
    # warm-up of the autolog path (the first model save imports skops etc.)
    ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, y)
    logged = fit_times()
    ending = time.perf_counter()
# end_run: waits for what the fits left to the background (our model uploads), for the record
ended = time.perf_counter() - ending
print(f"RESULT\t{{plain:.5f}}\t{{logged:.5f}}\t{{ended:.5f}}")
"""


def _run(python: str, import_line: str, uri: str, repeat: int) -> tuple[float, float, float]:
    result = subprocess.run(
        [python, "-c", SCRIPT.format(import_line=import_line), uri, str(WINE_CSV), str(repeat)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("RESULT"))
    _, plain, logged, ended = line.split("\t")
    return float(plain), float(logged), float(ended)


def _mlflow_server(python: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [python, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
         "--default-artifact-root", str(workdir / "mlflow-artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return process, url
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--mlflow-venv",
        type=Path,
        default=Path.home() / ".cache" / "mlgrpc" / "peer-venvs" / "mlflow-flavors",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as tmp:
        workdir = Path(tmp)
        with _database(None, workdir) as db_uri, _tracking_server(db_uri, workdir / "art") as uri:
            ours = _run(sys.executable, "import mlgrpc as mlflow", uri, args.repeat)
        python = str(args.mlflow_venv / "bin" / "python")
        server, url = _mlflow_server(python, workdir)
        try:
            theirs = _run(python, "import mlflow", url, args.repeat)
        finally:
            server.terminate()
            server.wait(timeout=30)
    added_ours, added_theirs = ours[1] - ours[0], theirs[1] - theirs[0]
    print(f"{'':28}{'fit alone':>12}{'with autolog':>14}{'added':>10}{'end_run':>12}")
    for name, (plain, logged, ended) in (("mlgrpc", ours), ("MLflow 3.17", theirs)):
        added = (logged - plain) * 1e3
        print(
            f"{name:28}{plain * 1e3:>10.1f}ms{logged * 1e3:>12.1f}ms{added:>8.1f}ms"
            f"{ended * 1e3:>10.1f}ms"
        )
    ratio = added_ours / added_theirs if added_theirs > 0 else float("nan")
    print(f"ours / MLflow's added time: {ratio:.3f} (target ≤ 0.2)")


if __name__ == "__main__":
    main()
