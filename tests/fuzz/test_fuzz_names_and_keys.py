"""Names, keys, aliases and paths with a control character anywhere are INVALID_ARGUMENT naming
the field, in every RPC that writes one; and the same text without it is not refused for it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

from .rpc_fuzzing import CASES, EXAMPLES_PER_RPC

Call = Callable[
    [tpb_grpc.TrackingServiceStub, rpb_grpc.ModelRegistryServiceStub, dict, str], object
]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _upload(t: tpb_grpc.TrackingServiceStub, run_id: str, path: str) -> object:
    header = tpb.UploadArtifactHeader(run_id=run_id, path=path, file_size=1)
    messages = [tpb.UploadArtifactRequest(header=header), tpb.UploadArtifactRequest(chunk=b"x")]
    return t.UploadArtifact(iter(messages))


def _location_of(t: tpb_grpc.TrackingServiceStub, ids: dict) -> str:
    """The artifact location of an existing experiment: under the artifact root."""
    request = tpb.GetExperimentRequest(experiment_id=ids["experiment_id"][0])
    return str(t.GetExperiment(request).experiment.artifact_location)


#: (the field the error must name, the call writing text `s` into it).
WRITERS: dict[str, tuple[str, Call]] = {
    "CreateExperiment.name": (
        "name",
        lambda t, r, ids, s: t.CreateExperiment(tpb.CreateExperimentRequest(name=s + _unique())),
    ),
    "CreateExperiment.artifact_location": (
        "artifact_location",
        lambda t, r, ids, s: t.CreateExperiment(
            tpb.CreateExperimentRequest(
                name=_unique(), artifact_location=f"{_location_of(t, ids)}/{s}"
            )
        ),
    ),
    "UpdateExperiment.new_name": (
        "new_name",
        lambda t, r, ids, s: t.UpdateExperiment(
            tpb.UpdateExperimentRequest(experiment_id=ids["experiment_id"][0], new_name=s)
        ),
    ),
    "SetExperimentTag.key": (
        "tag.key",
        lambda t, r, ids, s: t.SetExperimentTag(
            tpb.SetExperimentTagRequest(experiment_id=ids["experiment_id"][0], key=s, value="v")
        ),
    ),
    "CreateRun.run_name": (
        "run_name",
        lambda t, r, ids, s: t.CreateRun(
            tpb.CreateRunRequest(experiment_id=ids["experiment_id"][0], run_name=s)
        ),
    ),
    "UpdateRun.run_name": (
        "run_name",
        lambda t, r, ids, s: t.UpdateRun(tpb.UpdateRunRequest(run_id=ids["run_id"][0], run_name=s)),
    ),
    "LogMetric.key": (
        "metrics[0].key",
        lambda t, r, ids, s: t.LogMetric(
            tpb.LogMetricRequest(run_id=ids["run_id"][0], key=s, value=1.0)
        ),
    ),
    "LogParam.key": (
        "params[0].key",
        lambda t, r, ids, s: t.LogParam(
            tpb.LogParamRequest(run_id=ids["run_id"][0], key=s + _unique(), value="1")
        ),
    ),
    "SetTag.key": (
        "tags[0].key",
        lambda t, r, ids, s: t.SetTag(tpb.SetTagRequest(run_id=ids["run_id"][0], key=s, value="1")),
    ),
    "UploadArtifact.header.path": (
        "header.path",
        lambda t, r, ids, s: _upload(t, ids["run_id"][0], f"fz/{s}"),
    ),
    "CreateRegisteredModel.name": (
        "name",
        lambda t, r, ids, s: r.CreateRegisteredModel(
            rpb.CreateRegisteredModelRequest(name=s + _unique())
        ),
    ),
    "SetRegisteredModelTag.key": (
        "key",
        lambda t, r, ids, s: r.SetRegisteredModelTag(
            rpb.SetRegisteredModelTagRequest(name="fuzz-model", key=s, value="v")
        ),
    ),
    "SetRegisteredModelAlias.alias": (
        "alias",
        lambda t, r, ids, s: r.SetRegisteredModelAlias(
            rpb.SetRegisteredModelAliasRequest(name="fuzz-model", alias=s, version=1)
        ),
    ),
}

#: Text that is valid in every field above (letters, digits, "_" and "-"), around one control
#: character.
_PLAIN = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=10)
_CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.just("\x7f")
WITH_CONTROL = st.tuples(_PLAIN, _CONTROL, st.text(alphabet="abc_-", max_size=5)).map("".join)


def _field_of(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, error.details()
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info.metadata.get("field", "")


@pytest.mark.parametrize("writer", list(WRITERS))
def test_control_character_is_invalid_argument_naming_the_field(
    writer: str,
    tracking_channel: grpc.Channel,
    registry_channel: grpc.Channel,
    real_ids: dict[str, list],
) -> None:
    field, write = WRITERS[writer]
    tracking = tpb_grpc.TrackingServiceStub(tracking_channel)
    registry = rpb_grpc.ModelRegistryServiceStub(registry_channel)

    @settings(
        max_examples=EXAMPLES_PER_RPC,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=WITH_CONTROL)
    def one_call(text: str) -> None:
        CASES["names and keys (tracking + registry)"] += 1
        with pytest.raises(grpc.RpcError) as caught:
            write(tracking, registry, real_ids, text)
        error = caught.value
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (text, error.details())
        assert _field_of(error) == field, (text, error.details())

    one_call()
    # The same kind of text without the control character is fine: the refusal was for it.
    write(tracking, registry, real_ids, "plain-" + _unique())
