"""``python -m devhost``."""

from devhost.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
