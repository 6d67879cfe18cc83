"""Fixtures shared by every suite: real databases (SQLite, MariaDB, PostgreSQL), real servers.

MariaDB: root with an empty password on 127.0.0.1:3306 (override with MLGRPC_TEST_MYSQL_URL).
PostgreSQL: user postgres (trust) on 127.0.0.1:5432 (override with MLGRPC_TEST_POSTGRESQL_URL).
`db_uri` (every service suite) runs on the backends of MLGRPC_TEST_BACKENDS (comma-separated,
default "sqlite,mysql"); the store suites name their backends themselves and include PostgreSQL.
Each module gets databases of its own, created empty and dropped afterwards, so suites running
side by side never see each other's rows.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from mlgrpc._channel import forget_channels

#: Where the virtualenvs of real peers (MLflow, tritonclient) live: outside the checkout so that
#: they are made once per machine, like pip's cache; their pins clash with ours.
PEER_VENV_ROOT = Path(
    os.environ.get("MLGRPC_PEER_VENVS", Path.home() / ".cache" / "mlgrpc" / "peer-venvs")
)
#: An existing MLflow virtualenv to use instead of the shared peer venv (optional).
MLFLOW_VENV = os.environ.get("MLGRPC_MLFLOW_VENV")
MYSQL_SERVER_URL = os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRESQL_SERVER_URL = os.environ.get(
    "MLGRPC_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
#: Every backend the stores support, as `new_database` names them.
ALL_BACKENDS = ("sqlite", "mysql", "postgresql")
#: The backends of `db_uri`: PostgreSQL on every service suite would add minutes to `make test`,
#: so by default it runs the store suites and the PostgreSQL end-to-end test only.
BACKENDS = tuple(
    name.strip()
    for name in os.environ.get("MLGRPC_TEST_BACKENDS", "sqlite,mysql").split(",")
    if name.strip()
)


def _create_mysql_database() -> tuple[str, Callable[[], None]]:
    name = f"mlgrpc_test_{uuid.uuid4().hex[:12]}"
    # No pool: an engine kept for the drop at the session's end must not hold a connection
    # meanwhile (a session creates ~150 databases; MariaDB allows 151 connections by default).
    admin = sa.create_engine(MYSQL_SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()

    return f"{MYSQL_SERVER_URL}/{name}?charset=utf8mb4", drop


def _create_postgresql_database() -> tuple[str, Callable[[], None]]:
    name = f"mlgrpc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        f"{POSTGRESQL_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        # C collation: strings sort by code point, as on MariaDB (utf8mb4_bin) and SQLite.
        conn.execute(
            sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' LC_COLLATE \'C\' '
                    "LC_CTYPE 'C' TEMPLATE template0")
        )  # fmt: skip

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{POSTGRESQL_SERVER_URL}/{name}", drop


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """A factory: new_database("sqlite" | "mysql" | "postgresql") → URI of a new, empty
    database (dropped at the end of the session)."""
    drops: list[Callable[[], None]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("sqlite") / "mlgrpc.db"
            return f"sqlite:///{path}"
        if backend == "mysql":
            uri, drop = _create_mysql_database()
            drops.append(drop)
            return uri
        if backend == "postgresql":
            uri, drop = _create_postgresql_database()
            drops.append(drop)
            return uri
        raise ValueError(backend)

    yield make
    for drop in drops:
        drop()


@pytest.fixture(scope="module", params=BACKENDS)
def db_uri(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> str:
    """An empty database of each backend, shared by the tests of one module."""
    return new_database(request.param)


@pytest.fixture(scope="module")
def artifact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def tracking_server(db_uri: str, artifact_root: Path) -> Iterator[str]:
    """A real tracking service on a free loopback port; yields its address `127.0.0.1:PORT`."""
    from tracking_service.server import create_server

    running = create_server(
        backend_store_uri=db_uri, default_artifact_root=str(artifact_root), host="127.0.0.1", port=0
    )
    # A channel this process cached for the port before (a test that called a port where nothing
    # listened, which the kernel then gave to this server) would be in reconnect backoff and
    # fail its first calls: callers get fresh ones.
    forget_channels(f"127.0.0.1:{running.port}")
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=1)
    # The kernel may give this port to a later module's server: its callers must not inherit
    # a channel in reconnect backoff from this one.
    forget_channels(f"127.0.0.1:{running.port}")


@pytest.fixture(scope="module")
def registry_server(db_uri: str, tracking_server: str, artifact_root: Path) -> Iterator[str]:
    """A real registry service beside `tracking_server`, on the same database and artifact root
    (model-version sources that are not runs:/ URIs must lie under it)."""
    from registry_service.server import create_server

    # Watchers poll the database every 0.2 s here (1 s by default) to keep watch tests short.
    running = create_server(
        backend_store_uri=db_uri,
        tracking_address=tracking_server,
        port=0,
        watch_poll_seconds=0.2,
        artifact_root=str(artifact_root),
    )
    forget_channels(f"127.0.0.1:{running.port}")  # as tracking_server's
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=1)
    forget_channels(f"127.0.0.1:{running.port}")


@pytest.fixture(scope="session")
def peer_python() -> Callable[[str, list[str]], Path]:
    """A factory: peer_python(name, requirements) → the python of a virtualenv holding them.

    Made on first use and reused while its requirements are unchanged. For real peers whose
    dependencies cannot live beside ours (tritonclient needs protobuf < 7, we need 7).
    """

    def make(name: str, requirements: list[str]) -> Path:
        venv = PEER_VENV_ROOT / name
        python = venv / "bin" / "python"
        marker = venv / ".mlgrpc-requirements"
        wanted = "\n".join(requirements)
        if python.exists() and marker.exists() and marker.read_text() == wanted:
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *requirements], check=True, timeout=1200
        )
        marker.write_text(wanted)
        return python

    return make


@pytest.fixture(scope="session")
def mlflow_python(peer_python: Callable[[str, list[str]], Path]) -> Path:
    """The python of a virtualenv holding the real `mlflow`; created on first use.

    Its scikit-learn is pinned to ours so that pickles and skops files travel both ways.
    """
    if MLFLOW_VENV:
        return Path(MLFLOW_VENV) / "bin" / "python"
    sklearn_pin = f"scikit-learn=={metadata.version('scikit-learn')}"
    return peer_python("mlflow", ["mlflow", sklearn_pin, "pandas"])


@pytest.fixture(scope="session")
def run_in_mlflow_venv(mlflow_python: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run(script, *args)` runs `script` with the MLflow venv's python (fails the test with
    its stderr on error)."""
    return functools.partial(_run_in_mlflow_venv, mlflow_python)


def _run_in_mlflow_venv(python: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # MLflow 3.17 refuses to deserialize any model (skops included) without this.
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, env=env, timeout=300
    )
    if result.returncode != 0:
        pytest.fail(f"MLflow script failed:\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(autouse=True)
def _forget_client_configuration() -> Iterator[None]:
    """URIs set by one test (`mlgrpc.set_tracking_uri`) never leak into the next."""
    yield
    import mlgrpc.config

    mlgrpc.config.reset()


@pytest.fixture(scope="session", autouse=True)
def _spool_outside_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Values a test's client could not send are spooled under the test's tmp dir, never in
    the user's ~/.cache (subprocesses inherit it)."""
    previous = os.environ.get("MLGRPC_SPOOL_DIR")
    os.environ["MLGRPC_SPOOL_DIR"] = str(tmp_path_factory.mktemp("spool"))
    yield
    if previous is None:
        os.environ.pop("MLGRPC_SPOOL_DIR", None)
    else:
        os.environ["MLGRPC_SPOOL_DIR"] = previous
