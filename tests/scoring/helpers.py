"""Calling the scoring service from tests: grpcurl (JSON, through reflection) and stubs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")


def grpcurl(address: str, method: str, payload: dict[str, Any]) -> tuple[int, Any, str]:
    """(exit code, parsed JSON reply or None, stderr) of one grpcurl call."""
    result = subprocess.run(
        [GRPCURL, "-plaintext", "-d", json.dumps(payload), address, method],
        capture_output=True,
        text=True,
        timeout=30,
    )
    reply = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None
    return result.returncode, reply, result.stderr


def error_field(error: grpc.RpcError) -> str:
    """The `field` of the ErrorInfo a refused call carries (the server's one error mapping)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, error
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info.metadata.get("field", "")
