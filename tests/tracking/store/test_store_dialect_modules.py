"""The seam of `tracking_service/store/dialects/`: a database's fast paths are one module found
by the name of the engine's dialect, with no change anywhere else; the portable store never
needs one; an unsupported database is refused before anything starts."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgrpc_server.db import UnsupportedDatabase
from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store import dialects
from tracking_service.store.sql_store import SqlTrackingStore

# A dialect module as a newcomer would add it for SQLite (which has none in the tree): it
# records each call it gets, answers GetRun itself (the run's info under another name, so that
# the answer shows where it came from) and leaves every other call to the portable store (None).
NEW_DIALECT_MODULE = """
import dataclasses

from tracking_service.domain import Run

calls = []


def fast_paths(store):
    return RecordingFastPaths(store)


class RecordingFastPaths:
    def __init__(self, store):
        self.store = store

    def create_run(self, new):
        calls.append(("create_run", new.run_id))
        return None

    def log_batch(self, batch):
        calls.append(("log_batch", len(batch.metric_rows), sorted(batch.params)))
        return None

    def get_run(self, run_id):
        calls.append(("get_run", run_id))
        run = self.store.get_run_portable(run_id)
        info = dataclasses.replace(run.info, run_name="answered by the sqlite dialect module")
        return Run(info=info, metrics=run.metrics, params=run.params, tags=run.tags)

    def history_page(self, run_id, statement):
        calls.append(("history_page", run_id))
        return None

    def search_page(self, query):
        calls.append(("search_page", query.limit))
        return None

    def runs_io(self, run_ids):
        calls.append(("runs_io", len(run_ids)))
        return None

    def dispose(self):
        calls.append(("dispose",))
"""


@pytest.fixture
def sqlite_dialect_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`sqlite.py` in a folder added to the `dialects` package's search path: the package finds
    it exactly as it would find the file in `tracking_service/store/dialects/`."""
    folder = tmp_path / "more_dialects"
    folder.mkdir()
    (folder / "sqlite.py").write_text(textwrap.dedent(NEW_DIALECT_MODULE))
    monkeypatch.setattr(dialects, "__path__", [*dialects.__path__, str(folder)])
    name = f"{dialects.__name__}.sqlite"
    assert name not in sys.modules, "the tree has no SQLite dialect module of its own"
    yield name
    sys.modules.pop(name, None)


def test_a_new_dialect_module_is_found_by_name_and_its_fast_paths_are_used(
    sqlite_dialect_module: str, tmp_path: Path
) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'fast.db'}", str(tmp_path / "artifacts"))
    calls = sys.modules[sqlite_dialect_module].calls
    try:
        assert type(store.fast_paths).__name__ == "RecordingFastPaths"
        experiment_id = store.create_experiment("seam")
        run = store.create_run(experiment_id, run_name="r", params=[Param("p", "1")])
        run_id = run.info.run_id
        store.log_batch(run_id, metrics=[Metric("m", 2.0, 1, 0)], params=[Param("q", "2")],
                        tags=[RunTag("t", "v")])  # fmt: skip
        fetched = store.get_run(run_id)
        history = store.get_metric_history(run_id, "m").items
        (found,) = store.search_runs([experiment_id], max_results=7).items
    finally:
        store.dispose()
    assert calls == [
        ("create_run", run_id),
        ("log_batch", 1, ["q"]),
        ("get_run", run_id),
        ("history_page", run_id),
        ("search_page", 7),
        ("dispose",),
    ]
    # GetRun was the module's answer; the calls it left (None) were written by the portable store.
    assert fetched.info.run_name == "answered by the sqlite dialect module"
    assert fetched.params == {"p": "1", "q": "2"}
    assert fetched.tags["t"] == "v"
    assert [(m.key, m.value) for m in fetched.metrics] == [("m", 2.0)]
    assert [(m.value, m.step) for m in history] == [(2.0, 0)]
    assert found.info.run_name == "r"


def test_with_fast_paths_off_no_dialect_module_is_asked(
    sqlite_dialect_module: str, tmp_path: Path
) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'portable.db'}", str(tmp_path / "artifacts"),
                             fast_paths=False)  # fmt: skip
    try:
        assert store.fast_paths is None
        experiment_id = store.create_experiment("portable")
        run_id = store.create_run(experiment_id, run_name="r").info.run_id
        assert store.get_run(run_id).info.run_name == "r"
    finally:
        store.dispose()
    assert sqlite_dialect_module not in sys.modules


def test_a_database_without_a_dialect_module_runs_on_the_portable_store(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'plain.db'}", str(tmp_path / "artifacts"))
    try:
        assert store.fast_paths is None
    finally:
        store.dispose()


@pytest.mark.parametrize(
    "uri",
    ["oracle+oracledb://scott:tiger@127.0.0.1:1521/orcl", "mssql+pyodbc://sa@127.0.0.1/db"],
)
def test_an_unsupported_database_is_refused_in_one_line_naming_the_supported_ones(
    uri: str, tmp_path: Path
) -> None:
    with pytest.raises(UnsupportedDatabase) as refused:
        SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    message = str(refused.value)
    assert "\n" not in message
    assert "not supported" in message
    for supported in ("sqlite:///", "mysql+pymysql://", "postgresql://"):
        assert supported in message
