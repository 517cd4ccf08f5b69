"""Charts as plain data, drawn as inline SVG by pure Python (the HTML report, ``--plot FILE.svg``) or with
matplotlib (``--plot FILE.png|pdf``, the optional ``plot`` extra, imported only then).

A :class:`Chart` is one picture: bars (one group per label, one bar per series), a line per series over numeric
x values (RF growth by depth), or labelled points (a sweep's MACs against params). :func:`svg` draws it; the
heatmap of an ERF is drawn by :func:`convcalc.render.heatmap.heatmap_svg`.
Values are exact ints in the data; a chart scales them as floats and shows the exact number in each tooltip.
"""

from __future__ import annotations

from html import escape

BAR, LINE, SCATTER = "bar", "line", "scatter"
#: the series colours (Tableau 10), one per series in order
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
WIDTH, HEIGHT = 760, 300
LEFT_MARGIN, RIGHT_MARGIN, TOP_MARGIN = 70, 16, 30
#: bars are labelled under the axis up to this many; beyond, the labels are in the tooltips only
MAX_BAR_LABELS = 48


class Series:
    """One named series: ``values`` (one per label, or one per x), ``xs`` for lines and points."""

    __slots__ = ("name", "values", "xs")

    def __init__(self, name: str, values: list, xs: list | None = None):
        self.name, self.values, self.xs = name, list(values), None if xs is None else list(xs)


class Chart:
    """``kind`` (:data:`BAR`, :data:`LINE`, :data:`SCATTER`), a title, axis labels, the category labels of bars
    (or the point labels of a scatter) and the series. ``unit`` formats the tooltips' numbers (``count`` or
    ``raw``)."""

    __slots__ = ("kind", "title", "x_label", "y_label", "labels", "series", "unit")

    def __init__(self, kind: str, title: str, x_label: str, y_label: str, labels: list[str], series: list[Series],
                 unit: str = "count"):
        self.kind, self.title, self.x_label, self.y_label = kind, title, x_label, y_label
        self.labels, self.series, self.unit = list(labels), series, unit


# ---- numbers on the axes ---------------------------------------------------------------------------------------
def _nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (the axis maximum)."""
    from math import floor, log10

    if value <= 0:
        return 1.0
    power = 10.0 ** floor(log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * (1 - 1e-12))


def tick_text(value: float) -> str:
    """``1.5G``, ``250M``, ``12``: a short axis number (SI prefixes, as the tables print)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:g}{prefix}"
    return f"{value:g}"


def exact_text(value, unit: str) -> str:
    if isinstance(value, int) and unit == "count":
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---- SVG -------------------------------------------------------------------------------------------------------
def open_svg(title: str, height: int = HEIGHT, width: int = WIDTH) -> list[str]:
    return [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" role="img" aria-label="{escape(title)}">',
            f'<title>{escape(title)}</title>',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
            f'<text x="{width / 2:g}" y="18" text-anchor="middle" font-size="14" font-weight="bold">'
            f'{escape(title)}</text>']


def _y_axis(out: list[str], top: float, x0: float, y0: float, y1: float, width: float, label: str) -> None:
    for k in range(5):
        value = top * k / 4
        y = y0 - (y0 - y1) * k / 4
        out.append(f'<line x1="{x0:g}" y1="{y:.1f}" x2="{x0 + width:g}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 4:g}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick_text(value)}</text>')
    out.append(f'<text transform="translate(14 {(y0 + y1) / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'font-size="12">{escape(label)}</text>')


def _legend(out: list[str], series: list[Series], x: float, y: float) -> None:
    if len(series) < 2:
        return
    for i, s in enumerate(series):
        out.append(f'<rect x="{x:g}" y="{y + 14 * i:g}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 14:g}" y="{y + 9 + 14 * i:g}" font-size="11">{escape(s.name)}</text>')


def svg(chart: Chart) -> str:
    """The chart as a standalone ``<svg>`` element (pure Python; embeddable in HTML)."""
    return {BAR: _bars, LINE: _lines, SCATTER: _points}[chart.kind](chart)


def _bars(chart: Chart) -> str:
    labelled = len(chart.labels) <= MAX_BAR_LABELS
    longest = max((len(label) for label in chart.labels), default=0)
    bottom = 40 + (min(longest, 28) * 6 if labelled else 0)
    height = HEIGHT + bottom - 40
    out = open_svg(chart.title, height)
    x0, y0, y1 = LEFT_MARGIN, height - bottom, TOP_MARGIN
    plot_width = WIDTH - LEFT_MARGIN - RIGHT_MARGIN
    top = _nice_top(max((float(v) for s in chart.series for v in s.values), default=0.0))
    _y_axis(out, top, x0, y0, y1, plot_width, chart.y_label)
    groups = max(len(chart.labels), 1)
    slot = plot_width / groups
    bar = max(slot * 0.8 / max(len(chart.series), 1), 0.5)
    for g, label in enumerate(chart.labels):
        for i, s in enumerate(chart.series):
            value = s.values[g]
            h = (y0 - y1) * float(value) / top
            x = x0 + g * slot + slot * 0.1 + i * bar
            tip = f"{label}: {exact_text(value, chart.unit)}" + (f" ({s.name})" if len(chart.series) > 1 else "")
            out.append(f'<rect class="bar" x="{x:.2f}" y="{y0 - h:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(tip)}</title></rect>')
        if labelled:
            cx = x0 + (g + 0.5) * slot
            short = label if len(label) <= 28 else label[:13] + "…" + label[-14:]
            out.append(f'<text transform="translate({cx:.1f} {y0 + 8:g}) rotate(45)" font-size="10">'
                       f'{escape(short)}</text>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + plot_width}" y2="{y0}" stroke="#333"/>')
    out.append(f'<text x="{x0 + plot_width / 2:g}" y="{height - 4}" text-anchor="middle" font-size="12">'
               f'{escape(chart.x_label)}</text>')
    _legend(out, chart.series, x0 + plot_width - 150, TOP_MARGIN)
    out.append("</svg>")
    return "\n".join(out)


def _xy_frame(chart: Chart):
    out = open_svg(chart.title)
    x0, y0, y1 = LEFT_MARGIN, HEIGHT - 40, TOP_MARGIN
    plot_width = WIDTH - LEFT_MARGIN - RIGHT_MARGIN
    xs = [float(x) for s in chart.series for x in s.xs]
    x_top = _nice_top(max(xs, default=0.0))
    y_top = _nice_top(max((float(v) for s in chart.series for v in s.values), default=0.0))
    _y_axis(out, y_top, x0, y0, y1, plot_width, chart.y_label)
    for k in range(5):
        x = x0 + plot_width * k / 4
        out.append(f'<text x="{x:.1f}" y="{y0 + 14}" text-anchor="middle" font-size="11">'
                   f'{tick_text(x_top * k / 4)}</text>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + plot_width}" y2="{y0}" stroke="#333"/>')
    out.append(f'<text x="{x0 + plot_width / 2:g}" y="{HEIGHT - 6}" text-anchor="middle" font-size="12">'
               f'{escape(chart.x_label)}</text>')

    def at(x, y):
        return x0 + plot_width * float(x) / x_top, y0 - (y0 - y1) * float(y) / y_top

    return out, at, (x0, plot_width)


def _lines(chart: Chart) -> str:
    out, at, (x0, plot_width) = _xy_frame(chart)
    for i, s in enumerate(chart.series):
        points = " ".join("{:.1f},{:.1f}".format(*at(x, y)) for x, y in zip(s.xs, s.values))
        out.append(f'<polyline class="line" points="{points}" fill="none" stroke="{COLOURS[i % len(COLOURS)]}" '
                   f'stroke-width="2"><title>{escape(s.name)}</title></polyline>')
        for x, y, label in zip(s.xs, s.values, chart.labels or [""] * len(s.xs)):
            px, py = at(x, y)
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2" fill="{COLOURS[i % len(COLOURS)]}">'
                       f'<title>{escape(f"{label}: {s.name} {exact_text(y, chart.unit)}")}</title></circle>')
    _legend(out, chart.series, x0 + 8, TOP_MARGIN)
    out.append("</svg>")
    return "\n".join(out)


