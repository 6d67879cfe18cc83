"""`python -m registry_service [flags]`: run the model-registry service."""

import sys

from registry_service.cli import main

sys.exit(main(sys.argv[1:]))
