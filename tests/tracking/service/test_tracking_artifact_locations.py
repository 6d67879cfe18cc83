"""CreateExperiment's `artifact_location` is checked when it is made: a scheme the deployment
stores artifacts with, under the artifact root unless the operator allows others."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from tracking_rpc_helpers import assert_fails

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BAD_VALUE = "INVALID_PARAMETER_VALUE"


def _create(stub: pb_grpc.TrackingServiceStub, location: str) -> str:
    request = pb.CreateExperimentRequest(
        name=f"loc-{uuid.uuid4().hex[:10]}", artifact_location=location
    )
    return stub.CreateExperiment(request).experiment_id


def _location(stub: pb_grpc.TrackingServiceStub, experiment_id: str) -> str:
    request = pb.GetExperimentRequest(experiment_id=experiment_id)
    return stub.GetExperiment(request).experiment.artifact_location


REFUSED_ANYWHERE = [
    "http://169.254.169.254/latest/meta-data",
    "https://example.com/artifacts",
    "ftp://x/y",
    "mlflow-artifacts:/x",
    "relative/dir",
    "./here",
    "file:relative",
    "file://otherhost/srv/artifacts",
]


@pytest.mark.parametrize("location", [*REFUSED_ANYWHERE, "/etc", "file:///etc/passwd", "s3://b/x"])
def test_location_outside_the_root_or_of_another_scheme_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, location: str
) -> None:
    assert_fails(stub, lambda: _create(stub, location), INVALID, BAD_VALUE, "artifact_location")


def test_location_escaping_the_root_with_dot_dot_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, artifact_root: Path
) -> None:
    location = f"{artifact_root}/../{artifact_root.name}-sibling"
    assert_fails(stub, lambda: _create(stub, location), INVALID, BAD_VALUE, "artifact_location")


def test_location_through_a_symlink_leaving_the_root_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, artifact_root: Path, tmp_path: Path
) -> None:
    link = artifact_root / f"link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(tmp_path, target_is_directory=True)
    location = str(link / "inside")
    assert_fails(stub, lambda: _create(stub, location), INVALID, BAD_VALUE, "artifact_location")


def test_no_location_gives_one_under_the_root(
    stub: pb_grpc.TrackingServiceStub, artifact_root: Path
) -> None:
    experiment_id = _create(stub, "")
    assert _location(stub, experiment_id) == f"{artifact_root.resolve().as_uri()}/{experiment_id}"


@pytest.mark.parametrize("form", ["path", "file-uri", "dot-dot-inside"])
def test_location_under_the_root_is_accepted_in_canonical_form(
    stub: pb_grpc.TrackingServiceStub, artifact_root: Path, form: str
) -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    given = {
        "path": str(artifact_root / team),
        "file-uri": (artifact_root / team).as_uri(),
        "dot-dot-inside": f"{artifact_root}/other/../{team}",
    }[form]
    assert _location(stub, _create(stub, given)) == (artifact_root / team).as_uri()


def test_runs_of_an_accepted_location_keep_their_artifacts_there(
    stub: pb_grpc.TrackingServiceStub, artifact_root: Path
) -> None:
    experiment_id = _create(stub, str(artifact_root / f"team-{uuid.uuid4().hex[:8]}"))
    run = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run
    assert run.info.artifact_uri.startswith(_location(stub, experiment_id) + "/")


@pytest.fixture(scope="module")
def open_stub(db_uri: str, artifact_root: Path) -> Iterator[pb_grpc.TrackingServiceStub]:
    """A tracking service started with --allow-artifact-locations-outside-root."""
    from tracking_service.server import create_server

    running = create_server(
        backend_store_uri=db_uri,
        default_artifact_root=str(artifact_root),
        port=0,
        allow_artifact_locations_outside_root=True,
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.TrackingServiceStub(channel)
    running.stop(grace=1)


def test_operator_may_allow_absolute_locations_outside_the_root(
    open_stub: pb_grpc.TrackingServiceStub, tmp_path: Path
) -> None:
    experiment_id = _create(open_stub, str(tmp_path / "elsewhere"))
    assert _location(open_stub, experiment_id) == (tmp_path / "elsewhere").as_uri()


@pytest.mark.parametrize("location", REFUSED_ANYWHERE)
def test_unsupported_schemes_and_relative_paths_stay_refused_when_outside_is_allowed(
    open_stub: pb_grpc.TrackingServiceStub, location: str
) -> None:
    assert_fails(
        open_stub, lambda: _create(open_stub, location), INVALID, BAD_VALUE, "artifact_location"
    )


def test_the_flag_falls_back_to_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry_service.cli import build_parser as registry_parser
    from tracking_service.cli import build_parser as tracking_parser

    for build in (tracking_parser, registry_parser):
        assert not build().parse_args([]).allow_artifact_locations_outside_root
        assert (
            build()
            .parse_args(["--allow-artifact-locations-outside-root"])
            .allow_artifact_locations_outside_root
        )
    monkeypatch.setenv("MLGRPC_ALLOW_ARTIFACT_LOCATIONS_OUTSIDE_ROOT", "true")
    for build in (tracking_parser, registry_parser):
        assert build().parse_args([]).allow_artifact_locations_outside_root
