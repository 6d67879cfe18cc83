"""Checks of deploy/ that need no Docker engine and no cluster, beyond the schema validators.

    .venv/bin/python deploy/validate.py        # what deploy/validate.sh runs after the linters

hadolint, dclint and kubernetes-validate check each file against its own format; this checks
that the files agree with the code and with each other:

1. every container command (compose and Kubernetes) parses with the CLI it runs, so that a
   renamed or mistyped flag fails here and not at `docker compose up`;
2. every gRPC probe and compose health check targets the port the command listens on, and the
   service name it asks about is one the server registers; the gateway's HTTP probes and health
   check ask its /health on its --port; scoring's --http-port is a port of its container;
3. the Dockerfile's build stage, given exactly the paths it COPYs (and .dockerignore lets
   through), builds a wheel that holds the migrations, the `mlgrpc` command, the gateway and
   its web UI's files.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def service_names() -> dict[str, str]:
    """The name each server registers with grpc.health.v1, from the code itself."""
    from mlgrpc.registry.v1 import registry_service_pb2
    from mlgrpc.scoring.v1 import scoring_service_pb2
    from mlgrpc.tracking.v1 import tracking_service_pb2

    return {
        "tracking": tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"].full_name,
        "registry": registry_service_pb2.DESCRIPTOR.services_by_name[
            "ModelRegistryService"
        ].full_name,
        "scoring": scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"].full_name,
    }


def parse_command(command: list[str]) -> tuple[str, Any]:
    """(which service, parsed arguments) of an `mlgrpc …` command; SystemExit if it is wrong."""
    if not command or command[0] != "mlgrpc":
        raise ValueError(f"not an mlgrpc command: {command}")
    words = command[1:]
    if words[:2] == ["server", "tracking"]:
        from tracking_service.cli import build_parser

        return "tracking", build_parser().parse_args(words[2:])
    if words[:2] == ["server", "registry"]:
        from registry_service.cli import build_parser as registry_parser

        return "registry", registry_parser().parse_args(words[2:])
    if words[:2] in (["server", "scoring"], ["models", "serve"]):
        from scoring_service.cli import build_parser as scoring_parser

        return "scoring", scoring_parser().parse_args(words[2:])
    if words[:2] == ["server", "gateway"]:
        from gateway.cli import build_parser as gateway_parser

        return "gateway", gateway_parser().parse_args(words[2:])
    if words[:1] == ["health"]:
        from mlgrpc_server.health_probe import build_parser as health_parser

        return "health", health_parser().parse_args(words[1:])
    if words == ["db", "upgrade"]:
        return "db", None
    raise ValueError(f"unknown mlgrpc command: {command}")


def k8s_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document:
                continue
            spec = document.get("spec", {})
            pod = spec.get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                yield f"{path.name}:{document['metadata']['name']}", container


def check_kubernetes(names: dict[str, str], problems: list[str]) -> None:
    for where, container in k8s_containers():
        try:
            service, args = parse_command(container["command"])
        except (ValueError, SystemExit) as error:
            problems.append(f"{where}: command {container['command']}: {error}")
            continue
        ports = {p["containerPort"] for p in container.get("ports", [])}
        if service == "gateway":
            check_http_probes(where, container, args.port, ports, problems)
            continue
        if service not in names:
            continue
        if args.port not in ports:
            problems.append(f"{where}: --port {args.port} is not a containerPort {sorted(ports)}")
        http_port = getattr(args, "http_port", None)
        if http_port is not None and http_port not in ports:
            problems.append(f"{where}: --http-port {http_port} is not a containerPort")
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind, {}).get("grpc")
            if probe is None:
                problems.append(f"{where}: {kind} is not a gRPC probe")
                continue
            if probe["port"] != args.port:
                problems.append(f"{where}: {kind} port {probe['port']} ≠ --port {args.port}")
            if probe.get("service", "") not in ("", names[service]):
                problems.append(
                    f"{where}: {kind} asks about {probe['service']!r}, "
                    f"the server registers {names[service]!r}"
                )


def check_http_probes(
    where: str, container: dict[str, Any], port: int, ports: set[int], problems: list[str]
) -> None:
    """The gateway speaks HTTP: its probes ask GET /health on the port it listens on."""
    if port not in ports:
        problems.append(f"{where}: --port {port} is not a containerPort {sorted(ports)}")
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind, {}).get("httpGet")
        if probe is None:
            problems.append(f"{where}: {kind} is not an HTTP probe")
        elif (probe.get("path"), probe.get("port")) != ("/health", port):
            problems.append(f"{where}: {kind} asks {probe.get('path')} on {probe.get('port')}")


def check_compose(names: dict[str, str], problems: list[str]) -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for name, spec in compose["services"].items():
        command = spec.get("command")
        if not command or command[0] != "mlgrpc":
            continue
        try:
            service, args = parse_command(command)
        except (ValueError, SystemExit) as error:
            problems.append(f"compose {name}: command {command}: {error}")
            continue
        test = spec.get("healthcheck", {}).get("test")
        published = {int(port.rsplit(":", 1)[-1]) for port in spec.get("ports", [])}
        if service == "gateway":
            url = f"http://127.0.0.1:{args.port}/health"
            if not test or not any(url in word for word in test):
                problems.append(f"compose {name}: healthcheck does not ask {url}")
            if args.port not in published:
                problems.append(f"compose {name}: --port {args.port} is not published")
            continue
        if service not in names:
            continue
        http_port = getattr(args, "http_port", None)
        if http_port is not None and http_port not in published:
            problems.append(f"compose {name}: --http-port {http_port} is not published")
        if not test:
            problems.append(f"compose {name}: no healthcheck")
            continue
        try:
            _, probe = parse_command(test[1:])
        except (ValueError, SystemExit) as error:
            problems.append(f"compose {name}: healthcheck {test}: {error}")
            continue
        if not probe.address.endswith(f":{args.port}"):
            problems.append(f"compose {name}: healthcheck {probe.address} ≠ --port {args.port}")
        if probe.service not in ("", names[service]):
            problems.append(f"compose {name}: healthcheck asks about {probe.service!r}")


def dockerfile_copies() -> list[str]:
    """The sources the build stage COPYs from the context (not --from another stage)."""
    sources: list[str] = []
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources.extend(part.rstrip("/") for part in line.split()[1:-1])
    return sources


def ignored_by_dockerignore(path: str) -> bool:
    """Whether .dockerignore leaves `path` out (the last matching pattern decides)."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if pattern == "**" or fnmatch.fnmatch(path, pattern):
            ignored = not negated
    return ignored


