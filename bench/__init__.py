"""Benchmarks of the mlgrpc services; each prints a table of figures against targets."""
