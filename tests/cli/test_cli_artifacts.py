"""`mlgrpc artifacts list|download|upload` against a real tracking service, and the progress
hook of the client's transfer functions that the progress bars use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlgrpc import artifacts as transfer
from mlgrpc.client import MlgrpcClient

if TYPE_CHECKING:
    from conftest import Cli, Seeded


def _new_run(tracking_server: str, seeded: Seeded) -> str:
    return MlgrpcClient(tracking_server).create_run(seeded.experiment_id).info.run_id


def test_upload_file_then_list_shows_it_with_its_size(
    cli: Cli, seeded: Seeded, tracking_server: str, tmp_path: Path, write_file: Callable
) -> None:
    run_id = _new_run(tracking_server, seeded)
    local = write_file(tmp_path / "weights.bin", 1000)
    uploaded = cli("artifacts", "upload", run_id, str(local), "--artifact-path", "w", "-O", "json")
    assert uploaded.code == 0, uploaded.err
    assert uploaded.json() == [{"path": "w/weights.bin", "is_dir": False, "file_size": 1000}]
    listed = cli("artifacts", "list", run_id, "w", "-O", "json")
    assert listed.json() == [{"path": "w/weights.bin", "is_dir": False, "file_size": 1000}]


def test_upload_directory_keeps_the_layout(
    cli: Cli, seeded: Seeded, tracking_server: str, tmp_path: Path, write_file: Callable
) -> None:
    run_id = _new_run(tracking_server, seeded)
    write_file(tmp_path / "d" / "a.txt", 3)
    write_file(tmp_path / "d" / "sub" / "b.txt", 5)
    assert cli("artifacts", "upload", run_id, str(tmp_path / "d")).code == 0
    top = cli("artifacts", "list", run_id, "-O", "json").json()
    assert {"path": "sub", "is_dir": True, "file_size": None} in top
    assert {"path": "a.txt", "is_dir": False, "file_size": 3} in top


def test_download_file_prints_its_local_path_with_the_same_bytes(
    cli: Cli, seeded: Seeded, tracking_server: str, tmp_path: Path, write_file: Callable
) -> None:
    run_id = _new_run(tracking_server, seeded)
    local = write_file(tmp_path / "big.bin", 5 * 1024 * 1024 + 7)  # several upload chunks
    assert cli("artifacts", "upload", run_id, str(local)).code == 0
    result = cli("artifacts", "download", run_id, "big.bin", "-d", str(tmp_path / "dst"))
    assert result.code == 0, result.err
    downloaded = Path(result.out.strip())
    assert downloaded == (tmp_path / "dst" / "big.bin").resolve()
    assert downloaded.read_bytes() == local.read_bytes()


def test_download_of_missing_path_is_one_line_error(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    result = cli("artifacts", "download", seeded.run_ids[0], "nope.txt", "-d", str(tmp_path))
    assert result.code != 0
    assert "nope.txt" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_upload_of_missing_local_file_says_so(cli: Cli, seeded: Seeded, tmp_path: Path) -> None:
    result = cli("artifacts", "upload", seeded.run_ids[0], str(tmp_path / "absent"))
    assert result.code != 0
    assert "no such file or directory" in result.err


def test_list_of_unknown_run_says_run_not_found(cli: Cli) -> None:
    result = cli("artifacts", "list", "deadbeef")
    assert result.code != 0
    assert "run deadbeef not found" in result.err


def test_transfer_progress_hook_counts_every_byte(
    seeded: Seeded, tracking_server: str, tmp_path: Path, write_file: Callable
) -> None:
    client = MlgrpcClient(tracking_server)
    run_id = _new_run(tracking_server, seeded)
    size = 5 * 1024 * 1024 + 11
    local = write_file(tmp_path / "p.bin", size)
    sent: list[int] = []
    transfer.upload_file(client._stub, run_id, local, "p.bin", sent.append)
    received: list[int] = []
    transfer.download(client._stub, run_id, "p.bin", tmp_path / "dst", received.append)
    assert sum(sent) == size and len(sent) > 1
    assert sum(received) == size
