"""A RUNNING run's page follows it: a metric logged by a running script shows without a reload,
within the 2 s the UI promises (the stream polls every 0.5 s)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import mlgrpc

#: A training script that logs one more metric each time a line arrives on its stdin.
SCRIPT = textwrap.dedent(
    """
    import sys
    import mlgrpc
    client = mlgrpc.MlgrpcClient(sys.argv[1])
    run = client.create_run(client.create_experiment("live"), run_name="live-run")
    client.log_metric(run.info.run_id, "loss", 1.0, step=0, synchronous=True)
    print(run.info.run_id, flush=True)
    for step, line in enumerate(sys.stdin, start=1):
        client.log_metric(run.info.run_id, line.strip(), 1.0 / (step + 1), step=step,
                          synchronous=True)
        print("logged", flush=True)
    client.set_terminated(run.info.run_id)
    """
)


def test_a_metric_logged_by_a_running_script_appears_without_reload(
    page: Any, ui_url: str, tracking_server: str, screenshots: Path
) -> None:
    script = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, f"grpc://{tracking_server}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert script.stdin is not None and script.stdout is not None
        run_id = script.stdout.readline().strip()
        page.goto(f"{ui_url}/#/runs/{run_id}")
        page.locator("#charts .uplot").wait_for()
        page.evaluate("window.__notReloaded = true")

        script.stdin.write("val_loss\n")
        script.stdin.flush()
        assert script.stdout.readline().strip() == "logged"
        page.locator("#latest-metrics tr[data-metric='val_loss']").wait_for(timeout=2000)
        page.locator("#charts [data-metric='val_loss'] .uplot").wait_for(timeout=2000)
        assert page.evaluate("window.__notReloaded") is True
        page.screenshot(path=screenshots / "live-run.png", full_page=True)

        script.stdin.close()
        assert script.wait(timeout=30) == 0
        page.locator("#run-status", has_text="FINISHED").wait_for(timeout=2000)
    finally:
        script.kill()
        script.wait()
    assert mlgrpc.MlgrpcClient(f"grpc://{tracking_server}").get_run(run_id).info.status == (
        "FINISHED"
    )
