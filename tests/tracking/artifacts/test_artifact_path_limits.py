"""The size limits of relative artifact paths: what is storable is accepted, nothing longer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgrpc_server.errors import InvalidArgument
from tracking_service.artifacts import validate_relative_path
from tracking_service.artifacts.paths import MAX_PATH_CHARS, MAX_SEGMENT_BYTES


def test_segment_of_the_maximum_bytes_is_accepted() -> None:
    path = "a" * MAX_SEGMENT_BYTES
    assert validate_relative_path(path, field="path") == path


@pytest.mark.parametrize(
    "path",
    [
        "a" * (MAX_SEGMENT_BYTES + 1),
        "dir/" + "é" * (MAX_SEGMENT_BYTES // 2 + 1),  # the limit is in UTF-8 bytes
        "a/" * (MAX_PATH_CHARS // 2) + "b",
    ],
)
def test_paths_past_the_limits_are_invalid_argument_naming_the_field(path: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_relative_path(path, field="header.path")
    assert caught.value.field == "header.path"


@given(st.lists(st.text(alphabet="aé🙂", min_size=1, max_size=120), min_size=1, max_size=20))
def test_an_accepted_path_fits_every_file_system_limit(segments: list[str]) -> None:
    path = "/".join(segments)
    try:
        validate_relative_path(path, field="path")
    except InvalidArgument:
        return
    assert len(path) <= MAX_PATH_CHARS
    # With the writer's ".<name>.part-<32 hex>" around it, a name still fits in 255 bytes.
    assert all(len(f".{s}.part-{'0' * 32}".encode()) <= 255 for s in segments)
