"""``hs-notebook``: the command-line face of hs_notebook (a thin shell over the public API).

Exit codes: 0 ok, 1 a check failed (diagnosis or QA findings), 2 usage or input error.
Errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import HeapStreamError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors: keep that
        # one line on stderr (no multi-line usage block): what is wrong and where to look
        self.exit(EXIT_USAGE, f"hs-notebook: error: {message} (see: {self.prog} --help)\n")


def _load_key(args: argparse.Namespace) -> Any:
    from .tokens import SigningKey

    if getattr(args, "key_file", None):
        from .env import ENV_KEY_ID, env_value

        key_id = args.key_id or env_value(ENV_KEY_ID)
        if not key_id:
            raise _Usage(
                f"--key-file needs --key-id (or ${ENV_KEY_ID}): the id the HeapStream API "
                "gave the key"
            )
        return SigningKey.from_file(key_id, args.key_file)
    if getattr(args, "key_id", None):
        from .env import ENV_KEY, env_value

        b64 = env_value(ENV_KEY)
        if not b64:
            raise _Usage(f"--key-id given without --key-file, and {ENV_KEY} is not set")
        return SigningKey.load(args.key_id, b64)
    return SigningKey.from_env()


class _Usage(Exception):
    pass


def _add_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-id", help="signing key id (default: $HEAPSTREAM_SIGNING_KEY_ID)")
    p.add_argument(
        "--key-file",
        type=Path,
        help="file with the private key, PEM or base64 PEM (default: $HEAPSTREAM_SIGNING_KEY)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# ---------------------------------------------------------------------------- commands


def cmd_mint(args: argparse.Namespace) -> int:
    key = _load_key(args)
    token = key.mint(args.video_id, args.ttl, not_before=args.nbf)
    if args.json:
        print(json.dumps({"token": str(token), "header": token.header, "claims": token.claims}))
    else:
        print(token)
    return EXIT_OK


def cmd_urls(args: argparse.Namespace) -> int:
    from .urls import DEFAULT_BASE_URL, HeapStream

    key = _load_key(args)
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
        width = max(len(k) for k in table["kind"])
        for row in table.itertuples():
            print(f"{row.kind:<{width}}  {row.url}")
    return EXIT_OK


def cmd_inspect_token(args: argparse.Namespace) -> int:
    from .diagnose import diagnose
    from .tokens import decode_token, load_public_key

    public_key = None
    if args.public_key:
        try:
            public_key = load_public_key(Path(args.public_key).read_bytes())
        except OSError as exc:
            raise _Usage(f"cannot read {args.public_key}: {exc.strerror}") from None
    findings = diagnose(args.token, url=args.url, public_key=public_key)
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
            for k, v in tok.describe_claims():
                print(f"  {k}: {v}")
        if findings:
            print("diagnosis:")
            for f in findings:
                print(f"  {f}")
        else:
            print("diagnosis: no problems found")
    return EXIT_FAILED if any(f.severity == "error" for f in findings) else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job (what `make demo` runs): the Inspector app in Voilà over the sandbox.

    ``--print`` instead mints a token for a fresh key and prints the signed URLs and the
    embed HTML (no server, no browser)."""
    if not args.print:
        from .app_demo import main as app_main

        forwarded = ["--port", str(args.port)]
        if args.profile:
            forwarded += ["--profile", args.profile]
        return app_main(forwarded)
    from .tokens import generate_signing_key
    from .urls import HeapStream, embed_html

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
    width = max(len(k) for k in table["kind"])
    for row in table.itertuples():
        print(f"{row.kind:<{width}}  {row.url}")
    print()
    print(embed_html(hs.embed_url(args.video_id, token), width=640, height=360))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox.server import serve

    serve(host=args.host, port=args.port, profile=args.profile, catalog_size=args.catalog_size)
    return EXIT_OK


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hs-notebook",
        description="Mint HeapStream signed-URL tokens, build signed URLs, inspect tokens, "
        "run the local sandbox origin.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("mint", help="mint a token for a video")
    p.add_argument("--video-id", required=True)
    _add_key_args(p)
    p.add_argument("--ttl", type=_positive_int, default=3600, help="seconds (default 3600)")
    p.add_argument("--nbf", type=_int, help="not-before, seconds relative to now (may be < 0)")
    p.add_argument("--json", action="store_true", help="print token, header and claims as JSON")
    p.set_defaults(func=cmd_mint)

    p = sub.add_parser("urls", help="mint a token and print the signed URLs of a video")
    p.add_argument("--project-id", required=True, type=_int)
    p.add_argument("--video-id", required=True)
    p.add_argument("--preset-id", action="append", help="repeat for several presets")
    p.add_argument("--poster-id")
    p.add_argument("--text-track-id", action="append")
    p.add_argument("--storyboard-id", type=_int)
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    _add_key_args(p)
    p.add_argument("--ttl", type=_positive_int, default=3600)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_urls)

    p = sub.add_parser("inspect-token", help="decode a token and diagnose it (exit 1 on problems)")
    p.add_argument("token")
    p.add_argument("--public-key", help="PEM file of the signing key's public half")
    p.add_argument("--url", help="the signed URL the token is used with")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect_token)

    p = sub.add_parser("sandbox", help="run the local HeapStream-compatible sandbox origin")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_int, default=8765)
    p.add_argument("--profile", default="demo", choices=["demo", "tiny"])
    p.add_argument("--catalog-size", type=_int, default=0)
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("demo", help="the main job on built-in data (what `make demo` runs)")
    p.add_argument("--project-id", type=_int, default=1)
    p.add_argument("--video-id", default="v-demo")
    p.add_argument("--base-url", default="https://app.heapstream.com")
    p.add_argument(
        "--print", action="store_true", help="print a token, signed URLs and embed HTML only"
    )
    p.add_argument("--port", type=_int, default=8866, help="Voilà port (default 8866 or free)")
    p.add_argument("--profile", choices=["demo", "tiny"], help="sandbox media profile")
    p.set_defaults(func=cmd_demo)

    from .cli_qa import register as register_qa  # qa and audit live beside their modules

    register_qa(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except _Usage as exc:
        print(f"hs-notebook: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HeapStreamError as exc:
        print(f"hs-notebook: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    # `python -m hs_notebook.cli`: run the imported module's main, not this __main__ copy,
    # so the exception classes the subcommand modules import are the ones caught here
    from hs_notebook.cli import main as _main

    sys.exit(_main())
