"""A heatmap of error/bound over a check's output, as an inline PNG (``data:`` URI) for the HTML report.

The ratio map (``Record.ratio_map``) has the output's shape, ``(N, C, *spatial)`` or ``(C, *spatial)``;
-1 marks an infinite ratio (an error where the bound is 0). It is drawn as a 2-D image: columns are the
last spatial dim, rows are every other dim flattened in order, so each ``(n, c)`` slice is a band of
rows (one row in 1-D), separated by lines and labelled at its first row. Colour is log10 of the
ratio, diverging at 1 (the bound): blue within it, red beyond; infinite ratios are black and crossed.

matplotlib is used through its object API with the Agg canvas (no pyplot, no global backend switch),
imported only when a map is drawn, so importing the report package stays cheap and side-effect free.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np

ANNOTATE_LIMIT = 64  # cells; small maps get their ratios written in
FLOOR = 1e-6  # ratios below this (exact zeros included) are drawn as this


def flatten(ratio_map, spatial_ndim: int | None = None):
    """``(image, band, labels, axis)``: the map as 2-D rows x last dim, the rows per ``(n, c)`` band,
    the band labels, and what the rows are."""
    array = np.asarray(ratio_map, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    if array.ndim == 1:
        return array.reshape(1, -1), 1, [""], ""
    spatial_ndim = array.ndim - 1 if spatial_ndim is None else max(1, min(spatial_ndim, array.ndim - 1))
    leading = array.shape[: array.ndim - spatial_ndim]
    band = int(np.prod(array.shape[array.ndim - spatial_ndim : -1], dtype=np.int64))  # rows per (n, c) slice
    names = ("n", "c") if len(leading) == 2 else ("c",) if len(leading) == 1 else tuple(f"d{i}" for i in range(len(leading)))
    labels = [" ".join(f"{name}{i}" for name, i in zip(names, index)) for index in np.ndindex(*leading)]
    inner = ("d", "h")[-(spatial_ndim - 1):] if spatial_ndim > 1 else ()
    axis = f"({', '.join(names + inner)})" + (" flattened" if len(names + inner) > 1 else "")
    return array.reshape(-1, array.shape[-1]), band, labels, axis


def ratio_heatmap(ratio_map, spatial_ndim: int | None = None, title: str = "") -> str:
    """The map as a ``data:image/png;base64,...`` URI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    image, band, labels, axis = flatten(ratio_map, spatial_ndim)
    infinite = image < 0
    logs = np.log10(np.maximum(np.where(infinite, 1.0, image), FLOOR))
    finite = logs[~infinite]
    low = min(float(finite.min()) if finite.size else 0.0, -1.0)
    high = max(float(finite.max()) if finite.size else 0.0, 1.0)
    rows, columns = image.shape

    figure = Figure(figsize=(_clamp(2.2 + columns * 0.28, 4.5, 10.0), _clamp(1.4 + rows * 0.3, 2.2, 7.5)), dpi=90)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = _colormap()
    norm = TwoSlopeNorm(0.0, low, high)
    shown = axes.imshow(np.ma.masked_array(logs, mask=infinite), cmap=colours, norm=norm, aspect="auto", interpolation="nearest")
    bar = figure.colorbar(shown, ax=axes, fraction=0.05, pad=0.02)
    bar.set_label("log10(|error| / bound)")
    if infinite.any():
        ys, xs = np.nonzero(infinite)
        axes.scatter(xs, ys, marker="x", color="white", s=_clamp(900 / max(rows, columns), 6, 60), linewidths=1)
    if rows * columns <= ANNOTATE_LIMIT:
        for (y, x), value in np.ndenumerate(image):
            text = "inf" if value < 0 else f"{value:.2g}"
            shade = float(norm(logs[y, x]))  # dark at both ends of the diverging map: white text there
            axes.text(x, y, text, ha="center", va="center", fontsize=7,
                      color="white" if value < 0 or not 0.2 < shade < 0.8 else "black")
    for boundary in range(band, rows, band):
        axes.axhline(boundary - 0.5, color="black", linewidth=0.6)
    step = max(1, math.ceil(len(labels) / 24))  # at most ~24 band labels stay readable
    axes.set_yticks([index * band for index in range(0, len(labels), step)], labels[::step], fontsize=7)
    if columns <= 16:  # element indices, not fractions
        axes.set_xticks(range(columns))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlabel("last spatial index")
    axes.set_ylabel(axis)
    axes.set_title(title + (" (black x: infinite ratio)" if infinite.any() else ""), fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _colormap():
    """Blue-white-red with black for masked (infinite) cells; a copy, so the registered map is untouched."""
    from matplotlib import colormaps

    return colormaps["RdBu_r"].with_extremes(bad="black")


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
