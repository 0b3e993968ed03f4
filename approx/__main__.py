"""``python -m approx`` is the ``approx`` command."""

import sys

from approx.cli import main

sys.exit(main())
