"""The ``qa`` and ``audit`` subcommands of ``hs-notebook`` (thin shells over
:func:`hs_notebook.qa.qa` and :func:`hs_notebook.catalog.audit`).

:func:`hs_notebook.cli.build_parser` adds them with :func:`register`.

``hs-notebook qa VIDEO_ID|MASTER_URL [--project-id N --base-url URL] [--json]
[--fail-on warning|error] [--no-measure] [--depth playlist|media|quality [--probe sample|full]
[--sample S] [--reference R]]``
    Inspect one ladder and check it (``--depth media``: also fetch segments and check
    what they hold, printing the variant overview too; ``--depth quality``: that, and also
    score every rendition against the original upload, or the top rung, print the scores
    and run the quality rules; both need the ``[media]`` extra).
    A signed master URL (``/mmpl/...?token=``) needs no key; a video id needs
    ``--project-id`` and a key (``$HEAPSTREAM_SIGNING_KEY_ID`` and
    ``$HEAPSTREAM_SIGNING_KEY``, or ``--key-id``/``--key-file`` as for ``mint``).

``hs-notebook audit --ids FILE --out results.parquet --project-id N [--concurrency N]
[--measure] [--engine dask [--scheduler ADDR]] [--fail-on warning|error]``
    Audit every id of FILE (one per line; blank lines and ``#`` comments ignored; ``-``
    reads stdin), saving and resuming as :func:`hs_notebook.catalog.audit` does.

Exit codes (:mod:`hs_notebook.cli.base`), for both subcommands:

* 0: nothing reaches the ``--fail-on`` threshold (default ``error``).
* 1: the check failed: findings at or above the threshold; or the ladder could not be
  checked because the origin answered for it: the token was refused (401/403,
  :class:`~hs_notebook.errors.TokenRejected`), the video does not exist (404,
  :class:`~hs_notebook.errors.NotFound`) or the origin failed or was unreachable after the
  retries (:class:`~hs_notebook.errors.FetchError`).  For ``audit``: also any video that
  came back refused, not_found or error.  One line on stderr says which (with ``--json``,
  ``qa`` also prints ``{"target", "error": {...}}`` on stdout).
* 2: usage or input errors, before anything was checked: a bad argument or id, a missing
  or unreadable key, an unreadable ``--ids`` file, a Dask scheduler that cannot be reached
  (``--connect-timeout``, default 10 s) or whose address is malformed, a missing
  ``[dask]`` extra.

A failed segment measurement does not fail ``qa``: the bitrate rules are then reported as
not checked (``info``) and every other rule still runs.  With ``--depth media`` (or
``quality``) a segment
that answers 403/404 is an error finding of its own (``media_segment_readable``), so it
counts against ``--fail-on`` like any other; a missing ``[media]`` extra is exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hs_notebook.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_key_args,
    load_key,
    one_line,
    positive_int,
    positive_seconds,
    whole_int,
)
from hs_notebook.errors import FetchError, InvalidArgument, NotFound, TokenRejected
from hs_notebook.extras import require_extra

if TYPE_CHECKING:
    from distributed import Client

    from hs_notebook.cli.base import Subparsers

_QA_EPILOG = """exit codes:
  0  nothing at or above --fail-on (default error)
  1  findings at or above --fail-on; or the ladder could not be checked because the
     origin refused the token (401/403), has no such video (404), or failed or was
     unreachable after the retries (5xx, network); one line on stderr says which
  2  usage or input error: bad argument or id, missing key
