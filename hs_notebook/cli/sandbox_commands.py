"""The local subcommands of ``hs-notebook``: ``sandbox`` (serve the sandbox origin) and
``demo`` (the Inspector app in Voilà over the sandbox, or ``--print`` for a token, the
signed URLs and the embed HTML).  Exit codes as in :mod:`hs_notebook.cli.base`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from hs_notebook.cli.base import EXIT_OK, whole_int
from hs_notebook.cli.token_commands import print_url_table

if TYPE_CHECKING:
    from hs_notebook.cli.base import Subparsers

__all__ = ["PROFILES", "cmd_demo", "cmd_sandbox", "register"]

#: The sandbox media profiles (``hs_notebook.sandbox.media``).
PROFILES = ("demo", "tiny")


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job (what `make demo` runs): the Inspector app in Voilà over the sandbox.

    ``--print`` instead mints a token for a fresh key and prints the signed URLs and the
    embed HTML (no server, no browser)."""
    if not args.print:
        from hs_notebook.app_demo import main as app_main

        forwarded = ["--port", str(args.port)]
        if args.profile:
            forwarded += ["--profile", args.profile]
        return app_main(forwarded)
    from hs_notebook.tokens import generate_signing_key
    from hs_notebook.urls import HeapStream, embed_html

    key = generate_signing_key("demo-key")
    hs = HeapStream(args.project_id, args.base_url)
    token = key.mint(args.video_id, 3600)
    print(f"signing key: {key}  (freshly generated; its private half is never printed)")
    print(f"token:       {token!r}")
    print(f"header:      {json.dumps(token.header)}")
    print(f"claims:      {json.dumps(token.claims)}")
    print()
    table = hs.signed_urls(
        args.video_id,
        token,
        preset_ids=["demo-360p", "demo-1080p"],
        poster_id="demo-poster",
        text_track_ids=["demo-en"],
        storyboard_id=1,
    )
    print_url_table(table)
    print()
    print(embed_html(hs.embed_url(args.video_id, token), width=640, height=360))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    """``hs-notebook sandbox``: serve the sandbox origin until Ctrl-C."""
    from hs_notebook.sandbox import serve  # MissingExtra (exit 2) without [sandbox]

    serve(host=args.host, port=args.port, profile=args.profile, catalog_size=args.catalog_size)
    return EXIT_OK


def register(sub: Subparsers) -> None:
    """Add ``sandbox`` and ``demo`` to the ``hs-notebook`` subparsers."""
    p = sub.add_parser("sandbox", help="run the local HeapStream-compatible sandbox origin")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=whole_int, default=8765)
    p.add_argument("--profile", default="demo", choices=PROFILES)
    p.add_argument("--catalog-size", type=whole_int, default=0)
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("demo", help="the main job on built-in data (what `make demo` runs)")
    p.add_argument("--project-id", type=whole_int, default=1)
    p.add_argument("--video-id", default="v-demo")
    p.add_argument("--base-url", default="https://app.heapstream.com")
    p.add_argument(
        "--print", action="store_true", help="print a token, signed URLs and embed HTML only"
    )
    p.add_argument("--port", type=whole_int, default=8866, help="Voilà port (default 8866 or free)")
    p.add_argument("--profile", choices=PROFILES, help="sandbox media profile")
    p.set_defaults(func=cmd_demo)
