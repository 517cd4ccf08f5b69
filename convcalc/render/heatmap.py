"""The effective receptive field in every format: statistics and area-ratio tables (the table model of
:mod:`convcalc.render.model`, for text, Markdown and CSV), the terminal heatmap (a ``Picture``), 1-D profiles,
and saved files.

The heatmap draws two pixel rows per text line with the upper-half block ``▀`` (foreground = upper pixel,
background = lower pixel) in a viridis-like colour scale; the theoretical receptive field of the unit is outlined
in red. Piped or with NO_COLOR, it falls back to an ASCII ramp, two characters per pixel, outline ``[]``.
``--save`` writes ``.svg`` (Rich's console export, no extra dependency), ``.png`` or ``.pdf`` (matplotlib: the
optional ``plot`` extra; axes in input pixels, the image's boundary dashed when the RF reaches past it), ``.npy`` or
``.csv`` (the map itself). NumPy and Rich are imported inside the functions.
"""

from __future__ import annotations

from math import ceil, floor

from ..errors import SpecError
from ..numbers import fraction_text
from .model import RIGHT, Column, Line, Picture, Table, columns, csv_columns

#: viridis anchors (matplotlib's colormap at 0, 0.25, 0.5, 0.75, 1)
PALETTE = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
OUTLINE = (255, 60, 60)
RAMP = " .:-=+*#%@"
SPARK = "▁▂▃▄▅▆▇█"
MAX_COLUMNS = 64


def colour(value: float) -> tuple[int, int, int]:
    """The palette colour of ``value`` in [0, 1]."""
    value = min(max(float(value), 0.0), 1.0) * (len(PALETTE) - 1)
    i = min(int(value), len(PALETTE) - 2)
    t = value - i
    a, b = PALETTE[i], PALETTE[i + 1]
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


# ---- statistics --------------------------------------------------------------------------------------------------
def stats_table(erf) -> Table:
    pct = f"{float(erf.axes[0].mass) * 100:g}%" if erf.axes else "95%"
    table = Table([Column(key, header, RIGHT) for key, header in (
        ("axis", "Axis"), ("rf", "RF"), ("std", "ERF std"), ("std_over_rf", "std / RF"), ("window", f"{pct} window"),
        ("size", "Size"), ("size_over_rf", "Size / RF"), ("support", "Support"), ("inside", "Inside input"))],
        title_of(erf))
    for a in erf.axes:
        lo, hi = a.window()
        first, last = a.support
        table.add([str(a.axis), str(a.rf_size), f"{a.std:.3f}", f"{a.std / a.rf_size:.3f}", f"{lo} … {hi}",
                   str(hi - lo + 1), f"{(hi - lo + 1) / a.rf_size:.3f}", f"{first} … {last}",
                   f"{a.inside() * 100:.1f}%"])
    return table


AREA_TITLE = ("High-contribution area ratio (RepLKNet): log10(positive gradient + 1), normalised; smallest centred "
              "square holding more than t of it")


def area_table(erf, title: str | None = AREA_TITLE) -> Table:
    table = Table(columns(("threshold", "Threshold t", RIGHT), ("side", "Side", RIGHT),
                          ("area_ratio", "Area ratio", RIGHT)), title)
    for row in erf.area_ratios:
        side = row["side"]
        table.add([f"{row['threshold']:g}", "-" if side is None else str(side),
                   "-" if side is None else f"{row['area_ratio'] * 100:.2f}%"])
    return table


def title_of(erf) -> str:
    where = ",".join(map(str, erf.position)) or "the single unit"
    text = f"Effective receptive field ({erf.method}) of `{erf.layer}` at ({where})"
    if erf.method == "measured":
        text += (f": |input gradient| summed over channels, {erf.samples} sample{'s' * (erf.samples != 1)}, "
                 f"{erf.weights} weights, {erf.seconds:.2f} s")
    else:
        text += ": uniform weights, linear network, borders ignored"
    return text