def _points(chart: Chart) -> str:
    out, at, _ = _xy_frame(chart)
    for i, s in enumerate(chart.series):
        for x, y, label in zip(s.xs, s.values, chart.labels):
            px, py = at(x, y)
            tip = f"{label}: {chart.x_label} {exact_text(x, chart.unit)}, {chart.y_label} {exact_text(y, chart.unit)}"
            out.append(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="4" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(tip)}</title></circle>')
            out.append(f'<text x="{px + 6:.1f}" y="{py - 6:.1f}" font-size="10">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# ---- --plot FILE -----------------------------------------------------------------------------------------------
#: what `--plot` writes: file type → the optional package it needs (checked before any work)
PLOT_FORMATS = {"svg": None, "png": "matplotlib", "pdf": "matplotlib"}


def suffix_of(path: str) -> str:
    return path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""


def check_plot_target(path: str, flag: str = "--plot") -> None:
    """Before any work: ``path`` has a suffix this can write, matplotlib for PNG and PDF, a writable place
    (:func:`convcalc.render.files.check_output`, the one check of every output file)."""
    from .files import check_output

    check_output(path, flag, PLOT_FORMATS)


def need_matplotlib(what: str) -> None:
    from ..errors import SpecError

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SpecError(f"{what} needs matplotlib, which is not installed", None,
                        'install the optional extra: pip install "convcalc[plot]", or write .svg') from None


def write_plot(chart: Chart, path: str) -> None:
    """Write ``chart`` to ``path``: SVG by this module, PNG or PDF by matplotlib."""
    from ..errors import SpecError

    try:
        if suffix_of(path) == "svg":
            with open(path, "w", encoding="utf-8") as handle:
                handle.write('<?xml version="1.0" encoding="UTF-8"?>\n' + svg(chart) + "\n")
        else:
            _matplotlib(chart, path)
    except OSError as err:
        raise SpecError(f"--plot {path}: {err.strerror or err}", None, "check the directory is writable") from None


def _matplotlib(chart: Chart, path: str) -> None:
    need_matplotlib(f"--plot .{suffix_of(path)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    if chart.kind == BAR:
        count = max(len(chart.series), 1)
        width = 0.8 / count
        for i, s in enumerate(chart.series):
            ax.bar([g + i * width for g in range(len(chart.labels))], [float(v) for v in s.values], width,
                   label=s.name, color=COLOURS[i % len(COLOURS)])
        if len(chart.labels) <= MAX_BAR_LABELS:
            ax.set_xticks([g + 0.4 - width / 2 for g in range(len(chart.labels))])
            ax.set_xticklabels(chart.labels, rotation=45, ha="right", fontsize=7)
    elif chart.kind == LINE:
        for i, s in enumerate(chart.series):
            ax.step([float(x) for x in s.xs], [float(v) for v in s.values], where="post", label=s.name,
                    color=COLOURS[i % len(COLOURS)])
    else:
        for i, s in enumerate(chart.series):
            ax.scatter([float(x) for x in s.xs], [float(v) for v in s.values], color=COLOURS[i % len(COLOURS)])
            for x, y, label in zip(s.xs, s.values, chart.labels):
                ax.annotate(label, (float(x), float(y)), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_title(chart.title)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    if len(chart.series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
