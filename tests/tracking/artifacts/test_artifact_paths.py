"""Relative artifact paths: what is accepted, and that nothing else gets through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgrpc_server.errors import InvalidArgument
from tracking_service.artifacts import validate_relative_path
from tracking_service.artifacts.paths import resolve_inside


@pytest.mark.parametrize(
    "path", ["a", "model/model.pkl", "a/b/c.txt", "spaces ok/é 🙂.bin", ".hidden"]
)
def test_clean_relative_paths_are_accepted(path: str) -> None:
    assert validate_relative_path(path, field="path") == path


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "a/../../x",
        "..",
        "/etc/passwd",
        "a\\b",
        "a//b",
        "a/",
        "./a",
        "a/./b",
        "a\x00b",
        "a\nb",
        "a\x7fb",
    ],
)
def test_unsafe_paths_are_invalid_argument_naming_the_field(path: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_relative_path(path, field="header.path")
    assert caught.value.field == "header.path"


def test_empty_path_is_the_root_only_where_allowed() -> None:
    assert validate_relative_path("", field="path", allow_root=True) == ""
    with pytest.raises(InvalidArgument):
        validate_relative_path("", field="path")


@given(st.text(alphabet=st.sampled_from(["a", "/", ".", "\\", "\x00", "é"]), max_size=12))
def test_an_accepted_path_never_climbs_out(path: str) -> None:
    try:
        validate_relative_path(path, field="path", allow_root=True)
    except InvalidArgument:
        return
    assert not path.startswith("/")
    assert ".." not in path.split("/")
    assert "\\" not in path and "\x00" not in path


def test_a_symlink_out_of_the_root_is_refused(tmp_path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument):
        resolve_inside(str(root), "escape/secret", field="path")
