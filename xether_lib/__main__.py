"""`python -m xether_lib`: the same as the `xether` console script."""

import sys

from xether_lib.cli import main

sys.exit(main())
