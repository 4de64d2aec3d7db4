"""``python -m legnumb.cli``: the same as the ``legnumb`` console script."""

import sys

from legnumb.cli.main import main

sys.exit(main())
