"""``python -m hs_notebook.cli``: the same as the ``hs-notebook`` command."""

import sys

from hs_notebook.cli import main

sys.exit(main())
