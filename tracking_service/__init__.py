"""The mlgrpc tracking service: experiments, runs, params, metrics, tags, artifacts, search."""
