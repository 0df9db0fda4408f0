"""``hs-notebook``: the command-line face of hs_notebook (a thin shell over the public API).

One module per command group, all built on :mod:`hs_notebook.cli.base` (exit codes, the
one-line usage error, argument types, key loading):

- :mod:`~hs_notebook.cli.token_commands`: ``mint``, ``urls``, ``inspect-token``;
- :mod:`~hs_notebook.cli.qa_commands`: ``qa``, ``audit``;
- :mod:`~hs_notebook.cli.sandbox_commands`: ``sandbox``, ``demo``.

Exit codes: 0 ok, 1 a check failed (diagnosis or QA findings, a refused token, an origin
that failed or could not be reached), 2 usage or input error.  Errors are one clear line
on stderr, never a traceback.  ``hs-notebook``, ``python -m hs_notebook`` and
``python -m hs_notebook.cli`` all run :func:`main`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hs_notebook.cli import qa_commands, sandbox_commands, token_commands
from hs_notebook.cli.base import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Parser,
)
from hs_notebook.errors import HeapStreamError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``hs-notebook`` parser with every subcommand registered."""
    parser = Parser(
        prog=PROG,
        description="Mint HeapStream signed-URL tokens, build signed URLs, inspect tokens, "
        "check ladders, run the local sandbox origin.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    token_commands.register(sub)
    sandbox_commands.register(sub)
    qa_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hs-notebook`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HeapStreamError as exc:  # UsageError, MissingExtra, bad keys and ids, ...
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
