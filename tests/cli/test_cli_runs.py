"""`mlgrpc runs list|describe|compare` against real services."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from mlgrpc import MlgrpcClient
from mlgrpc.entities import Dataset, DatasetInput

if TYPE_CHECKING:
    from conftest import Cli, Seeded


def test_list_json_holds_the_runs_of_the_experiment(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "list", "--experiment", seeded.experiment_name, "--output", "json")
    assert result.code == 0, result.err
    runs = result.json()
    assert {r["info"]["run_id"] for r in runs} == set(seeded.run_ids)
    assert all(r["data"]["params"]["l1_ratio"] == "0.5" for r in runs)


def test_list_filter_and_order_by_reach_the_server(cli: Cli, seeded: Seeded) -> None:
    result = cli(
        "runs", "list", "-e", seeded.experiment_name, "--filter", "params.alpha = '0.7'",
        "-O", "json",
    )  # fmt: skip
    assert [r["info"]["run_id"] for r in result.json()] == [seeded.run_ids[1]]
    ordered = cli(
        "runs", "list", "-e", seeded.experiment_name, "--order-by", "metrics.r2 DESC", "-O", "json"
    )
    assert [r["info"]["run_id"] for r in ordered.json()] == [seeded.run_ids[1], seeded.run_ids[0]]


def test_list_max_results_limits_the_runs(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "list", "-e", seeded.experiment_name, "--max-results", "1", "-O", "json")
    assert len(result.json()) == 1


def test_list_table_shows_run_ids_and_metric_columns(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "list", "-e", seeded.experiment_name)
    assert result.code == 0
    assert seeded.run_ids[0] in result.out
    assert "rmse" in result.out


def test_bad_filter_is_the_servers_message_with_the_position(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "list", "-e", seeded.experiment_name, "--filter", "metrics.rmse <")
    assert result.code != 0
    assert "invalid filter" in result.err
    assert "character" in result.err
    assert "Traceback" not in result.err


def test_list_of_unknown_experiment_says_not_found(cli: Cli) -> None:
    result = cli("runs", "list", "-e", "no-such-experiment")
    assert result.code != 0
    assert "experiment 'no-such-experiment' not found" in result.err


def test_describe_json_has_params_metrics_tags_and_artifacts(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "describe", seeded.run_ids[0], "--output", "json")
    assert result.code == 0, result.err
    described = result.json()
    assert described["run"]["data"]["params"] == {"alpha": "0.5", "l1_ratio": "0.5"}
    assert described["run"]["data"]["metrics"]["rmse"] == 0.2
    assert described["run"]["data"]["tags"]["team"] == "cli"
    assert {"path": "model/MLmodel", "is_dir": False, "file_size": 12} in described["artifacts"]


def test_describe_table_lists_every_section(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "describe", seeded.run_ids[0])
    for text in ("params", "alpha", "metrics (latest)", "rmse", "tags", "team", "model/MLmodel"):
        assert text in result.out


def test_describe_of_unknown_run_says_run_not_found(cli: Cli) -> None:
    result = cli("runs", "describe", "0123456789abcdef0123456789abcdef")
    assert result.code != 0
    assert result.err.strip() == (
        "mlgrpc runs describe: run 0123456789abcdef0123456789abcdef not found"
    )


def test_compare_json_marks_the_differing_values(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "compare", *seeded.run_ids, "-O", "json")
    assert result.code == 0, result.err
    rows = {(row["kind"], row["key"]): row for row in result.json()}
    assert rows[("param", "alpha")]["differs"] is True
    assert rows[("param", "alpha")]["values"] == {
        seeded.run_ids[0]: "0.5",
        seeded.run_ids[1]: "0.7",
    }
    assert rows[("param", "l1_ratio")]["differs"] is False
    assert rows[("metric", "r2")]["differs"] is True


def test_compare_table_flags_differing_rows(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "compare", *seeded.run_ids)
    alpha_line = next(line for line in result.out.splitlines() if " alpha " in line)
    ratio_line = next(line for line in result.out.splitlines() if " l1_ratio " in line)
    assert alpha_line.strip().startswith("*")
    assert not ratio_line.strip().startswith("*")


def test_compare_with_an_unknown_run_says_which(cli: Cli, seeded: Seeded) -> None:
    result = cli("runs", "compare", seeded.run_ids[0], "ffffffffffffffffffffffffffffffff")
    assert result.code != 0
    assert "run ffffffffffffffffffffffffffffffff not found" in result.err


def test_json_output_is_strict_json_even_for_nan_metrics(cli: Cli, tracking_server: str) -> None:
    import json

    from mlgrpc.client import MlgrpcClient

    client = MlgrpcClient(tracking_server)
    run_id = client.create_run("0").info.run_id  # not in the seeded experiment: lists stay put
    client.log_metric(run_id, "loss", float("nan"))
    result = cli("runs", "describe", run_id, "-O", "json")

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    described = json.loads(result.out, parse_constant=refuse)
    assert described["run"]["data"]["metrics"]["loss"] == "NaN"


def test_describe_shows_the_runs_datasets_and_logged_models(cli: Cli, tracking_server: str) -> None:
    client = MlgrpcClient(tracking_server)
    experiment_id = client.create_experiment(f"cli-io-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id
    wine = Dataset("wine-quality", "3f2a9c1d", "local", '{"uri": "wine-quality.csv"}')
    client.log_inputs(run_id, [DatasetInput(wine, {"mlflow.data.context": "training"})])
    model = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    client.log_outputs(run_id, {model.model_id: 3})

    described = cli("runs", "describe", run_id, "--output", "json").json()["run"]
    assert described["inputs"]["dataset_inputs"] == [
        {
            "dataset": {
                "name": "wine-quality",
                "digest": "3f2a9c1d",
                "source_type": "local",
                "source": '{"uri": "wine-quality.csv"}',
                "schema": "",
                "profile": "",
            },
            "tags": {"mlflow.data.context": "training"},
        }
    ]
    assert described["outputs"]["model_outputs"] == [{"model_id": model.model_id, "step": 3}]

    table = cli("runs", "describe", run_id).out
    for text in ("datasets (inputs)", "wine-quality", "training", "logged models", "output"):
        assert text in table
    assert model.model_id in table
