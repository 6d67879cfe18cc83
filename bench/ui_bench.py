"""Web UI benchmark (issue #15, "Speed"): the runs table, paging and a long chart in chromium,
beside the gRPC call that fetches the same data, one sitting.

    PYTHONPATH=client:. .venv/bin/python -m bench.ui_bench [--quick] [--runs 10000]

A tracking service (subprocess, SQLite in a temp dir unless --db-uri) and the gateway
(`python -m gateway`, subprocess) hold one experiment of --runs runs with 20 metrics and 3
params each, and one run with a metric of 100,000 points. Headless chromium (/usr/bin/chromium,
Playwright) then measures:
  G  SearchRuns over gRPC for the runs table's first page (50 runs, the table's order), from
     this process, right before each U and each F: the floor the table is measured against
  U  the runs table's first page drawn: from clicking a link to it (on a light page) to the
     page's own `mlgrpc:runs-table` performance mark, made once the rows are in the DOM (the
     HTTP calls + building the rows), median of --repeat; G is the same request (no filter,
     the default order); U/G is the median of each draw over the gRPC call made just before
  F  the same page fetched and parsed by the page (fetch + JSON, nothing drawn): the part of U
     that is HTTP, the gateway and the browser's network stack
  A  the same page asked as the page asks for it (gateway/ui/static/api.js: a message on the
     UI's WebSocket channel once it is open), nothing drawn: the part of U before any row
  U' the same until the frame after that mark has been drawn (style, layout, paint, and the
     wait for the next of chromium's 60 frames a second)
  U/G  their ratio (target ≤ 2)
  P  paging through every page with "Next": the longest main-thread task seen by the
     Performance API's `longtask` observer (target: none over 100 ms)
  C  the 100,000-point metric on a chart: fetching /ui/api/metric-history (server-side min/max
     buckets) and drawing it, script time of the draw (target < 200 ms); and uPlot drawing all
     100,000 raw points, for scale
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from bench.scoring_bench import free_port, stop
from mlgrpc.entities import Metric, Param
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

CHROMIUM = "/usr/bin/chromium"
PAGE_SIZE = 50  # the runs table's page (gateway/ui/static/views/runs.js)
METRICS_PER_RUN = 20
CHART_POINTS = 100_000


def start_services(db_uri: str, artifacts: str) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    tracking_port, gateway_port = free_port(), free_port()
    tracking = subprocess.Popen(
        [sys.executable, "-m", "tracking_service", "--backend-store-uri", db_uri,
         "--default-artifact-root", artifacts, "--port", str(tracking_port),
         "--log-level", "WARNING"],
    )  # fmt: skip
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--tracking-address", f"127.0.0.1:{tracking_port}",
         "--port", str(gateway_port), "--log-level", "WARNING"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{gateway_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/api/2.0/mlflow/experiments/get?experiment_id=0")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the services did not start") from None
            time.sleep(0.2)
    return [gateway, tracking], f"127.0.0.1:{tracking_port}", url


def seed(address: str, runs: int) -> tuple[str, str]:
    """The experiment of `runs` runs, and the run with the long metric."""
    import mlgrpc

    client = mlgrpc.MlgrpcClient(address)
    experiment_id = client.create_experiment(f"ui-bench-{os.getpid()}")

    def one(i: int) -> None:
        run = client.create_run(experiment_id, run_name=f"run-{i:05d}")
        params = [Param("alpha", str(i % 10 / 10)), Param("l1", str(i % 3)), Param("seed", str(i))]
        metrics = [Metric(f"m{k:02d}", (i * 7 + k) % 101 / 100, 1_700_000_000_000 + i, 0)
                   for k in range(METRICS_PER_RUN)]  # fmt: skip
        client.log_batch(run.info.run_id, metrics=metrics, params=params, synchronous=True)
        client.set_terminated(run.info.run_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(runs)))
    print(
        f"seeded {runs} runs x {METRICS_PER_RUN} metrics in {time.perf_counter() - started:.1f} s"
    )
    long_run = client.create_run(client.create_experiment(f"ui-bench-chart-{os.getpid()}"))
    points = [Metric("loss", 1 / (1 + s / 1000) + (s % 97) / 1000, 1_700_000_000_000 + s, s)
              for s in range(CHART_POINTS)]  # fmt: skip
    client.log_batch(long_run.info.run_id, metrics=points, synchronous=True)
    return experiment_id, long_run.info.run_id


class FirstPageCall:
    """SearchRuns over gRPC with the request the runs page makes for its first page (no filter,
    the default order), on one warm channel: G, timed right before each U and F."""

    def __init__(self, address: str, experiment_id: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.TrackingServiceStub(self._channel)
        self._request = pb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=PAGE_SIZE)
        self._stub.SearchRuns(self._request)  # warm

    def __call__(self) -> float:
        started = time.perf_counter()
        self._stub.SearchRuns(self._request)
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self._channel.close()


#: From a light page (the "no such page" view), clicks a link to the runs page and resolves with the
#: milliseconds until (a) the page's own `mlgrpc:runs-table` mark, made right after the rows are
#: in the DOM, and (b) the end of the next animation frame after it (style, layout and paint
#: done, and the wait for that frame).
DRAW_TABLE = """async (hash) => {
  location.hash = '#/bench-blank';
  // A link to the runs page, clicked as a person clicks one on the experiments list.
  const link = document.createElement('a');
  link.href = hash;
  link.textContent = 'runs';
  document.getElementById('view').append(link);
  // Two frames: the blank page and its link are drawn (their paint is not the table's) before
  // the clock starts; then a task of its own, as an input event is (not inside a frame's
  // callbacks, where the click would be followed by that frame's style, layout and paint).
  await new Promise(requestAnimationFrame);
  await new Promise(requestAnimationFrame);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Waiting on an observer, not polling frames: a frame loop would compete with the page.
  let started;
  const rows = await new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.name === 'mlgrpc:runs-table' && entry.startTime >= started) {
          observer.disconnect();
          resolve(entry.startTime);
        }
      }
    });
    observer.observe({ type: 'mark' });
    started = performance.now();
    link.click();
  });
  // The first frame callback runs before its frame's style, layout and paint; the next one
  // after them.
  await new Promise(requestAnimationFrame);
  await new Promise(requestAnimationFrame);
  const painted = performance.now();
  if (!document.querySelector('#runs tbody tr')) throw new Error('no rows drawn');
  return [rows - started, painted - started];
}"""

#: The same page fetched and parsed by the page, nothing drawn: the browser's own floor for U.
FETCH_PAGE = """async ([experimentId, pageSize]) => {
  const body = JSON.stringify({ experiment_ids: [experimentId], filter: '', max_results: pageSize,
    page_token: '', order_by: [] });
  const started = performance.now();
  const answer = await fetch('/ui/api/runs/search', { method: 'POST', body,
    headers: { 'Content-Type': 'application/json' } });
  await answer.json();
  return performance.now() - started;
}"""

#: The same page asked the way the page asks it (gateway/ui/static/api.js: over the UI's
#: WebSocket channel once it is open), nothing drawn.
ASK_PAGE = """async ([experimentId, pageSize]) => {
  const { ui } = await import('/ui/static/api.js');
  const body = { experiment_ids: [experimentId], filter: '', max_results: pageSize,
    page_token: '', order_by: [] };
  const started = performance.now();
  await ui.post('runs/search', body);
  return performance.now() - started;
}"""

LONG_TASKS = """() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
}"""

#: Fetch and draw one chart in the page, timing each part; then 100,000 raw points, for scale.
CHART = """async ([runId, points]) => {
  const { lineChart } = await import('/ui/static/charts.js');
  const holder = document.createElement('div');
  holder.style.width = '900px';
  document.body.append(holder);
  const t0 = performance.now();
  const query = `run_id=${runId}&key=loss&points=1800`;
  const s = await (await fetch(`/ui/api/metric-history?${query}`)).json();
  const t1 = performance.now();
  lineChart(holder, [{ label: 'loss', ...s }], { width: 900 });
  const t2 = performance.now();
  const raw = { label: 'raw', steps: [], timestamps: [], values: [] };
  for (let i = 0; i < points; i++) {
    raw.steps.push(i); raw.timestamps.push(i); raw.values.push(Math.sin(i / 500));
  }
  const t3 = performance.now();
  lineChart(holder, [raw], { width: 900 });
  const t4 = performance.now();
  return { fetch: t1 - t0, draw: t2 - t1, drawn: s.steps.length, total: s.total, raw: t4 - t3 };
}"""


def browser_figures(
    url: str, experiment_id: str, chart_run: str, repeat: int, grpc_call: FirstPageCall
) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium's own frame pacing (60 frames a second), as a person's browser draws.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # Not the experiments list: its run counts read all 10,000 runs, in the services that the
        # draws below are timed against.
        page.goto(url + "/#/bench-blank")
        page.get_by_text("No such page").wait_for()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        # G, U and F in turn, so that each ratio compares calls made within a second of each
        # other on this shared machine, whose speed changes from one minute to the next.
        grpc_for_draws, draws, costs, grpc_for_fetches, fetches = [], [], [], [], []
        grpc_for_asks, asks = [], []
        for _ in range(repeat + 1):
            grpc_for_draws.append(grpc_call())
            # The page a person opens from the experiments list; the UI caches no answer, and
            # the blank page between draws leaves no table to reuse.
            before = _renderer_seconds(cdp)
            draws.append(page.evaluate(DRAW_TABLE, f"#/experiments/{experiment_id}"))
            after = _renderer_seconds(cdp)
            costs.append({k: (after[k] - before[k]) * 1000 for k in after})
            grpc_for_fetches.append(grpc_call())
            fetches.append(page.evaluate(FETCH_PAGE, [experiment_id, PAGE_SIZE]))
            grpc_for_asks.append(grpc_call())
            asks.append(page.evaluate(ASK_PAGE, [experiment_id, PAGE_SIZE]))
        # The first of each warms the modules and the connection.
        grpc_for_draws, draws, costs = grpc_for_draws[1:], draws[1:], costs[1:]
        grpc_for_fetches, fetches = grpc_for_fetches[1:], fetches[1:]
        grpc_for_asks, asks = grpc_for_asks[1:], asks[1:]

        page.evaluate(LONG_TASKS)
        pages = 1
        started = time.perf_counter()
        while page.locator("#next-page").is_enabled():
            before = page.locator("#runs tbody tr").first.get_attribute("data-run")
            page.click("#next-page")
            page.wait_for_function(
                "b => document.querySelector('#runs tbody tr')?.dataset.run !== b", arg=before
            )
            pages += 1
        paging_s = time.perf_counter() - started
        long_tasks = page.evaluate("window.__longTasks")

        chart = page.evaluate(CHART, [chart_run, CHART_POINTS])
        browser.close()
    return {"draws": draws, "costs": costs, "fetches": fetches, "pages": pages,
            "grpc_for_draws": grpc_for_draws, "grpc_for_fetches": grpc_for_fetches,
            "asks": asks, "grpc_for_asks": grpc_for_asks,
            "paging_s": paging_s, "long_tasks": long_tasks, "chart": chart}  # fmt: skip


#: Chromium's main-thread time by kind (CDP Performance.getMetrics), seconds so far.
RENDERER_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def _renderer_seconds(cdp: object) -> dict[str, float]:
    metrics = cdp.send("Performance.getMetrics")["metrics"]  # type: ignore[attr-defined]
    return {m["name"]: m["value"] for m in metrics if m["name"] in RENDERER_METRICS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 5 repeats")
    parser.add_argument("--db-uri", help="the tracking database (default: SQLite in a temp dir)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.repeat = 1000, 5
    with tempfile.TemporaryDirectory(prefix="mlgrpc-ui-bench-") as tmp:
        db_uri = args.db_uri or f"sqlite:///{Path(tmp) / 'mlgrpc.db'}"
        processes, address, url = start_services(db_uri, str(Path(tmp) / "artifacts"))
        try:
            experiment_id, chart_run = seed(address, args.runs)
            grpc_call = FirstPageCall(address, experiment_id)
            figures = browser_figures(url, experiment_id, chart_run, args.repeat, grpc_call)
            grpc_call.close()
        finally:
            for process in processes:
                stop(process)
    g_list = figures["grpc_for_draws"]
    g = statistics.median(g_list)
    u = statistics.median(d[0] for d in figures["draws"])
    u_painted = statistics.median(d[1] for d in figures["draws"])
    f = statistics.median(figures["fetches"])
    # Ratios of each pair (the gRPC call right before it), then their median.
    u_ratio = statistics.median(d[0] / gi for d, gi in zip(figures["draws"], g_list, strict=True))
    u_painted_ratio = statistics.median(
        d[1] / gi for d, gi in zip(figures["draws"], g_list, strict=True)
    )
    f_ratio = statistics.median(
        fi / gi for fi, gi in zip(figures["fetches"], figures["grpc_for_fetches"], strict=True)
    )
    a = statistics.median(figures["asks"])
    a_ratio = statistics.median(
        ai / gi for ai, gi in zip(figures["asks"], figures["grpc_for_asks"], strict=True)
    )
    longest = max(figures["long_tasks"], default=0.0)
    chart = figures["chart"]
    print(f"\n{args.runs} runs x {METRICS_PER_RUN} metrics, page of {PAGE_SIZE}, "
          f"median of {args.repeat}")  # fmt: skip
    rows = [
        ("G SearchRuns gRPC, first page", f"{g:.1f} ms", ""),
        ("U runs table first page: rows in the DOM", f"{u:.1f} ms", ""),
        ("U/G (median of each draw / its gRPC call)", f"{u_ratio:.2f}", "<= 2"),
        ("U' the same, next frame done (style, layout, paint)", f"{u_painted:.1f} ms", ""),
        ("U'/G", f"{u_painted_ratio:.2f}", ""),
        ("F the same page fetched by the page, not drawn", f"{f:.1f} ms", ""),
        ("F/G", f"{f_ratio:.2f}", ""),
        ("A the same page asked as the page asks (channel)", f"{a:.1f} ms", ""),
        ("A/G (the browser's floor for U/G)", f"{a_ratio:.2f}", ""),
        ("U main thread: all / script / layout / style", " / ".join(
            f"{statistics.median(c[k] for c in figures['costs']):.1f}" for k in RENDERER_METRICS
        ) + " ms", ""),
        (f"P paging {figures['pages']} pages: longest task", f"{longest:.0f} ms "
         f"({len(figures['long_tasks'])} tasks > 50 ms, {figures['paging_s']:.1f} s)", "<= 100 ms"),
        (f"C {chart['total']}-point chart: fetch", f"{chart['fetch']:.1f} ms", ""),
        (f"C draw ({chart['drawn']} points after min/max buckets)", f"{chart['draw']:.1f} ms",
         "< 200 ms"),
        (f"C draw of {CHART_POINTS} raw points in uPlot", f"{chart['raw']:.1f} ms", ""),
    ]  # fmt: skip
    for name, value, target in rows:
        print(f"{name:<52} {value:<36} {target}")
    if args.json:
        figures_json = {"grpc_ms": g, "ui_ms": u, "ui_painted_ms": u_painted, "fetch_ms": f,
                        "ui_ratio": u_ratio, "ui_painted_ratio": u_painted_ratio,
                        "fetch_ratio": f_ratio, "ask_ms": a, "ask_ratio": a_ratio}  # fmt: skip
        print(json.dumps({**figures_json, "longest_task_ms": longest, **chart}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
