"""What every ``hs-notebook`` subcommand shares: the exit codes, the one-line usage error,
the parser class, argument types and the signing-key options.

Exit codes, decided here for every subcommand:

* :data:`EXIT_OK` (0): done, nothing to report.
* :data:`EXIT_FAILED` (1): a check failed: diagnosis or QA findings at the threshold, or
  the origin refused, did not have, or could not serve what was asked for.
* :data:`EXIT_USAGE` (2): usage or input error, before anything was checked: a bad
  argument, a missing or unreadable key or file, a missing extra
  (:class:`~hs_notebook.errors.MissingExtra`), any other
  :class:`~hs_notebook.errors.HeapStreamError`.

Errors are one line on stderr (``hs-notebook: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from hs_notebook import validate
from hs_notebook.errors import HeapStreamError, InvalidArgument

if TYPE_CHECKING:
    from hs_notebook.tokens import SigningKey

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "Parser",
    "UsageError",
    "add_key_args",
    "load_key",
    "one_line",
    "positive_int",
    "positive_seconds",
    "whole_int",
]

PROG = "hs-notebook"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: Ctrl-C: the shell convention 128 + SIGINT.
EXIT_INTERRUPTED = 130

_N = TypeVar("_N", int, float)


class UsageError(HeapStreamError):
    """A command line that cannot be run as given (exit 2, one line on stderr)."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        # argparse exits 2 on usage errors: keep that, as one line (no multi-line usage
        # block): what is wrong and where to look
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see: {self.prog} --help)\n")


if TYPE_CHECKING:
    #: What ``ArgumentParser.add_subparsers`` returns (argparse gives it no public name);
    #: each command module's ``register(sub)`` adds its subcommands to one of these.
    Subparsers = argparse._SubParsersAction[Parser]


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------- arg types


def whole_int(text: str) -> int:
    """argparse type: any whole number (``--project-id``, ``--nbf``, ports)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _checked(
    check: Callable[[str, Any], _N | None], value: _N, shown: str, must: str = "> 0"
) -> _N:
    """``value`` passed through a :mod:`hs_notebook.validate` checker, its failure turned
    into the ``ArgumentTypeError`` argparse reports as a usage error."""
    try:
        checked = check("the value", value)
    except InvalidArgument:
        raise argparse.ArgumentTypeError(f"must be {must}, got {shown}") from None
    assert checked is not None  # the checkers return None only when optional=True
    return checked


def positive_int(text: str) -> int:
    """argparse type: a whole number > 0 (``--ttl``, ``--concurrency``)."""
    value = whole_int(text)
    return _checked(validate.positive_int, value, str(value))


def positive_seconds(text: str) -> float:
    """argparse type: seconds > 0, finite (``--timeout``, ``--token-ttl``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    return _checked(validate.positive_seconds, value, text, "finite seconds > 0")


# ---------------------------------------------------------------------------- keys


def add_key_args(parser: argparse.ArgumentParser) -> None:
    """``--key-id`` and ``--key-file``, as :func:`load_key` reads them."""
    parser.add_argument("--key-id", help="signing key id (default: $HEAPSTREAM_SIGNING_KEY_ID)")
    parser.add_argument(
        "--key-file",
        type=Path,
        help="file with the private key, PEM or base64 PEM (default: $HEAPSTREAM_SIGNING_KEY)",
    )


def load_key(args: argparse.Namespace) -> SigningKey:
    """The signing key named by ``--key-id``/``--key-file`` or the environment.

    ``--key-file`` needs a key id (``--key-id`` or ``$HEAPSTREAM_SIGNING_KEY_ID``);
    ``--key-id`` alone reads the key from ``$HEAPSTREAM_SIGNING_KEY``; neither reads both
    from the environment (:meth:`SigningKey.from_env`).
    """
    from hs_notebook.env import ENV_KEY, ENV_KEY_ID, env_value
    from hs_notebook.tokens import SigningKey

    if getattr(args, "key_file", None):
        key_id = args.key_id or env_value(ENV_KEY_ID)
        if not key_id:
            raise UsageError(
                f"--key-file needs --key-id (or ${ENV_KEY_ID}): the id the HeapStream API "
                "gave the key"
            )
        return SigningKey.from_file(key_id, args.key_file)
    if getattr(args, "key_id", None):
        b64 = env_value(ENV_KEY)
        if not b64:
            raise UsageError(f"--key-id given without --key-file, and {ENV_KEY} is not set")
        return SigningKey.load(args.key_id, b64)
    return SigningKey.from_env()
