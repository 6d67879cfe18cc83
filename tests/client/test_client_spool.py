"""The spool of unsent async values (`mlgrpc.spool`): durable lines that survive a torn write,
and what a later process does with them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import mlgrpc
from mlgrpc import spool


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLGRPC_SPOOL_DIR", str(tmp_path / "spool"))
    return tmp_path / "spool"


def test_spool_location_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLGRPC_SPOOL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert spool.spool_root() == tmp_path / "cache" / "mlgrpc" / "spool"
    monkeypatch.setenv("MLGRPC_SPOOL_DIR", str(tmp_path / "mine"))
    assert spool.service_dir("127.0.0.1:5000") == tmp_path / "mine" / "127.0.0.1_5000"


def test_records_round_trip_with_non_finite_values(tmp_path: Path) -> None:
    run_spool = spool.RunSpool(tmp_path, "a" * 32)
    batch = spool.SpooledBatch(
        "id-1", [("loss", math.inf, 5, 1), ("acc", 0.5, 6, 2)], [("p", "1")], [("t", "x")]
    )
    run_spool.append(batch)
    run_spool.append(spool.SpooledEnd("KILLED", 7))
    records, offset = run_spool.read()
    assert records == [batch, spool.SpooledEnd("KILLED", 7)]
    assert offset == run_spool.path.stat().st_size
    nan = spool.SpooledBatch("id-2", [("loss", math.nan, 1, 1)])
    run_spool.append(nan)
    (read_back,), _ = run_spool.read(offset)
    assert isinstance(read_back, spool.SpooledBatch) and math.isnan(read_back.metrics[0][1])


def test_a_torn_line_is_skipped_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    run_spool = spool.RunSpool(tmp_path, "b" * 32)
    first = spool.SpooledBatch("id-1", [("loss", 1.0, 1, 1)])
    run_spool.append(first)
    with open(run_spool.path, "ab") as handle:  # a crash in the middle of an append
        handle.write(b'{"batch_id":"id-2","metrics":[["lo')
    assert run_spool.read()[0] == [first]  # the unfinished line is not read
    second = spool.SpooledBatch("id-3", [("loss", 3.0, 3, 3)])
    run_spool.append(second)
    assert run_spool.read()[0] == [first, second]


def test_remove_keeps_a_file_appended_to_meanwhile(tmp_path: Path) -> None:
    run_spool = spool.RunSpool(tmp_path, "c" * 32)
    run_spool.append(spool.SpooledEnd("FINISHED", 1))
    _, offset = run_spool.read()
    run_spool.append(spool.SpooledEnd("FAILED", 2))
    assert run_spool.remove_if_size(offset) is False
    assert run_spool.remove_if_size(run_spool.read()[1]) is True
    assert not run_spool.exists()


def test_next_start_run_sends_what_an_earlier_process_spooled(
    tracking_uri: str, client: mlgrpc.MlgrpcClient, spool_dir: Path
) -> None:
    run_id = client.create_run("0").info.run_id
    run_spool = spool.RunSpool(client.spool_dir, run_id)
    run_spool.append(spool.SpooledBatch("spooled-1", [("loss", 0.5, 10, 3)], [("alpha", "1")]))
    run_spool.append(spool.SpooledEnd("KILLED", 12))
    with mlgrpc.start_run():
        pass
    run = client.get_run(run_id)
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")] == [(3, 0.5)]
    assert run.data.params == {"alpha": "1"}
    assert (run.info.status, run.info.end_time) == ("KILLED", 12)
    assert not run_spool.exists()


def test_a_batch_refused_as_invalid_is_set_aside_and_the_rest_is_sent(
    client: mlgrpc.MlgrpcClient, spool_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgrpc.cli.main import main

    run_id = client.create_run("0").info.run_id
    run_spool = spool.RunSpool(client.spool_dir, run_id)
    invalid = spool.SpooledBatch("refused-1", [("k" * 300, 1.0, 1, 1)])
    run_spool.append(invalid)
    run_spool.append(spool.SpooledBatch("sent-1", [("loss", 0.5, 10, 3)]))
    run_spool.append(spool.SpooledEnd("FINISHED", 12))
    assert main(["runs", "sync", "--tracking-uri", client.tracking_uri, "--output", "json"]) == 1
    captured = capsys.readouterr()
    assert "not (wholly) sent" in captured.err
    assert '"refused": 1' in captured.out
    assert not run_spool.exists()
    assert run_spool.rejected.read()[0] == [invalid]
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [3]
    assert client.get_run(run_id).info.status == "FINISHED"
