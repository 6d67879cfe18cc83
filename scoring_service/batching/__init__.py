"""Optional adaptive batching of concurrent requests (`--max-batch-size`, `--max-batch-time`)."""
