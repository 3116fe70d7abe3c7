"""``python -m procanom``: the same as the ``procanom`` command."""

import sys

from procanom.cli import main

sys.exit(main())