def check_image_build(problems: list[str]) -> None:
    sources = dockerfile_copies()
    for source in sources:
        if ignored_by_dockerignore(source):
            problems.append(f"Dockerfile COPYs {source}, which .dockerignore leaves out")
    with tempfile.TemporaryDirectory(prefix="mlgrpc-image-") as tmp:
        context = Path(tmp) / "src"
        context.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, context / source, ignore=ignore)
            else:
                shutil.copy2(origin, context / source)
        # The venv's setuptools, no download: the image build itself fetches its own.
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "--wheel-dir", str(Path(tmp) / "wheels"), str(context)],
            capture_output=True, text=True, cwd=tmp,
        )  # fmt: skip
        if built.returncode != 0:
            problems.append(f"the build stage's wheel does not build:\n{built.stderr[-2000:]}")
            return
        wheel = next((Path(tmp) / "wheels").glob("mlgrpc-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            files = archive.namelist()
            entry_points = next(n for n in files if n.endswith("entry_points.txt"))
            scripts = archive.read(entry_points).decode()
        if not any(re.search(r"migrations/versions/0001_\w+\.py$", n) for n in files):
            problems.append("the wheel lacks mlgrpc_server/migrations/versions")
        if not re.search(r"^mlgrpc = mlgrpc\.cli\.main:main$", scripts, re.M):
            problems.append("the wheel lacks the `mlgrpc` console script")
        if "gateway/ui/static/index.html" not in files:
            problems.append("the wheel lacks the web UI (gateway/ui/static/index.html)")
        packages = ("tracking_service", "registry_service", "scoring_service", "gateway", "mlgrpc")
        for package in packages:
            if not any(n.startswith(f"{package}/") for n in files):
                problems.append(f"the wheel lacks the package {package}")


def main() -> int:
    problems: list[str] = []
    names = service_names()
    check_kubernetes(names, problems)
    check_compose(names, problems)
    check_image_build(problems)
    for problem in problems:
        print(f"deploy: {problem}", file=sys.stderr)
    print(f"deploy/validate.py: {'FAILED' if problems else 'ok'} ({len(problems)} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
