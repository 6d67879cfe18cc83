"""The `mlgrpc` command line."""
