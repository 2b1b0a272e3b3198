"""``python -m srcgrad``: the ``srcgrad`` command (:mod:`srcgrad.cli`)."""

import sys

from srcgrad.cli import main

sys.exit(main())
