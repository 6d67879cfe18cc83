"""One client of the kill -9 test, as its own process: logs `--count` metric values of one run
asynchronously, paced, then flushes and ends the run. Prints one JSON line: what it logged and
how many retries and replays its batches needed. Exits non-zero on any error."""

from __future__ import annotations

import argparse
import json
import logging
import time


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0
        self.replays = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.retries += "retrying in" in message
        self.replays += "a replay" in message


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--per-pause", type=int, default=500)
    parser.add_argument("--pause", type=float, default=0.02)
    args = parser.parse_args()

    import mlgrpc

    counter = _Counter()
    retry_logger = logging.getLogger("mlgrpc._batch_retry")
    retry_logger.setLevel(logging.INFO)
    retry_logger.addHandler(counter)
    client = mlgrpc.MlgrpcClient(args.uri)
    started = time.monotonic()
    timestamp = int(time.time() * 1000)
    for step in range(args.count):
        value, at = step * 0.5, timestamp + step
        client.log_metric(args.run_id, "loss", value, at, step, synchronous=False)
        if step % args.per_pause == args.per_pause - 1:
            time.sleep(args.pause)
    logged_at = time.monotonic() - started
    client.flush()  # acknowledged: every value above is written once this returns
    client.set_terminated(args.run_id)
    print(
        json.dumps(
            {
                "run_id": args.run_id,
                "logged": args.count,
                "seconds_logging": round(logged_at, 2),
                "seconds_total": round(time.monotonic() - started, 2),
                "retries": counter.retries,
                "replays": counter.replays,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
