"""``python -m intake.demo``: see :mod:`intake.demo.run`."""

import sys

from intake.demo.run import main

sys.exit(main())
