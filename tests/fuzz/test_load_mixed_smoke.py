"""bench/load_mixed.py runs end to end (a few seconds, 4 clients) with no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.mysql
def test_mixed_load_runs_without_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.load_mixed", "--seconds", "2", "--threads", "4"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors: 0" in result.stdout
    for kind in ("LogMetric", "SearchRuns", "CreateModelVersion", "GetModelVersionByAlias"):
        assert kind in result.stdout
