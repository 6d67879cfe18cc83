"""`mlgrpc --help` and the routing of the inspection commands."""

from __future__ import annotations

import pytest

from mlgrpc.cli.main import main


def test_help_lists_the_inspection_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("experiments", "runs", "metrics", "artifacts", "models", "demo"):
        assert f"\n  {command} " in out


def test_models_serve_still_routes_to_the_scoring_service(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["models", "serve", "--help"])
    assert exited.value.code == 0
    assert "mlgrpc models serve" in capsys.readouterr().out


def test_runs_help_names_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["runs", "--help"])
    out = capsys.readouterr().out
    assert "describe" in out and "compare" in out and "--output" in out
