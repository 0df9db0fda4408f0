"""A video's rendition ladder: fetch the signed master playlist and every preset playlist
(concurrently: two round trips for the whole ladder) and lay them out as tables.

>>> ladder = fetch_ladder("video-id", key, project_id=12)            # doctest: +SKIP
>>> ladder.renditions                                                  # doctest: +SKIP
>>> ladder.segments(ladder.renditions.preset_id[0])                    # doctest: +SKIP

The parsing is :mod:`hs_notebook.hls` / :mod:`hs_notebook.vtt`; the fetching is
:mod:`hs_notebook.http`.  URIs in a :class:`Ladder`'s tables are the *effective* URLs:
resolved against the playlist they came from and, on the playlist's own origin, carrying
its token (so they can be fetched as they are).  Displays redact the tokens; the tables
keep the real URLs.

Modules: :mod:`~hs_notebook.ladder.model` (the :class:`Ladder` and the
:class:`LadderFacts` QA reads), :mod:`~hs_notebook.ladder.fetch` (building ladders),
:mod:`~hs_notebook.ladder.propagation` (tokens on child URIs),
:mod:`~hs_notebook.ladder.probing` (what :meth:`Ladder.probe` fetches and probes: the
media of the ladder) and :mod:`~hs_notebook.ladder.sizes` (segment sizes without
downloading them).  Columns this package adds
to the tables of :mod:`hs_notebook.hls` are documented in :data:`COLUMNS`.
"""

from __future__ import annotations

from hs_notebook.ladder.fetch import (
    VARIANT_CONCURRENCY,
    fetch_ladder,
    fetch_ladder_async,
    fetch_ladder_url,
    fetch_ladder_url_async,
    ladder_from_text,
)
from hs_notebook.ladder.model import (
    COLUMNS,
    RENDITION_DISPLAY_COLUMNS,
    Ladder,
    LadderFacts,
    LadderMedia,
    media_key,
)
from hs_notebook.ladder.propagation import propagate_tokens

__all__ = [
    "COLUMNS",
    "RENDITION_DISPLAY_COLUMNS",
    "VARIANT_CONCURRENCY",
    "Ladder",
    "LadderFacts",
    "LadderMedia",
    "fetch_ladder",
    "fetch_ladder_async",
    "fetch_ladder_url",
    "fetch_ladder_url_async",
    "ladder_from_text",
    "media_key",
    "propagate_tokens",
]
