"""`ArtifactLocations` on an S3 root, and `runs:/` path normalisation (no server needed)."""

from __future__ import annotations

import pytest

from mlgrpc_server.artifact_locations import ArtifactLocations, normalise_run_path
from mlgrpc_server.errors import InvalidArgument

S3_ROOT = ArtifactLocations("s3://mlgrpc/root")


@pytest.mark.parametrize(
    ("location", "canonical"),
    [
        ("s3://mlgrpc/root", "s3://mlgrpc/root"),
        ("s3://mlgrpc/root/team/x", "s3://mlgrpc/root/team/x"),
        ("s3://mlgrpc/root//team/", "s3://mlgrpc/root/team"),
    ],
)
def test_s3_location_under_an_s3_root_is_accepted(location: str, canonical: str) -> None:
    assert S3_ROOT.check(location, field="artifact_location") == canonical


@pytest.mark.parametrize(
    "location",
    [
        "s3://mlgrpc/rootless",
        "s3://other/root/x",
        "s3://mlgrpc/root/../elsewhere",
        "s3://mlgrpc/root/./x",
        "s3:///root",
        "/srv/artifacts",
    ],
)
def test_location_outside_an_s3_root_is_invalid_argument(location: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        S3_ROOT.check(location, field="artifact_location")
    assert caught.value.field == "artifact_location"


def test_any_bucket_when_outside_locations_are_allowed() -> None:
    open_root = ArtifactLocations("s3://mlgrpc/root", allow_outside_root=True)
    assert open_root.check("s3://other/x", field="source") == "s3://other/x"
    with pytest.raises(InvalidArgument):
        open_root.check("http://other/x", field="source")


@pytest.mark.parametrize(
    ("path", "normal"),
    [("", ""), ("/", ""), (".", ""), ("model", "model"), ("a/./b/../c/", "a/c"), ("a//b", "a/b")],
)
def test_run_paths_are_normalised(path: str, normal: str) -> None:
    assert normalise_run_path(path, field="source", uri="runs:/r/" + path) == normal


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "a\\..\\..", "/../.."])
def test_run_paths_leaving_the_run_are_invalid_argument(path: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalise_run_path(path, field="source", uri="runs:/r/" + path)
    assert caught.value.field == "source"