A failed segment measurement does not fail: the bitrate rules are reported as not checked.
--depth media/quality: a segment answering 403/404 is an error finding
(media_segment_readable);
a missing [media] extra (PyAV) is exit 2."""

_AUDIT_EPILOG = """exit codes:
  0  nothing at or above --fail-on (default error), and every video was checked
  1  findings at or above --fail-on, or a video came back refused (401/403), not_found
     (404) or error (5xx / network after the retries, timeout, malformed playlist)
  2  usage or input error: bad argument, missing key, unreadable --ids, a --scheduler
     address that is malformed or cannot be reached within --connect-timeout"""

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "cmd_audit", "cmd_qa", "register"]

_FAIL_ON = ("error", "warning")
#: Columns of the variant overview printed by ``qa --depth media`` (JSON has them all).
_OVERVIEW: tuple[str, ...] = ("rendition", "peak_bitrate", "peak_diff", "average_bitrate")
_OVERVIEW += ("average_diff", "width", "height", "idr_interval", "frame_rate", "codecs")
_OVERVIEW += ("processed",)
#: Decimals the text output shows (percent diffs and % processed, seconds, frames/s).
_ROUNDED = {"peak_diff": 1, "average_diff": 1, "processed": 1, "idr_interval": 3}
_ROUNDED |= {"frame_rate": 3}
#: Columns of the scores printed by ``qa --depth quality`` (JSON has them all).
_SCORES: tuple[str, ...] = ("rendition", "width", "height", "measured_bitrate", "frames")
_SCORES += ("vmaf_mean", "vmaf_p5", "psnr", "ssim", "integrated")
#: Seconds to wait for a Dask scheduler given with --scheduler (--connect-timeout).
DEFAULT_CONNECT_TIMEOUT = 10.0


# ---------------------------------------------------------------------------- qa


def cmd_qa(args: argparse.Namespace) -> int:
    """``hs-notebook qa``: one ladder, every rule."""
    from hs_notebook.ladder import fetch_ladder, fetch_ladder_url
    from hs_notebook.qa import RULES, qa
    from hs_notebook.redaction import redact

    target: str = args.target
    url = target.startswith(("http://", "https://"))
    shown = redact(target) if url else target
    if url and args.project_id is not None:
        raise UsageError("--project-id is for a video id; a master URL already names it")
    if not url and args.project_id is None:
        raise UsageError("a video id needs --project-id (or give the signed master playlist URL)")
    ignore = [i for value in args.ignore or [] for i in value.split(",") if i.strip()]
    try:
        RULES.select("heapstream", None, ignore)  # unknown ids: a usage error, before fetching
    except InvalidArgument as exc:
        raise UsageError(f"--ignore: {exc}") from None
    sample = _sample(args.sample)  # a usage error too, before fetching
    key = None if url else load_key(args)
    try:
        if url:
            ladder = fetch_ladder_url(target)
        else:
            ladder = fetch_ladder(target, key, args.project_id, args.base_url, ttl=args.ttl)
        findings = qa(
            ladder,
            depth=args.depth,
            profile=args.profile,
            ignore=ignore,
            measure=not args.no_measure,
            probe=args.probe,
            reference=args.reference,
            sample=sample,
            progress=sys.stderr.isatty(),
        )
    except (TokenRejected, FetchError) as exc:  # FetchError covers NotFound (404)
        return _origin_failed(args, shown, exc)
    overview = ladder.probed.variant_overview() if ladder.probed is not None else None
    scored = findings.quality
    if args.json:
        tables: dict[str, Any] = {}
        if overview is not None:
            tables["variants"] = json.loads(overview.to_json(orient="records"))
        if scored is not None:
            tables["quality"] = json.loads(scored.renditions.to_json(orient="records"))
            tables["quality_reference"] = scored.reference
        print(json.dumps({"target": shown, **findings.to_dict(), **tables}, indent=2))
    else:
        print(f"{shown}: {ladder.summary()} ({findings.profile} profile)")
        if overview is not None:
            shown_overview = overview[[c for c in _OVERVIEW if c in overview]]
            print(shown_overview.round(_ROUNDED).to_string(index=False))
        if scored is not None:
            scores = scored.renditions
            print(f"scored against {scored.reference}:")
            print(scores[[c for c in _SCORES if c in scores]].to_string(index=False))
        print(findings.summary)
        for row in findings.table.to_dict("records"):
            extra = ""
            if row["measured"] or row["expected"]:
                extra = f" [measured {row['measured'] or '-'}, expected {row['expected'] or '-'}]"
            print(
                f"  {row['severity']:<7} {row['rule']:<26} {row['subject']}: "
                f"{row['message']}{extra}"
            )
    return EXIT_FAILED if findings.fails(args.fail_on) else EXIT_OK


def _sample(text: str | None) -> object:
    """``--sample``: ``full``, a number of 2 s windows (``3``), or windows x seconds
    (``3x2``)."""
    if text is None or text == "full":
        return text
    count, _, length = text.partition("x")
    try:
        return (int(count), float(length)) if length else int(count)
    except ValueError:
        raise UsageError(
            f"--sample must be 'full', a number of windows (3) or windows x seconds (3x2), "
            f"got {text!r}"
        ) from None


def _origin_failed(args: argparse.Namespace, shown: str, exc: TokenRejected | FetchError) -> int:
    """The origin refused, did not have, or could not serve the ladder: exit 1, one line."""
    if isinstance(exc, TokenRejected):
        kind = "refused"
    elif isinstance(exc, NotFound):
        kind = "not found"
    else:
        kind = "origin failed or unreachable"
    message = one_line(str(exc))
    print(f"hs-notebook: qa {shown}: {kind}: {message}", file=sys.stderr)
    if args.json:
        error: dict[str, Any] = {"type": type(exc).__name__, "message": message}
        error["status"] = getattr(exc, "status", None)
        if isinstance(exc, TokenRejected):
            error["reason"] = exc.reason
        print(json.dumps({"target": shown, "error": error}, indent=2))
    return EXIT_FAILED


# ---------------------------------------------------------------------------- audit


def _read_ids(source: str) -> list[str]:
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read --ids {source}: {exc.strerror}") from None
    ids = []
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip()
        if item:
            ids.append(item)
    if not ids:
        raise UsageError(f"--ids {source} holds no video ids (one per line)")
    return ids


def _dask_client(scheduler: str | None, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Client:
    """A ``distributed.Client`` for ``--scheduler`` (waiting at most ``connect_timeout``
    seconds), or on a new LocalCluster; an unreachable or malformed address is a usage
    error (exit 2, one line), not a traceback."""
    require_extra("dask", "distributed", feature="--engine dask")
    from distributed import Client, LocalCluster

    if not scheduler:
        return Client(LocalCluster(processes=True, dashboard_address=None))
    try:
        return Client(scheduler, timeout=connect_timeout)
    except ValueError as exc:  # a malformed address ("garbage::", an unknown protocol)
        raise UsageError(
            f"--scheduler {scheduler!r} is not a Dask scheduler address ({one_line(str(exc))});"
            " expected e.g. tcp://host:8786"
        ) from None
    except OSError as exc:  # refused, unknown host, timed out (TimeoutError is an OSError)
        raise UsageError(
            f"cannot connect to the Dask scheduler at {scheduler} within "
            f"{connect_timeout:g} s ({one_line(str(exc)) or type(exc).__name__}); is it "
            "running and reachable? (--connect-timeout to wait longer)"
        ) from None


def cmd_audit(args: argparse.Namespace) -> int:
    """``hs-notebook audit``: many videos, saved to ``--out``."""
    from hs_notebook.catalog import audit

    ids = _read_ids(args.ids)
    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler is for --engine dask")
    key = load_key(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.connect_timeout is not None and not args.scheduler:
        raise UsageError("--connect-timeout is for --scheduler")
    timeout = DEFAULT_CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
    client = _dask_client(args.scheduler, timeout) if args.engine == "dask" else None
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
            token_ttl=args.token_ttl,
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
        for row in failed.head(20).to_dict("records"):
            origin = row["status"] in ("refused", "not_found", "error")
            why = row["reason"] if origin else row["worst_rule"]
            print(f"  {row['status']:<9} {row['video_id']}: {why}")
        if len(failed) > 20:
            print(f"  ... and {len(failed) - 20} more")
    return EXIT_FAILED if len(failed) else EXIT_OK


# ---------------------------------------------------------------------------- parser


def register(sub: Subparsers) -> None:
    """Add ``qa`` and ``audit`` to the ``hs-notebook`` subparsers."""
    p = sub.add_parser(
        "qa",
        help="check one ladder against RFC 8216, Apple's HLS spec and HeapStream "
        "(exit 1 on findings)",
        epilog=_QA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="VIDEO_ID|MASTER_URL")
    p.add_argument("--project-id", type=whole_int, help="needed with a video id")
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    add_key_args(p)
    p.add_argument("--ttl", type=positive_int, default=3600)
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
    p.add_argument(
        "--profile",
        choices=("heapstream", "apple", "rfc8216"),
        help="rule profile (default: heapstream for HeapStream and sandbox URLs, apple for "
        "other origins)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="RULE_ID[,RULE_ID...]",
        help="do not run these rules (repeatable; ids as in the findings)",
    )
    p.add_argument(
        "--depth",
        choices=("playlist", "media", "quality"),
        default="playlist",
        help="playlist (default): the playlist rules; media: also fetch segments and run the "
        "media rules; quality: media, and also score every rendition (VMAF, PSNR, SSIM, "
        "loudness) and run the quality rules (media and quality need the [media] extra)",
    )
    p.add_argument(
        "--probe",
        choices=("sample", "full"),
        default="sample",
        help="with --depth media or quality: probe the first, middle and last segment of "
        "each rendition (sample, default) or every segment (full)",
    )
    p.add_argument(
        "--sample",
        metavar="full|N|NxSECONDS",
        help="with --depth quality: score the whole video (full), or N windows (of 2 s, or "
        "of SECONDS); default: short videos whole, long ones in 3 windows of 2 s",
    )
    p.add_argument(
        "--reference",
        default="original",
        help="with --depth quality: original (default; the top rung when the project keeps "
        "no originals), a preset id, a source URL or a local path",
    )
    p.set_defaults(func=cmd_qa)

    p = sub.add_parser(
        "audit",
        help="QA many videos, saved and resumable (exit 1 on failures)",
        epilog=_AUDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ids", required=True, help="file with one video id per line ('-': stdin)")
    p.add_argument("--out", required=True, help="results file, .parquet or .csv")
    p.add_argument("--project-id", required=True, type=whole_int)
    p.add_argument("--base-url", help="default https://app.heapstream.com")
    add_key_args(p)
    p.add_argument("--concurrency", type=positive_int, default=16)
    p.add_argument("--measure", action="store_true", help="also measure segment sizes")
    p.add_argument("--no-resume", action="store_true", help="redo every id, overwrite --out")
    p.add_argument("--timeout", type=positive_seconds, default=120.0, help="seconds per video")
    p.add_argument(
        "--token-ttl",
        type=positive_seconds,
        default=None,
        help="lifetime of the minted tokens: per video (default 3600), or with --engine dask "
        "all minted before submitting, so it must cover the whole run (default 21600)",
    )
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=None,
        help=f"seconds to wait for --scheduler (default {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    p.add_argument("--fail-on", choices=_FAIL_ON, default="error")
    p.add_argument("--json", action="store_true", help="print the per-video summary as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=cmd_audit)
