"""One client of the synchronous kill -9 test, as its own process: an ordinary training loop
(`log_metric`, `set_tag`, `log_param`, `log_metrics` every step, synchronous) through the fluent
API, then `end_run`. Prints one JSON line: what it logged and how many retries it needed. Any
exception ends it non-zero."""

from __future__ import annotations

import argparse
import json
import logging
import time


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.retries += "retrying in" in record.getMessage()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--pause", type=float, default=0.005)
    args = parser.parse_args()

    import mlgrpc

    counter = _Counter()
    retry_logger = logging.getLogger("mlgrpc._batch_retry")
    retry_logger.setLevel(logging.INFO)
    retry_logger.addHandler(counter)
    mlgrpc.set_tracking_uri(args.uri)
    mlgrpc.start_run(run_id=args.run_id)
    for step in range(args.count):
        mlgrpc.log_metric("loss", step * 0.5, step=step, synchronous=True)
        mlgrpc.set_tag("last_step", step, synchronous=True)
        mlgrpc.log_param(f"p{step}", step, synchronous=True)
        mlgrpc.log_metrics({"acc": step * 0.25}, step=step, synchronous=True)
        time.sleep(args.pause)
    mlgrpc.end_run()
    print(json.dumps({"logged": args.count, "retries": counter.retries}), flush=True)


if __name__ == "__main__":
    main()
