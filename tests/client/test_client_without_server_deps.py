"""`pip install mlgrpc` (no `[server]`): the client, its stubs, the model format and the CLI
import without any server dependency, and a server command says in one line what to install.

A fresh virtualenv per run would cost a minute of pip; instead the child interpreter refuses to
import any server dependency or service package (an import hook), which is what their absence
looks like to the client. pyproject.toml is read too, so that the split itself is checked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Top-level import names of `mlgrpc[server]`.
SERVER_DEPENDENCIES = (
    "sqlalchemy", "alembic", "pymysql", "psycopg", "cryptography", "prometheus_client",
    "uvicorn", "httptools", "uvloop", "orjson", "starlette", "websockets",
)  # fmt: skip
#: The service packages (in the same distribution, but the client must not lean on them).
SERVICES = ("mlgrpc_server", "tracking_service", "registry_service", "scoring_service", "gateway")
#: Distribution names of `mlgrpc[server]` (as written in pyproject.toml, before any version).
SERVER_DISTRIBUTIONS = {
    "sqlalchemy", "pymysql", "psycopg", "cryptography", "alembic", "prometheus-client",
    "uvicorn", "httptools", "uvloop", "orjson", "starlette", "websockets",
}  # fmt: skip

_BLOCK = """
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {names!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def _run(
    code: str, tmp_path: Path, absent: tuple[str, ...] = SERVER_DEPENDENCIES + SERVICES
) -> subprocess.CompletedProcess[str]:
    program = _BLOCK.format(names=absent) + code
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)  # fmt: skip


def _distribution(requirement: str) -> str:
    name = requirement.split(";")[0]
    for mark in "[<>=!~ ":
        name = name.split(mark)[0]
    return name.strip().lower()


def test_the_server_dependencies_are_an_extra_not_the_base_install() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {_distribution(r) for r in project["dependencies"]}
    server = {_distribution(r) for r in project["optional-dependencies"]["server"]}
    assert not base & SERVER_DISTRIBUTIONS
    assert server == SERVER_DISTRIBUTIONS


def test_every_client_module_imports_without_server_dependencies(tmp_path: Path) -> None:
    done = _run(
        "import importlib, pkgutil, mlgrpc\n"
        "names = [m.name for m in pkgutil.walk_packages(mlgrpc.__path__, 'mlgrpc.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 20  # the stubs, the clients, the model format, the CLI


def test_cli_reading_commands_run_without_server_dependencies(tmp_path: Path) -> None:
    done = _run(
        "from mlgrpc.cli.main import main\nsys.exit(main(['runs', '--help']))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout


def test_a_server_command_says_in_one_line_what_to_install(tmp_path: Path) -> None:
    done = _run(
        "from mlgrpc.cli.main import main\nsys.exit(main(['server', 'tracking', '--port', '0']))\n",
        tmp_path,
        absent=SERVER_DEPENDENCIES,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "pip install 'mlgrpc[server]'" in done.stderr


SERVER_PACKAGES = ("tracking_service", "registry_service", "scoring_service", "gateway",
                   "mlgrpc_server")  # fmt: skip


@pytest.mark.parametrize("package", SERVER_PACKAGES)
def test_servers_reach_the_client_only_through_its_public_modules(package: str) -> None:
    """The services import the client's shared pieces from `mlgrpc.service_support` (or other
    public modules), never from a private `mlgrpc._…` one, so the client can reorganise those."""
    root = Path(__file__).resolve().parents[2] / package
    private = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )  # fmt: skip
            private += [f"{path.relative_to(root.parent)}:{node.lineno} {name}" for name in names
                        if name.startswith("mlgrpc._")]  # fmt: skip
    assert private == []
