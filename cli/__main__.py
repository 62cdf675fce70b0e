"""``python -m cli`` runs the ``kiln`` command."""

import sys

from cli.main import main

sys.exit(main())