# ---- the map -----------------------------------------------------------------------------------------------------
def picture(erf):
    """(2-D map normalised to [0, 1], origin (row, col) input index, RF box ((r0, r1), (c0, c1)), downsampling
    factor, caption, extent before downsampling) or None for a 1-D network."""
    import numpy as np

    image, origin = erf.image()
    caption = ""
    axes = list(erf.axes)
    if image.ndim == 1:
        return None
    if image.ndim == 3:  # project the depth axis away
        image, origin, axes = image.sum(axis=0), origin[1:], axes[1:]
        caption = " (summed over the first spatial axis)"
    box = tuple((a.rf_start, a.rf_start + a.rf_size - 1) for a in axes)
    if erf.method == "analytic":  # show the whole RF box and the support together
        lo = [min(floor(b[0]), o) for b, o in zip(box, origin)]
        hi = [max(ceil(b[1]), o + n - 1) for b, o, n in zip(box, origin, image.shape)]
        canvas = np.zeros([h - l + 1 for l, h in zip(lo, hi)])
        canvas[tuple(slice(o - l, o - l + n) for o, l, n in zip(origin, lo, image.shape))] = image
        image, origin = canvas, tuple(lo)
    factor = max(1, ceil(max(image.shape) / MAX_COLUMNS))
    extent = tuple(image.shape)
    if factor > 1:
        padded = [ceil(n / factor) * factor for n in image.shape]
        canvas = np.zeros(padded)
        canvas[: image.shape[0], : image.shape[1]] = image
        image = canvas.reshape(padded[0] // factor, factor, padded[1] // factor, factor).mean(axis=(1, 3))
    top = image.max()
    image = image / top if top > 0 else image
    return image, origin, box, factor, caption, extent


def _outline(shape, origin, box, factor):
    import numpy as np

    mask = np.zeros(shape, dtype=bool)
    (r0, r1), (c0, c1) = [(floor((lo - o) / factor), floor((hi - o) / factor)) for (lo, hi), o in zip(box, origin)]
    rows, cols = shape
    for r in range(max(r0, 0), min(r1, rows - 1) + 1):
        for c in (c0, c1):
            if 0 <= c < cols:
                mask[r, c] = True
    for c in range(max(c0, 0), min(c1, cols - 1) + 1):
        for r in (r0, r1):
            if 0 <= r < rows:
                mask[r, c] = True
    return mask


def heatmap_lines(erf, color: bool) -> list:
    """Lines (Rich ``Text`` when ``color``, else ``str``) of the heatmap, its scale and caption."""
    found = picture(erf)
    if found is None:
        return []
    image, origin, box, factor, caption, extent = found
    mask = _outline(image.shape, origin, box, factor)
    rows, cols = image.shape
    lines = []
    scale = f"1 cell = {factor}×{factor} input pixels, " if factor > 1 else ""
    if mask.any():
        where = "theoretical RF outlined"
    else:
        where = ("theoretical RF (" + " × ".join(f"{fraction_text(lo)} … {fraction_text(hi)}" for lo, hi in box) +
                 ") extends past the map on every side")
    head = (f"Heatmap{caption}: input rows {origin[0]} … {origin[0] + extent[0] - 1}, columns {origin[1]} … "
            f"{origin[1] + extent[1] - 1}; {scale}{where}")
    if color:
        from rich.style import Style
        from rich.text import Text

        def rgb(r, c):
            return OUTLINE if mask[r, c] else colour(image[r, c])

        lines.append(Text(head, style="dim"))
        for r in range(0, rows, 2):
            text = Text()
            for c in range(cols):
                upper = "rgb({},{},{})".format(*rgb(r, c))
                lower = "rgb({},{},{})".format(*rgb(r + 1, c)) if r + 1 < rows else None
                text.append("▀", style=Style(color=upper, bgcolor=lower))
            lines.append(text)
        bar = Text("0 ")
        for k in range(24):
            bar.append("█", style="rgb({},{},{})".format(*colour(k / 23)))
        bar.append(" max    ")
        bar.append("█", style="rgb({},{},{})".format(*OUTLINE))
        bar.append(" theoretical RF")
        lines.append(bar)
        return lines
    lines.append(head)
    step = 1 if cols <= MAX_COLUMNS // 2 else 2  # two characters per pixel; halve the columns when wide
    for r in range(0, rows, step):
        chars = []
        for c in range(0, cols, step):
            if mask[r:r + step, c:c + step].any():  # a cell of 2×2 pixels holds the outline if any of them does
                chars.append("[]")
            else:
                level = image[r:r + step, c:c + step].mean()
                chars.append(RAMP[min(int(level * len(RAMP)), len(RAMP) - 1)] * 2)
        lines.append("".join(chars).rstrip())
    lines.append(f"scale: '{RAMP}' = 0 … max; [] theoretical RF")
    return lines


def profile_lines(erf) -> list[str]:
    """One sparkline per axis (the normalised marginal), with the RF window (─) and the mass window (═) below."""
    out = []
    for a in erf.axes:
        lo_w, hi_w = a.window()
        rf_lo, rf_hi = a.rf_start, a.rf_start + a.rf_size - 1
        if erf.method == "measured":
            first, last = 0, a.input_size - 1
        else:
            first, last = min(a.support[0], floor(rf_lo)), max(a.support[1], ceil(rf_hi))
        span = last - first + 1
        factor = max(1, ceil(span / MAX_COLUMNS))
        bins = [0.0] * ceil(span / factor)
        for k, v in enumerate(a.normalised()):  # shares of the total: exact ints of any size never overflow
            i = a.offset + k - first
            if 0 <= i < span:
                bins[i // factor] += v
        top = max(bins) or 1.0
        spark = "".join(SPARK[min(int(b / top * len(SPARK)), len(SPARK) - 1)] if b > 0 else " " for b in bins)
        marks = []
        for b in range(len(bins)):
            x0, x1 = first + b * factor, first + (b + 1) * factor - 1
            if x1 >= lo_w and x0 <= hi_w:
                marks.append("═")
            elif x1 >= rf_lo and x0 <= rf_hi:
                marks.append("─")
            else:
                marks.append(" ")
        per = f", 1 column = {factor} px" if factor > 1 else ""
        pct = f"{float(a.mass) * 100:g}%"
        out.append(f"Axis {a.axis} profile, input {first} … {last}{per}: ─ RF {fraction_text(rf_lo)} … {fraction_text(rf_hi)} "
                   f"({a.rf_size}), ═ {pct} window {lo_w} … {hi_w} ({hi_w - lo_w + 1}), std {a.std:.2f}")
        out.append(spark.rstrip())
        out.append("".join(marks).rstrip())
    return out


def summary_blocks(erf) -> list:
    """The statistics table, the area-ratio table and the notes (the text above the pictures)."""
    blocks: list = [stats_table(erf)]
    if erf.area_ratios:
        blocks.append(area_table(erf))
    blocks += [Line(f"note: {note}", "warn") for note in erf.notes]
    if not erf.exact and erf.method == "analytic":
        blocks.append(Line("the marginals are approximate (see the notes)", "warn"))
    return blocks


def erf_blocks(erf) -> list:
    """Statistics, heatmap and profiles (the text output)."""
    return summary_blocks(erf) + [Picture(lambda color: heatmap_lines(erf, color))] + [
        Line(line, "row") for line in profile_lines(erf)]


def erf_markdown_blocks(erf) -> list:
    """The statistics per axis and, measured, the area ratios (their table without a heading)."""
    table = Table(columns(("axis", "axis", RIGHT), ("rf", "RF", RIGHT), ("std", "std", RIGHT),
                          ("window", "window", RIGHT), ("size", "size", RIGHT), ("size_over_rf", "size / RF", RIGHT)),
                  title_of(erf))
    for a in erf.axes:
        lo, hi = a.window()
        table.add([str(a.axis), str(a.rf_size), f"{a.std:.3f}", f"{lo} … {hi}", str(hi - lo + 1),
                   f"{(hi - lo + 1) / a.rf_size:.3f}"])
    blocks = [table]
    if erf.area_ratios:
        area = Table(columns(("threshold", "threshold", RIGHT), ("side", "side", RIGHT),
                             ("area_ratio", "area ratio", RIGHT)))
        for row in erf.area_ratios:
            ratio = "-" if row["side"] is None else f"{row['area_ratio'] * 100:.2f}%"
            area.add([f"{row['threshold']:g}", str(row["side"] or "-"), ratio])
        blocks.append(area)
    return blocks


def erf_csv_table(erf) -> Table:
    table = Table(csv_columns("method", "layer", "position", "axis", "rf_size", "rf_start", "mean", "variance", "std",
                              "mass", "window_lo", "window_hi", "window_size", "window_over_rf", "support_lo",
                              "support_hi", "inside_input"))
    for a in erf.axes:
        d = a.to_dict()
        table.add([erf.method, erf.layer, "x".join(map(str, erf.position)), a.axis, a.rf_size,
                   fraction_text(a.rf_start), f"{float(a.mean):.9g}", f"{float(a.variance):.9g}", f"{a.std:.6g}",
                   d["mass"], d["window"][0], d["window"][1], d["window_size"], f"{d['window_over_rf']:.6g}",
                   d["support"][0], d["support"][1], f"{d['inside_input']:.6g}"])
    return table


def heatmap_svg(image, origin, box, factor: int, bounds, title: str, cell: int = 0) -> str:
    """A normalised 2-D map (rows × columns, values in [0, 1]) as coloured cells, with the theoretical RF ``box``
    ((r0, r1), (c0, c1), input indices) outlined in red and the image's ``bounds`` ((rows, cols) of the input)
    outlined dashed where the map reaches past them. ``origin``: the input index of cell (0, 0); ``factor``: input
    pixels per cell."""
    from .charts import open_svg

    rows, cols = len(image), len(image[0]) if len(image) else 0
    cell = cell or max(2, min(8, 480 // max(rows, cols, 1)))
    pad_left, pad_top = 56, 30
    width, height = pad_left + cols * cell + 110, pad_top + rows * cell + 44
    out = open_svg(title, height, max(width, 360))
    out.append(f'<g class="heatmap" transform="translate({pad_left} {pad_top})">')
    for r in range(rows):
        for c in range(cols):
            out.append(f'<rect x="{c * cell}" y="{r * cell}" width="{cell}" height="{cell}" '
                       f'fill="rgb({",".join(map(str, colour(image[r][c])))})"/>')

    def x_of(index):
        return (float(index) - origin[1]) / factor * cell

    def y_of(index):
        return (float(index) - origin[0]) / factor * cell

    (r0, r1), (c0, c1) = box
    out.append(f'<rect class="rf-box" x="{x_of(c0):.1f}" y="{y_of(r0):.1f}" width="{x_of(c1 + 1) - x_of(c0):.1f}" '
               f'height="{y_of(r1 + 1) - y_of(r0):.1f}" fill="none" stroke="#ff3c3c" stroke-width="1.5">'
               f'<title>theoretical RF: rows {r0} … {r1}, columns {c0} … {c1}</title></rect>')
    h, w = bounds
    if origin[0] < 0 or origin[1] < 0 or origin[0] + rows * factor > h or origin[1] + cols * factor > w:
        out.append(f'<rect class="image-box" x="{x_of(0):.1f}" y="{y_of(0):.1f}" width="{x_of(w) - x_of(0):.1f}" '
                   f'height="{y_of(h) - y_of(0):.1f}" fill="none" stroke="#fff" stroke-width="1.5" '
                   f'stroke-dasharray="4 3"><title>the input image: {h} × {w}</title></rect>')
    out.append("</g>")
    right = pad_left + cols * cell
    out.append(f'<text x="{pad_left + cols * cell / 2:g}" y="{height - 8}" text-anchor="middle" font-size="12">'
               f'input column ({origin[1]} … {origin[1] + cols * factor - 1})</text>')
    out.append(f'<text transform="translate(14 {pad_top + rows * cell / 2:g}) rotate(-90)" text-anchor="middle" '
               f'font-size="12">input row ({origin[0]} … {origin[0] + rows * factor - 1})</text>')
    for k in range(11):  # the colour scale
        out.append(f'<rect x="{right + 14}" y="{pad_top + (10 - k) * 12}" width="14" height="12" '
                   f'fill="rgb({",".join(map(str, colour(k / 10)))})"/>')
    out.append(f'<text x="{right + 32}" y="{pad_top + 10}" font-size="11">max</text>')
    out.append(f'<text x="{right + 32}" y="{pad_top + 130}" font-size="11">0</text>')
    out.append(f'<rect x="{right + 14}" y="{pad_top + 148}" width="14" height="10" fill="none" stroke="#ff3c3c"/>')
    out.append(f'<text x="{right + 32}" y="{pad_top + 157}" font-size="11">RF</text>')
    out.append("</svg>")
    return "\n".join(out)


# ---- files -------------------------------------------------------------------------------------------------------
#: what ``rf --save`` writes: file type → the optional package it needs (checked before the ERF is computed,
#: :func:`convcalc.render.files.check_output`)
SAVE_FORMATS = {"svg": None, "png": "matplotlib", "pdf": "matplotlib", "npy": None, "csv": None}


def save_erf(erf, path: str) -> None:
    """Save the ERF: ``.svg`` (the terminal picture), ``.png`` / ``.pdf`` (matplotlib), ``.npy`` / ``.csv`` (the
    map)."""
    import numpy as np

    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    image, origin = erf.image()
    try:
        if suffix == "svg":
            _save_svg(erf, path)
        elif suffix in ("png", "pdf"):
            _save_png(erf, path)
        elif suffix == "npy":
            np.save(path, image)
        elif suffix == "csv":
            if image.ndim > 2:
                raise SpecError(f"--save {path}: a {image.ndim}-D map does not fit a CSV table", None,
                                "save it as .npy")
            np.savetxt(path, np.atleast_2d(image), delimiter=",", fmt="%.9g")
        else:
            raise SpecError(f"--save {path}: unknown file type `.{suffix}`", None,
                            "use .svg, .png, .pdf, .npy or .csv")
    except OSError as err:
        raise SpecError(f"--save {path}: {err.strerror or err}", None, "check the directory exists and is "
                                                                        "writable") from None


def _save_svg(erf, path: str) -> None:
    import io

    from rich.console import Console
    from rich.text import Text

    from .emitters import text_lines

    console = Console(record=True, width=140, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      highlight=False)
    for line, role in text_lines(summary_blocks(erf)):
        console.print(Text(line, style="bold" if role == "title" else None), soft_wrap=True)
    for line in heatmap_lines(erf, True):
        console.print(line, soft_wrap=True)
    for line in profile_lines(erf):
        console.print(line, soft_wrap=True)
    console.save_svg(path, title=f"convcalc rf — {erf.layer}")


def _save_png(erf, path: str) -> None:
    """A matplotlib figure (PNG or PDF by the suffix): the heatmap in input coordinates with the RF box and, when
    the RF reaches past the input, the image's boundary dashed; then one profile per axis."""
    from .charts import need_matplotlib

    need_matplotlib(f"--save .{path.rsplit('.', 1)[-1].lower()}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    image, origin = erf.image()
    fig, axes = plt.subplots(1, 1 + len(erf.axes), figsize=(4 * (1 + len(erf.axes)), 4))
    if image.ndim == 1:
        image, origin = image[None, :], (0, origin[0])
    elif image.ndim == 3:
        image, origin = image.sum(axis=0), origin[1:]
    ax = axes[0]
    extent = (origin[1] - 0.5, origin[1] + image.shape[1] - 0.5, origin[0] + image.shape[0] - 0.5, origin[0] - 0.5)
    shown = ax.imshow(image, cmap="viridis", extent=extent, interpolation="nearest")
    fig.colorbar(shown, ax=ax, fraction=0.046)
    box = [(a.rf_start, a.rf_size) for a in erf.axes[-2:]]
    if len(box) == 2:
        (r0, rh), (c0, cw) = box
        ax.add_patch(Rectangle((float(c0) - 0.5, float(r0) - 0.5), cw, rh, fill=False, edgecolor="red",
                               label="theoretical RF"))
        height, width = erf.input_shape[-2:]
        if r0 < 0 or c0 < 0 or r0 + rh > height or c0 + cw > width:  # the RF reaches past the image
            ax.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="white", linestyle="--",
                                   label=f"input image {height}×{width}"))
            lo_c, hi_c = min(extent[0], float(c0) - 0.5, -0.5), max(extent[1], float(c0 + cw) - 0.5, width - 0.5)
            lo_r, hi_r = min(extent[3], float(r0) - 0.5, -0.5), max(extent[2], float(r0 + rh) - 0.5, height - 0.5)
            ax.set_xlim(lo_c - 1, hi_c + 1)
            ax.set_ylim(hi_r + 1, lo_r - 1)
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("input column")
    ax.set_ylabel("input row" if len(erf.axes) > 1 else "")
    ax.set_title(f"{erf.method} ERF of {erf.layer}")
    for a, axis_plot in zip(erf.axes, axes[1:]):
        xs = [a.offset + k for k in range(len(a.values))]
        axis_plot.plot(xs, a.normalised())
        lo, hi = a.window()
        axis_plot.axvspan(lo, hi, alpha=0.2, label=f"{float(a.mass) * 100:g}% window")
        axis_plot.axvline(float(a.rf_start), color="red", lw=0.8)
        axis_plot.axvline(float(a.rf_start + a.rf_size - 1), color="red", lw=0.8, label="RF")
        axis_plot.set_title(f"axis {a.axis}: std {a.std:.2f}, RF {a.rf_size}")
        axis_plot.set_xlabel(f"input index along axis {a.axis}")
        axis_plot.set_ylabel("share of the ERF")
        axis_plot.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
