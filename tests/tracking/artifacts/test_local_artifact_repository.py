"""The local (`file:`) artifact repository: atomic writes, checksums, listings, walks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.artifacts import LocalArtifactRepository, repository_for
from tracking_service.artifacts.transfer import receive_file, send_tree


def _store(repo: LocalArtifactRepository, path: str, data: bytes) -> None:
    receive_file(repo.open_writer(path), [data[i : i + 7] for i in range(0, len(data), 7)])


def test_written_file_appears_with_its_sha256(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    data = b"hello artifacts" * 10
    stored = receive_file(repo.open_writer("a/b.txt"), [data])
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.entry.file_size == len(data)
    assert (tmp_path / "a" / "b.txt").read_bytes() == data


def test_sha256_mismatch_stores_nothing(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    with pytest.raises(InvalidArgument) as caught:
        receive_file(repo.open_writer("d/x.bin"), [b"abc"], sha256="0" * 64)
    assert caught.value.field == "header.sha256"
    assert list(tmp_path.rglob("*")) == []


def test_size_mismatch_stores_nothing(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    with pytest.raises(InvalidArgument) as caught:
        receive_file(repo.open_writer("x.bin"), [b"abc"], file_size=4)
    assert caught.value.field == "header.file_size"
    assert list(tmp_path.iterdir()) == []


def test_a_stream_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))

    def chunks():
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        receive_file(repo.open_writer("deep/dir/x.bin"), chunks())
    assert list(tmp_path.rglob("*")) == []


def test_overwrite_replaces_the_file(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    _store(repo, "x.txt", b"one")
    _store(repo, "x.txt", b"two")
    assert (tmp_path / "x.txt").read_bytes() == b"two"


def test_writing_over_a_directory_is_invalid_argument(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    _store(repo, "d/x.txt", b"x")
    with pytest.raises(InvalidArgument):
        _store(repo, "d", b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_writing_below_a_file_is_invalid_argument(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    _store(repo, "f", b"x")
    with pytest.raises(InvalidArgument):
        repo.open_writer("f/g")


def test_list_gives_direct_children_sorted_with_sizes(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    _store(repo, "b.txt", b"12")
    _store(repo, "a/deep.txt", b"1")
    entries = repo.list("")
    assert [(e.path, e.is_dir, e.file_size) for e in entries] == [
        ("a", True, 0),
        ("b.txt", False, 2),
    ]
    assert [e.path for e in repo.list("a")] == ["a/deep.txt"]


def test_list_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert LocalArtifactRepository(str(tmp_path / "nothing")).list("x") == []


def test_walk_gives_every_file_below_sorted(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    for path in ["z.txt", "m/b.txt", "m/a/c.txt"]:
        _store(repo, path, path.encode())
    assert [e.path for e in repo.walk("")] == ["m/a/c.txt", "m/b.txt", "z.txt"]
    assert [e.path for e in repo.walk("m")] == ["m/a/c.txt", "m/b.txt"]


def test_walk_of_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        LocalArtifactRepository(str(tmp_path)).walk("missing")


def test_walk_skips_symlinks_leaving_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text("s")
    (root / "link").symlink_to(tmp_path / "secret")
    (root / "ok.txt").write_text("ok")
    assert [e.path for e in LocalArtifactRepository(str(root)).walk("")] == ["ok.txt"]


def test_send_tree_yields_header_then_chunks(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    _store(repo, "x.bin", b"abcdef")
    items = list(send_tree(repo, "x.bin", chunk_bytes=4))
    assert items[0].entry.path == "x.bin"  # type: ignore[union-attr]
    assert items[1:] == [b"abcd", b"ef"]


def test_file_uri_and_plain_path_pick_the_local_repository(tmp_path: Path) -> None:
    assert isinstance(repository_for(f"file://{tmp_path}"), LocalArtifactRepository)
    assert repository_for(f"file://{tmp_path}").root == str(tmp_path)  # type: ignore[attr-defined]
    assert isinstance(repository_for(str(tmp_path)), LocalArtifactRepository)


def test_unknown_scheme_is_failed_precondition() -> None:
    with pytest.raises(FailedPrecondition):
        repository_for("gs://bucket/path")
