"""``python -m hs_notebook``: the same as the ``hs-notebook`` command."""

import sys

from hs_notebook.cli import main

sys.exit(main())
