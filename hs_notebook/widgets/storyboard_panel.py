"""The storyboard panel: a contact sheet of storyboard tiles, a time slider, and the cues
of a text track.

The tiles are *cut from the real sprite images*: the kernel fetches each sprite with
:meth:`Ladder.sprite_bytes`, crops the ``x, y, w, h`` rectangle of every tile of
:meth:`Ladder.storyboard` with Pillow (a dependency of matplotlib), and embeds the tiles as
``data:`` URIs and image bytes, so no token ever appears in the page markup.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import pandas as pd
from PIL import Image

from hs_notebook import formatting
from hs_notebook.env import ENV_STORYBOARD_ID, env_value
from hs_notebook.errors import HeapStreamError, InvalidArgument, TokenRejected
from hs_notebook.widgets._common import error_html, info_html, table_box, table_html
from hs_notebook.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from hs_notebook.ladder import Ladder

__all__ = ["StoryboardPanel", "Tile", "cut_tiles"]

#: Optional default for the storyboard id field (the master playlist does not list it).

_MAX_SHEET_TILES = 400


@dataclass(frozen=True)
class Tile:
    """One storyboard tile cut from its sprite: time span (s), size (px), JPEG bytes."""

    start: float
    end: float
    width: int
    height: int
    jpeg: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")


def cut_tiles(storyboard: pd.DataFrame, sprite_bytes: Callable[[str], bytes]) -> list[Tile]:
    """Cut every tile of a storyboard table (``start, end, image_uri, x, y, w, h``) out of
    its sprite; ``sprite_bytes(image_uri) -> bytes`` supplies the sprites (one call each).

    Raises :class:`InvalidArgument` when a sprite is not an image or a tile lies outside it.
    """
    sprites: dict[str, Image.Image] = {}
    tiles: list[Tile] = []
    for row in storyboard.to_dict("records"):
        uri = str(row["image_uri"])
        img = sprites.get(uri)
        if img is None:
            data = sprite_bytes(uri)
            try:
                img = Image.open(io.BytesIO(data))
                img.load()
            except Exception as exc:  # Pillow raises many kinds for bad data
                raise InvalidArgument(
                    f"sprite {len(sprites)} of the storyboard is not a readable image "
                    f"({type(exc).__name__})"
                ) from None
            sprites[uri] = img.convert("RGB")
            img = sprites[uri]
        x, y, w, h = int(row["x"]), int(row["y"]), int(row["w"]), int(row["h"])
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > img.width or y + h > img.height:
            raise InvalidArgument(
                f"tile at {row['start']:g}s ({x},{y},{w},{h}) lies outside its "
                f"{img.width}x{img.height} sprite"
            )
        buf = io.BytesIO()
        img.crop((x, y, x + w, y + h)).save(buf, format="JPEG", quality=90)
        tiles.append(Tile(float(row["start"]), float(row["end"]), w, h, buf.getvalue()))
    return tiles


class StoryboardPanel(W.VBox):
    """Storyboard tiles and text-track cues of the token panel's video.

    Args:
        token_panel: the :class:`TokenPanel` whose token is used.
        storyboard_id: the storyboard to show (default: the token panel's
            ``resources["storyboard_id"]``, else ``$HEAPSTREAM_STORYBOARD_ID``).

    Attributes after :meth:`load`: ``storyboard`` (tiles table), ``tiles`` (list of
    :class:`Tile`), ``cues`` (cues table of the chosen text track).
    """

    def __init__(
        self, token_panel: TokenPanel, storyboard_id: int | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.token_panel = token_panel
        self.storyboard: pd.DataFrame | None = None
        self.tiles: list[Tile] = []
        self.cues: pd.DataFrame | None = None
        default = storyboard_id
        if default is None:
            default = token_panel.resources.get("storyboard_id")
        if default is None:
            default = env_value(ENV_STORYBOARD_ID)
        self.storyboard_id_field = W.Text(
            value=str(default),
            description="storyboard id",
            style={"description_width": "initial"},
            layout=W.Layout(width="16em"),
        )
        self.load_button = W.Button(
            description="Load storyboard", button_style="primary", icon="th"
        )
        self.status = W.Label(value="")
        self.error_area = W.HTML()
        self.sheet = W.HTML()
        self.time_slider = W.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.1,
            description="time (s)",
            continuous_update=True,
            readout_format=".1f",
            layout=W.Layout(width="30em"),
        )
        # hidden until it holds a tile: an empty <img> draws a broken-image box
        self.tile_image = W.Image(
            format="jpeg", layout=W.Layout(border="1px solid #888", display="none")
        )
        self.tile_label = W.Label(value="")
        self.tiles_html = table_box()
        self.track_dropdown = W.Dropdown(
            options=[], description="text track", layout=W.Layout(width="24em")
        )
        self.cues_html = table_box()

        self.load_button.on_click(lambda _b: self.load())
        self.time_slider.observe(lambda ch: self.show_time(ch["new"]), names="value")
        self.track_dropdown.observe(self._on_track, names="value")
        token_panel.observe(self._on_token, names="token")
        self._on_token()

        left = W.VBox(
            [
                W.HTML("<b>Contact sheet</b> <small>(tiles cut from the sprites)</small>"),
                self.sheet,
                W.HTML("<b>Tile at time</b>"),
                self.time_slider,
                W.HBox([self.tile_image, self.tile_label]),
                W.HTML("<b>Tiles</b>"),
                self.tiles_html,
            ],
            layout=W.Layout(flex="3 1 0", min_width="320px", margin="0 24px 0 0"),
        )
        right = W.VBox(
            [W.HTML("<b>Text-track cues</b>"), self.track_dropdown, self.cues_html],
            layout=W.Layout(flex="2 1 0", min_width="260px"),
        )
        self.children = [
            W.HTML("<h3 style='margin:4px 0'>Storyboard and text tracks</h3>"),
            W.HBox([self.storyboard_id_field, self.load_button, self.status]),
            self.error_area,
            W.HBox([left, right], layout=W.Layout(flex_flow="row wrap")),
        ]

    # ------------------------------------------------------------------ public API
    def load(self) -> list[Tile] | None:
        """Fetch the storyboard and the text-track list, cut the tiles, show everything.
        Returns the tiles, or ``None`` after showing an error."""
        tp = self.token_panel
        self.error_area.value = ""
        if not tp.token:
            self.error_area.value = error_html("mint a token first (token panel, Mint)")
            return None
        sid = self.storyboard_id_field.value.strip()
        self.status.value = "fetching the ladder, storyboard and sprites…"
        self.load_button.disabled = True
        try:
            ladder = tp.ladder()
            self._fill_tracks(ladder)
            if not sid:
                self.status.value = "no storyboard id: enter one to see tiles"
                self.sheet.value = info_html(
                    "The master playlist does not list storyboards: enter the storyboard id."
                )
                return None
            storyboard = ladder.storyboard(sid)
            tiles = cut_tiles(storyboard, ladder.sprite_bytes)
        except TokenRejected as exc:
            self.status.value = "refused"
            self.error_area.value = error_html(f"{exc.reason}: {exc.detail}", "Token rejected")
            return None
        except HeapStreamError as exc:
            self.status.value = "failed"
            self.error_area.value = error_html(str(exc), "Could not load the storyboard")
            return None
        finally:
            self.load_button.disabled = not tp.token
        self.storyboard = storyboard
        self.tiles = tiles
        sprites = storyboard["image_uri"].nunique()
        self.status.value = f"{len(tiles)} tiles from {sprites} sprite{'s' * (sprites != 1)}"
        self.sheet.value = self._sheet_html(tiles)
        self.tiles_html.value = table_html(storyboard.drop(columns=["sprite"], errors="ignore"))
        end = max((t.end for t in tiles), default=1.0)
        self.time_slider.max = max(end - 0.05, 0.1)
        step = min((t.end - t.start for t in tiles), default=1.0)
        self.time_slider.step = max(round(step / 10, 3), 0.01)
        self.show_time(self.time_slider.value)
        return tiles

    def tile_at(self, seconds: float) -> Tile | None:
        """The tile whose span contains ``seconds`` (the last one past the end)."""
        for tile in self.tiles:
            if tile.start <= seconds < tile.end:
                return tile
        return self.tiles[-1] if self.tiles and seconds >= self.tiles[-1].start else None

    def show_time(self, seconds: float) -> None:
        """Show the tile for ``seconds`` beside the slider."""
        tile = self.tile_at(seconds)
        if tile is None:
            self.tile_label.value = ""
            self.tile_image.layout.display = "none"
            return
        self.tile_image.value = tile.jpeg
        self.tile_image.width = str(tile.width * 2)
        self.tile_image.layout.display = ""
        self.tile_label.value = (
            f"{formatting.clock(tile.start)}–{formatting.clock(tile.end)} "
            f"({tile.width}x{tile.height})"
        )

    def show_cues(self, text_track_id: str) -> pd.DataFrame | None:
        """Fetch and show the cues of one text track."""
        try:
            cues = self.token_panel.ladder().cues(text_track_id)
        except HeapStreamError as exc:
            self.cues_html.value = error_html(str(exc), "Could not fetch the cues")
            return None
        self.cues = cues
        self.cues_html.value = table_html(cues, columns=("start", "end", "text"))
        return cues

    def __repr__(self) -> str:
        what = f"{len(self.tiles)} tiles" if self.tiles else "not loaded"
        return f"<StoryboardPanel storyboard {self.storyboard_id_field.value!r}: {what}>"

    # ------------------------------------------------------------------ internals
    def _on_token(self, _change: Any = None) -> None:
        self.load_button.disabled = not self.token_panel.token
        sid = self.token_panel.resources.get("storyboard_id")
        if sid is not None and not self.storyboard_id_field.value.strip():
            self.storyboard_id_field.value = str(sid)

    def _fill_tracks(self, ladder: Ladder) -> None:
        tracks = ladder.text_tracks
        options: list[tuple[str, str]] = []
        if not tracks.empty and "text_track_id" in tracks.columns:
            for row in tracks.itertuples():
                if isinstance(row.text_track_id, str):
                    lang = row.language if isinstance(row.language, str) else "?"
                    options.append((f"{row.name} ({lang})", row.text_track_id))
        self.track_dropdown.unobserve(self._on_track, names="value")
        self.track_dropdown.options = options
        self.track_dropdown.value = options[0][1] if options else None
        self.track_dropdown.observe(self._on_track, names="value")
        if options:
            self.show_cues(options[0][1])
        else:
            self.cues_html.value = "<i>no text tracks in the master playlist</i>"

    def _on_track(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.show_cues(change["new"])

    @staticmethod
    def _sheet_html(tiles: list[Tile]) -> str:
        shown = tiles[:_MAX_SHEET_TILES]
        cells = "".join(
            "<figure style='margin:0;text-align:center'>"
            f"<img src='{t.data_uri}' width='{t.width}' height='{t.height}' "
            f"alt='tile {formatting.clock(t.start)}' style='display:block'>"
            f"<figcaption style='font-size:11px'>{html.escape(formatting.clock(t.start))}"
            "</figcaption></figure>"
            for t in shown
        )
        more = (
            f"<div><i>… {len(tiles) - len(shown)} more tiles not shown</i></div>"
            if len(tiles) > len(shown)
            else ""
        )
        return (
            "<div class='hs-contact-sheet' style='display:flex;flex-wrap:wrap;gap:6px'>"
            f"{cells}</div>{more}"
        )
