"""``python -m terminal`` runs the ``payterm`` command."""

import sys

from terminal.cli import main

sys.exit(main())
