"""Bugs the contract fuzzer (tests/fuzz) found in the tracking service, one test each.

Each answered INTERNAL (an unmapped exception), or lost its status on the way to the client,
or let a control character into a name or key.
"""

from __future__ import annotations

import grpc
import pytest
from tracking_rpc_helpers import assert_fails, failure_of

from mlgrpc import error_reasons as reasons
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BAD_VALUE = reasons.INVALID_PARAMETER_VALUE


@pytest.mark.parametrize(
    "experiment_id", ["9223372036854775808", "-9223372036854775809", "9" * 5001, "--1"]
)
def test_experiment_id_beyond_64_bits_or_malformed_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, experiment_id: str
) -> None:
    # Was INTERNAL: SQLite's driver raised OverflowError, int() refused over 4,300 digits, and
    # "--1" passed the digit check but not int().
    assert_fails(
        stub,
        lambda: stub.GetExperiment(pb.GetExperimentRequest(experiment_id=experiment_id)),
        INVALID,
        BAD_VALUE,
        field="experiment_id",
    )


def test_largest_64_bit_experiment_id_is_simply_not_found(
    stub: pb_grpc.TrackingServiceStub,
) -> None:
    failure = failure_of(
        lambda: stub.GetExperiment(pb.GetExperimentRequest(experiment_id=str(2**63 - 1)))
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("number", ["1" * 400, "9" * 5001])
def test_filter_number_too_long_for_a_double_or_an_int_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, experiment_id: str, number: str
) -> None:
    # Was INTERNAL: OverflowError (int → float) and ValueError (int() of 5,001 digits).
    assert_fails(
        stub,
        lambda: stub.SearchRuns(
            pb.SearchRunsRequest(experiment_ids=[experiment_id], filter=f"metrics.m > {number}")
        ),
        INVALID,
        BAD_VALUE,
        field="filter",
    )
    assert_fails(
        stub,
        lambda: stub.SearchExperiments(
            pb.SearchExperimentsRequest(filter=f"creation_time > {number}")
        ),
        INVALID,
        BAD_VALUE,
        field="filter",
    )


@pytest.mark.parametrize("char", ["x", "中"])
def test_error_quoting_a_huge_input_still_arrives_with_its_status(
    stub: pb_grpc.TrackingServiceStub, char: str
) -> None:
    # Was RESOURCE_EXHAUSTED "Stream removed": the message quoted 100,000 characters, more than
    # the client's metadata limit, and the real status was lost. Non-ASCII text counts up to
    # 12 bytes a character there (UTF-8, then percent-encoded).
    failure = assert_fails(
        stub,
        lambda: stub.GetExperiment(pb.GetExperimentRequest(experiment_id=char * 100_000)),
        INVALID,
        BAD_VALUE,
        field="experiment_id",
    )
    assert len(failure.message.encode("utf-8")) <= 1_000


def test_request_bytes_that_do_not_parse_are_invalid_argument(
    channel: grpc.Channel, stub: pb_grpc.TrackingServiceStub
) -> None:
    # Was INTERNAL "Exception deserializing request!", answered by gRPC itself.
    raw = channel.unary_unary(
        "/mlgrpc.tracking.v1.TrackingService/GetRun",
        request_serializer=None,
        response_deserializer=None,
    )
    assert_fails(stub, lambda: raw(b"\x0a\xff\xff\xff"), INVALID, BAD_VALUE, field="request")


@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "line\n", "esc\x1b[31m", "del\x7f"])
def test_control_characters_in_names_are_invalid_argument_naming_the_field(
    stub: pb_grpc.TrackingServiceStub, experiment_id: str, run_id: str, name: str
) -> None:
    calls = {
        "name": lambda: stub.CreateExperiment(pb.CreateExperimentRequest(name=name)),
        "artifact_location": lambda: stub.CreateExperiment(
            pb.CreateExperimentRequest(name="fine-name", artifact_location=f"/tmp/{name}")
        ),
        "new_name": lambda: stub.UpdateExperiment(
            pb.UpdateExperimentRequest(experiment_id=experiment_id, new_name=name)
        ),
        "run_name": lambda: stub.CreateRun(
            pb.CreateRunRequest(experiment_id=experiment_id, run_name=name)
        ),
    }
    for field, call in calls.items():
        assert_fails(stub, call, INVALID, BAD_VALUE, field=field)
    assert_fails(
        stub,
        lambda: stub.UpdateRun(pb.UpdateRunRequest(run_id=run_id, run_name=name)),
        INVALID,
        BAD_VALUE,
        field="run_name",
    )


def test_key_ending_in_a_newline_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, run_id: str
) -> None:
    # Was accepted: the key pattern ended in "$", which also matches before a final newline.
    assert_fails(
        stub,
        lambda: stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="loss\n", value=1.0)),
        INVALID,
        BAD_VALUE,
        field="metrics[0].key",
    )


@pytest.mark.parametrize("path", ["a" * 255, "dir/" + "é" * 101, "a/" * 600 + "b"])
def test_artifact_path_too_long_to_store_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, run_id: str, path: str
) -> None:
    # Was INTERNAL: ENAMETOOLONG for the writer's temp name (".<name>.part-<uuid>"), and a
    # RecursionError creating thousands of nested directories.
    header = pb.UploadArtifactHeader(run_id=run_id, path=path, file_size=1)
    messages = [pb.UploadArtifactRequest(header=header), pb.UploadArtifactRequest(chunk=b"x")]
    assert_fails(
        stub, lambda: stub.UploadArtifact(iter(messages)), INVALID, BAD_VALUE, field="header.path"
    )
    assert_fails(
        stub,
        lambda: stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path=path)),
        INVALID,
        BAD_VALUE,
        field="path",
    )


def test_artifact_path_at_the_limits_is_stored(
    stub: pb_grpc.TrackingServiceStub, run_id: str
) -> None:
    path = "/".join(["d" * 200] * 4) + "/" + "é" * 100  # 200-byte segments, 1,000 characters
    assert len(path) <= 1_000
    header = pb.UploadArtifactHeader(run_id=run_id, path=path, file_size=1)
    messages = [pb.UploadArtifactRequest(header=header), pb.UploadArtifactRequest(chunk=b"x")]
    assert stub.UploadArtifact(iter(messages)).file.path == path
