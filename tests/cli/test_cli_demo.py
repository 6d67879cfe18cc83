"""`mlgrpc demo` as a user runs it: the end-to-end story in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    workdir = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "demo", "--workdir", str(workdir),
         "--output", "json"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return done, workdir


def test_demo_served_prediction_equals_the_in_process_one(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = demo_run
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["agree"] is True
    assert len(summary["served_prediction"]) == 1
    assert summary["served_prediction"][0] == pytest.approx(
        summary["in_process_prediction"][0], abs=1e-9
    )
    assert 3.0 < summary["served_prediction"][0] < 9.0  # a wine quality
    assert summary["model_version"] == 1


def test_demo_leaves_no_process_behind(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, workdir = demo_run
    assert _processes_mentioning(str(workdir)) == []


def test_demo_plain_output_prints_both_predictions(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "demo", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    served = next(line for line in lines if line.startswith("served prediction"))
    local = next(line for line in lines if line.startswith("in-process prediction"))
    assert served.rsplit(":", 1)[1].strip() == local.rsplit(":", 1)[1].strip()
    assert any(line.startswith("agree to 1e-09: yes") for line in lines)


def test_demo_with_a_failing_training_stops_everything_and_says_why(tmp_path: Path) -> None:
    script = tmp_path / "broken_train.py"
    script.write_text("import sys\nprint('no data today', file=sys.stderr)\nsys.exit(3)\n")
    workdir = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "demo", "--workdir", str(workdir),
         "--train-script", str(script)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 1
    assert "failed with status 3" in done.stderr
    assert "no data today" in done.stderr
    assert "Traceback" not in done.stderr
    assert _processes_mentioning(str(workdir)) == []
