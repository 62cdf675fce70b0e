"""``python -m cli`` runs the ``kiln`` command (under the project's ``.venv`` when run without it)."""

import sys

from cli.project_env import ensure_project_python

ensure_project_python("cli")

from cli.main import main  # noqa: E402  (kiln's packages are importable only from here on)

sys.exit(main())
