"""The ``qa`` and ``audit`` subcommands of ``hs-notebook`` (thin shells over
:func:`hs_notebook.qa.qa` and :func:`hs_notebook.catalog.audit`).

:func:`hs_notebook.cli.build_parser` adds them with :func:`register`.

``hs-notebook qa VIDEO_ID|MASTER_URL [--project-id N --base-url URL] [--json]
[--fail-on warning|error] [--no-measure]``
    Inspect one ladder and check it.  A signed master URL (``/mmpl/...?token=``) needs no
    key; a video id needs ``--project-id`` and a key (``$HEAPSTREAM_SIGNING_KEY_ID`` and
    ``$HEAPSTREAM_SIGNING_KEY``, or ``--key-id``/``--key-file`` as for ``mint``).

``hs-notebook audit --ids FILE --out results.parquet --project-id N [--concurrency N]
[--measure] [--engine dask [--scheduler ADDR]] [--fail-on warning|error]``
    Audit every id of FILE (one per line; blank lines and ``#`` comments ignored; ``-``
    reads stdin), saving and resuming as :func:`hs_notebook.catalog.audit` does.

Exit codes: 0 when nothing reaches the ``--fail-on`` threshold (default ``error``), 1 when
something does (for ``audit``, also any video refused, not found or failed), 2 on usage
or input errors (a bad argument, a missing key, a refused token for ``qa``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hs_notebook import cli as _cli
from hs_notebook.cli import EXIT_FAILED, EXIT_OK, _add_key_args, _load_key, _positive_int, _Usage

__all__ = ["cmd_audit", "cmd_qa", "register"]

_FAIL_ON = ("error", "warning")


# ---------------------------------------------------------------------------- qa


def cmd_qa(args: argparse.Namespace) -> int:
    """``hs-notebook qa``: one ladder, every rule."""
    from hs_notebook.client import redact
    from hs_notebook.ladder import inspect, inspect_url
    from hs_notebook.qa import qa

    target: str = args.target
    if target.startswith(("http://", "https://")):
        if args.project_id is not None:
            raise _Usage("--project-id is for a video id; a master URL already names it")
        ladder = inspect_url(target)
        shown = redact(target)
    else:
        if args.project_id is None:
            raise _Usage("a video id needs --project-id (or give the signed master playlist URL)")
        key = _load_key(args)
        ladder = inspect(target, key, args.project_id, args.base_url, ttl=args.ttl)
        shown = target
    findings = qa(ladder, measure=not args.no_measure)
    if args.json:
        print(json.dumps({"target": shown, **findings.to_dict()}, indent=2))
    else:
        print(f"{shown}: {ladder.summary()}")
        print(findings.summary)
        for row in findings.table.itertuples(index=False):
            extra = ""
            if row.measured or row.expected:
                extra = f" [measured {row.measured or '-'}, expected {row.expected or '-'}]"
            print(f"  {row.severity:<7} {row.rule:<26} {row.subject}: {row.message}{extra}")
    return EXIT_FAILED if findings.fails(args.fail_on) else EXIT_OK


# ---------------------------------------------------------------------------- audit


def _read_ids(source: str) -> list[str]:
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Usage(f"cannot read --ids {source}: {exc.strerror}") from None
    ids = []
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip()
        if item:
            ids.append(item)
    if not ids:
        raise _Usage(f"--ids {source} holds no video ids (one per line)")
    return ids


def _dask_client(scheduler: str | None) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - optional extra
        raise _Usage(
            "--engine dask needs dask[distributed]: pip install 'hs_notebook[dask]'"
        ) from None
    if scheduler:
        return Client(scheduler)
    return Client(LocalCluster(processes=True, dashboard_address=None))


def cmd_audit(args: argparse.Namespace) -> int:
    """``hs-notebook audit``: many videos, saved to ``--out``."""
    from hs_notebook.catalog import audit

    ids = _read_ids(args.ids)
    if args.scheduler and args.engine != "dask":
        raise _Usage("--scheduler is for --engine dask")
    key = _load_key(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    client = _dask_client(args.scheduler) if args.engine == "dask" else None
    try:
        result = audit(
            ids,
            key,
            args.project_id,
            args.base_url,
            concurrency=args.concurrency,
            measure=args.measure,
            out=args.out,
            resume=not args.no_resume,
            progress=progress,
            engine=args.engine,
            client=client,
            timeout=args.timeout,
        )
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not args.scheduler:
                cluster.close()
    failed = result.failed(args.fail_on)
    if args.json:
        records = [
            {k: (None if v is None or v != v else v) for k, v in row.items()}
            for row in result.summary.astype(object).to_dict("records")
        ]
        print(json.dumps({"counts": result.counts, "videos": records}, indent=2))
    else:
        print(result.line)
        print(f"saved to {result.out} (findings beside it)")
        for row in failed.head(20).itertuples(index=False):
            why = row.reason if row.status in ("refused", "not_found", "error") else row.worst_rule
            print(f"  {row.status:<9} {row.video_id}: {why}")
        if len(failed) > 20:
            print(f"  ... and {len(failed) - 20} more")
    return EXIT_FAILED if len(failed) else EXIT_OK


# ---------------------------------------------------------------------------- parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def register(sub: Any) -> None:
    """Add ``qa`` and ``audit`` to the ``hs-notebook`` subparsers."""
    p = sub.add_parser(
        "qa",
        help="check one ladder against RFC 8216, Apple's HLS spec and HeapStream "
        "(exit 1 on findings)",
    )
    p.add_argument("target", metavar="VIDEO_ID|MASTER_URL")
    p.add_argument("--project-id", type=_cli._int, help="needed with a video id")
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    _add_key_args(p)
    p.add_argument("--ttl", type=_positive_int, default=3600)
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument(
        "--fail-on",
        choices=_FAIL_ON,
        default="error",
        help="exit 1 when a finding this severe (or worse) exists (default error)",
    )
    p.add_argument(
        "--no-measure",
        action="store_true",
        help="skip measuring segment sizes (the bitrate rules are then skipped)",
    )
    p.set_defaults(func=cmd_qa)

    p = sub.add_parser("audit", help="QA many videos, saved and resumable (exit 1 on failures)")
    p.add_argument("--ids", required=True, help="file with one video id per line ('-': stdin)")
    p.add_argument("--out", required=True, help="results file, .parquet or .csv")
    p.add_argument("--project-id", required=True, type=_cli._int)
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    _add_key_args(p)
    p.add_argument("--concurrency", type=_positive_int, default=16)
    p.add_argument("--measure", action="store_true", help="also measure segment sizes")
    p.add_argument("--no-resume", action="store_true", help="redo every id, overwrite --out")
    p.add_argument("--timeout", type=_seconds, default=120.0, help="seconds per video")
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument("--fail-on", choices=_FAIL_ON, default="error")
    p.add_argument("--json", action="store_true", help="print the per-video summary as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=cmd_audit)


def main(argv: list[str] | None = None) -> int:
    """``hs-notebook`` with these subcommands registered (same as ``hs_notebook.cli.main``)."""
    return _cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
