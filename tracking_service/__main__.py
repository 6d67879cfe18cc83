"""`python -m tracking_service [flags]`: run the tracking service."""

import sys

from tracking_service.cli import main

sys.exit(main(sys.argv[1:]))
