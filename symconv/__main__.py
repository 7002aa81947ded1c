"""``python -m symconv``: the command line (:mod:`symconv.tools.cli`)."""

import sys

from symconv.tools.cli import main

sys.exit(main())
