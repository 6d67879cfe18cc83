"""Converters between the wire and the domain: every enum value, and runs encoded in full."""

from __future__ import annotations

import math

import pytest

from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from tracking_service import convert, domain


@pytest.mark.parametrize("status", domain.RUN_STATUSES)
def test_every_run_status_round_trips(status: str) -> None:
    assert convert.status_from_proto(convert.STATUS_VALUES[status]) == status


def test_unspecified_status_is_none_and_unknown_is_invalid() -> None:
    assert convert.status_from_proto(pb.RUN_STATUS_UNSPECIFIED) is None
    with pytest.raises(InvalidArgument) as caught:
        convert.status_from_proto(6)
    assert caught.value.field == "status"


def test_unspecified_view_type_means_active_only() -> None:
    assert convert.view_type_from_proto(0) is domain.ViewType.ACTIVE_ONLY
    assert convert.view_type_from_proto(common_pb2.VIEW_TYPE_ALL) is domain.ViewType.ALL
    with pytest.raises(InvalidArgument):
        convert.view_type_from_proto(4)


def test_run_is_encoded_in_full() -> None:
    info = domain.RunInfo("a" * 32, "3", "n", "u", "KILLED", 5, None, "file:///x", "active")
    run = domain.Run(info, [domain.Metric("m", math.inf, 2, 1)], {"p": "1"}, {"t": "2"})
    encoded = convert.run_to_proto(run)
    assert encoded.info.status == pb.RUN_STATUS_KILLED
    assert not encoded.info.HasField("end_time")
    assert [(m.key, m.value, m.timestamp, m.step) for m in encoded.data.metrics] == [
        ("m", math.inf, 2, 1)
    ]
    assert [(p.key, p.value) for p in encoded.data.params] == [("p", "1")]
    assert [(t.key, t.value) for t in encoded.data.tags] == [("t", "2")]


def test_end_time_is_set_when_known() -> None:
    info = domain.RunInfo("a" * 32, "3", "n", "u", "FINISHED", 5, 9, "file:///x", "active")
    assert convert.run_info_to_proto(info).end_time == 9
