"""Artifact upload, listing and download round trips against the real tracking service."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from mlgrpc import MlgrpcClient
from mlgrpc.entities import FileInfo
from mlgrpc.exceptions import NotFoundError


@pytest.fixture
def run_id(client: MlgrpcClient) -> str:
    experiment_id = client.create_experiment(f"art-{uuid.uuid4().hex[:10]}")
    return client.create_run(experiment_id).info.run_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_log_artifact_and_download_single_file(
    client: MlgrpcClient, run_id: str, tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    client.log_artifact(run_id, source, "docs")
    local = client.download_artifacts(run_id, "docs/notes.txt", tmp_path / "out")
    assert Path(local) == tmp_path / "out" / "docs" / "notes.txt"
    assert Path(local).read_text() == "hello"


def test_log_artifacts_keeps_directory_layout(
    client: MlgrpcClient, run_id: str, tmp_path: Path
) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "MLmodel").write_text("flavors: {}")
    (src / "sub" / "weights.bin").write_bytes(os.urandom(1000))
    client.log_artifacts(run_id, src, "model")
    local = Path(client.download_artifacts(run_id, "model", tmp_path / "out"))
    assert (local / "MLmodel").read_text() == "flavors: {}"
    assert sha256_of(local / "sub" / "weights.bin") == sha256_of(src / "sub" / "weights.bin")


def test_list_artifacts_returns_typed_entries(
    client: MlgrpcClient, run_id: str, tmp_path: Path
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("12345")
    (tmp_path / "top.txt").write_text("x")
    client.log_artifacts(run_id, tmp_path / "d", "d")
    client.log_artifact(run_id, tmp_path / "top.txt")
    root = client.list_artifacts(run_id)
    assert FileInfo("d", True, None) in root
    assert FileInfo("top.txt", False, 1) in root
    assert client.list_artifacts(run_id, "d") == [FileInfo("d/a.txt", False, 5)]


def test_fifty_megabyte_file_round_trip_keeps_sha256(
    client: MlgrpcClient, run_id: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    client.log_artifact(run_id, big, "data")
    local = Path(client.download_artifacts(run_id, "data/big.bin", tmp_path / "out"))
    assert local.stat().st_size == 50 << 20
    assert sha256_of(local) == sha256_of(big)


def test_download_of_missing_artifact_is_not_found(
    client: MlgrpcClient, run_id: str, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError):
        client.download_artifacts(run_id, "nope.txt", tmp_path)
