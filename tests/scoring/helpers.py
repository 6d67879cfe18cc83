"""Calling the scoring service from tests: grpcurl (JSON, through reflection) and stubs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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
