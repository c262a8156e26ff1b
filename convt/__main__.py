"""``python -m convt``: the same as the ``convt`` console script."""

import sys

from .cli import main

sys.exit(main())
