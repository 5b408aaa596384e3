"""``python -m kd run|compare`` (see :mod:`kd.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
