"""``python -m swan_jupyter.sandbox ...`` is ``swan-jupyter sandbox ...``."""

from __future__ import annotations

import sys

from .commands import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
