"""`python -m scoring_service ...` is `mlgrpc models serve ...`."""

import sys

from scoring_service.cli import main

sys.exit(main(sys.argv[1:]))
