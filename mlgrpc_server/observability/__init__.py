"""Metrics, request ids and structured logs for the three services.

Kept import-light on purpose: servicers import `request_context.note_model` on their hot path
and the scoring service must not pay for prometheus_client unless metrics are on. Import the
submodules directly:

- `request_context`: the per-call request id (contextvar) and the model that answered;
- `interceptor` / `aio_interceptor`: the server interceptors that set both and record metrics;
- `metrics`: the Prometheus metrics of one server and its HTTP endpoint;
- `logs`: text or JSON log lines that carry the request id;
- `flags`: the `--metrics-port` / `--log-format` command-line options.
"""
