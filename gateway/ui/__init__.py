"""The web UI the gateway serves at `/`: static ES modules (no build step, uPlot vendored) and
the few `/ui/api/…` routes the pages need beyond MLflow's REST endpoints (docs/webui.md)."""
