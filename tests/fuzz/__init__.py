"""Contract fuzzing: every RPC of the four services, with requests generated from descriptors.

    .venv/bin/python -m pytest tests/fuzz -q                       # CI: 50 examples per RPC
    MLGRPC_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/fuzz -q   # a long local run

The number of cases run per service is printed at the end ("fuzz cases run"). A failure prints
the shrunk request and a `@reproduce_failure` blob.
"""
