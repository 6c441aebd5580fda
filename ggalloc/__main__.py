"""``python3 -m ggalloc plan SOURCE ...`` and ``python3 -m ggalloc demo``: see ggalloc.cli."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
