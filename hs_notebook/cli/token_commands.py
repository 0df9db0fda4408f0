"""The token subcommands of ``hs-notebook``: ``mint``, ``urls`` and ``inspect-token``
(thin shells over :mod:`hs_notebook.tokens`, :mod:`hs_notebook.urls` and
:func:`hs_notebook.diagnose`).  Exit codes as in :mod:`hs_notebook.cli.base`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from hs_notebook.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_key_args,
    load_key,
    positive_int,
    whole_int,
)
from hs_notebook.errors import HeapStreamError

if TYPE_CHECKING:
    import pandas as pd

    from hs_notebook.cli.base import Subparsers

__all__ = ["cmd_inspect_token", "cmd_mint", "cmd_urls", "print_url_table", "register"]


def print_url_table(table: pd.DataFrame) -> None:
    """A ``kind``/``url`` table (:meth:`HeapStream.signed_urls`) as aligned text lines."""
    width = max(len(k) for k in table["kind"])
    for row in table.itertuples():
        print(f"{row.kind:<{width}}  {row.url}")


def cmd_mint(args: argparse.Namespace) -> int:
    """``hs-notebook mint``: print a token for one video."""
    key = load_key(args)
    token = key.mint(args.video_id, args.ttl, not_before=args.nbf)
    if args.json:
        print(json.dumps({"token": str(token), "header": token.header, "claims": token.claims}))
    else:
        print(token)
    return EXIT_OK


def cmd_urls(args: argparse.Namespace) -> int:
    """``hs-notebook urls``: mint a token and print the signed URLs of one video."""
    from hs_notebook.urls import DEFAULT_BASE_URL, HeapStream

    key = load_key(args)
    hs = HeapStream(args.project_id, args.base_url or DEFAULT_BASE_URL)
    token = key.mint(args.video_id, args.ttl)
    table = hs.signed_urls(
        args.video_id,
        token,
        preset_ids=args.preset_id or (),
        poster_id=args.poster_id,
        text_track_ids=args.text_track_id or (),
        storyboard_id=args.storyboard_id,
    )
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        print_url_table(table)
    return EXIT_OK


def cmd_inspect_token(args: argparse.Namespace) -> int:
    """``hs-notebook inspect-token``: decode and diagnose a token (exit 1 on errors)."""
    from hs_notebook.diagnose import diagnose
    from hs_notebook.tokens import Token, decode_token, load_public_key

    public_key = None
    if args.public_key:
        try:
            public_key = load_public_key(Path(args.public_key).read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read {args.public_key}: {exc.strerror}") from None
    findings = diagnose(args.token, url=args.url, public_key=public_key)
    tok: Token | None
    try:
        tok = decode_token(args.token)
    except HeapStreamError:
        tok = None
    if args.json:
        print(
            json.dumps(
                {
                    "header": tok.header if tok else None,
                    "claims": tok.claims if tok else None,
                    "findings": [f.__dict__ for f in findings],
                },
                indent=2,
            )
        )
    else:
        if tok is not None:
            print("header:")
            for k, v in tok.header.items():
                print(f"  {k}: {json.dumps(v)}")
            print("claims:")
            for k, text in tok.describe_claims():
                print(f"  {k}: {text}")
        if findings:
            print("diagnosis:")
            for f in findings:
                print(f"  {f}")
        else:
            print("diagnosis: no problems found")
    return EXIT_FAILED if any(f.severity == "error" for f in findings) else EXIT_OK


def register(sub: Subparsers) -> None:
    """Add ``mint``, ``urls`` and ``inspect-token`` to the ``hs-notebook`` subparsers."""
    p = sub.add_parser("mint", help="mint a token for a video")
    p.add_argument("--video-id", required=True)
    add_key_args(p)
    p.add_argument("--ttl", type=positive_int, default=3600, help="seconds (default 3600)")
    p.add_argument("--nbf", type=whole_int, help="not-before, seconds relative to now (may be < 0)")
    p.add_argument("--json", action="store_true", help="print token, header and claims as JSON")
    p.set_defaults(func=cmd_mint)

    p = sub.add_parser("urls", help="mint a token and print the signed URLs of a video")
    p.add_argument("--project-id", required=True, type=whole_int)
    p.add_argument("--video-id", required=True)
    p.add_argument("--preset-id", action="append", help="repeat for several presets")
    p.add_argument("--poster-id")
    p.add_argument("--text-track-id", action="append")
    p.add_argument("--storyboard-id", type=whole_int)
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    add_key_args(p)
    p.add_argument("--ttl", type=positive_int, default=3600)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_urls)

    p = sub.add_parser("inspect-token", help="decode a token and diagnose it (exit 1 on problems)")
    p.add_argument("token")
    p.add_argument("--public-key", help="PEM file of the signing key's public half")
    p.add_argument("--url", help="the signed URL the token is used with")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect_token)
