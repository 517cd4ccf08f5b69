"""``convcalc rf``: theoretical receptive fields per layer and axis, merge alignment, the input window of one
output position, and the effective receptive field (analytic or measured) with pictures. See docs/rf.md; rendered
by :mod:`convcalc.render.rf`.

Without ``--erf`` this path is pure Python (no NumPy). Definitions (Araujo et al., Distill 2019): RF size r, jump j
(effective stride), effective padding P, so that output unit i of a layer sees input indices
``−P + i·j … −P + i·j + r − 1``; the centre of unit 0 is ``(r − 1)/2 − P``.
"""

from __future__ import annotations

import sys
from fractions import Fraction

from ..common import expand, parse_at
from ...errors import SpecError
from ...limits import decimal_value, shorten


def parse_mass(text: str) -> Fraction:
    try:
        value = decimal_value(text.rstrip("%"), None, "--mass") / (100 if text.endswith("%") else 1)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"--mass `{shorten(text)}` is not a number", None,
                        "write e.g. --mass 0.9 or --mass 90%") from None
    if not 0 < value <= 1:
        raise SpecError(f"--mass {shorten(text)} is outside (0, 1]", None, "write a fraction such as 0.95")
    return value


def check_options(report, layer: str | None, position, erf: str, save: str | None) -> None:
    """The combinations of --layer, --at, --erf and --save that make sense, and a --layer that exists."""
    if position is not None and layer is None:
        raise SpecError("--at needs --layer NAME", None, "e.g. --layer stage5.pool --at 3,3")
    if save and erf == "none":
        raise SpecError("--save saves an ERF picture; it needs --erf analytic or --erf measured", None,
                        "add --erf analytic")
    names = [l.name for l in report.layers]
    if layer is not None and layer not in names:
        from ...errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None, did_you_mean(layer, names))


def check_save(save: str, graph) -> None:
    """``--save``, before the ERF is computed: a type rf writes, its package (matplotlib for .png), a writable
    place, and a map that fits the type (a CSV table holds one or two axes)."""
    from ...render.files import check_output, suffix_of
    from ...render.heatmap import SAVE_FORMATS

    check_output(save, "--save", SAVE_FORMATS)
    if suffix_of(save) == "csv" and graph.spatial_rank > 2:
        raise SpecError(f"--save {shorten(save)}: a {graph.spatial_rank}-D map does not fit a CSV table", None,
                        "save it as .npy")


def effective_rf(method: str, graph, report, layer, position, fraction, samples, weights, seed,
                 max_memory: int | None = None, progress=None):
    """The ERF of ``--erf METHOD`` (None for ``none``); ``progress`` follows a measured one."""
    if method == "analytic":
        from ...erf.analytic import analytic_erf

        return analytic_erf(graph, report, layer, position, fraction)
    if method == "measured":
        from ...erf.measured import measured_erf
        from ...verify import DEFAULT_MAX_MEMORY

        return measured_erf(graph, report, layer, position, samples, weights, seed, fraction,
                            max_memory=DEFAULT_MAX_MEMORY if max_memory is None else max_memory, progress=progress)
    return None


def rf(spec: str, layer: str | None = None, at: str | None = None, erf: str = "none", mass: str = "0.95",
       samples: int = 1, weights: str = "random", seed: int = 0, save: str | None = None, max_memory: str = "4G",
       format: str = "table", batch: int | None = None, input: str | None = None,
       sets: list[str] | None = None, allow_unsupported: bool = False, width: int | None = None,
       wide: bool = False) -> int:
    """Receptive fields per layer and axis, and the ERF.

    Size, jump, effective padding and centre per layer and axis, merge alignment, the input window of one output
    position, and the effective receptive field.

    \b
    Examples:
      convcalc rf resnet50
      convcalc rf vgg16 --layer stage5.pool --at 3,3
      convcalc rf resnet50 --erf analytic
      convcalc rf resnet50 --erf measured --samples 4 --save erf.svg

    \b
    Exit codes: 0 success; 2 bad input (spec, options, a missing optional dependency), or a measured ERF whose
    estimated memory is above --max-memory.
    """
    from ...cost.analysis import analyze
    from ...cost.rftable import rf_rows
    from ...erf.analytic import input_window
    from ...render.emitters import emit
    from ...render.width import resolve_width
    from ...render.rf import RFView

    graph = expand(spec, batch, input, sets, allow_unsupported)
    report = analyze(graph)
    if layer is not None:  # a block instance or a repeated name, as `inputs:` reads them (layer3.5 → layer3.5.relu)
        layer = graph.layer_named(layer)
    position, fraction = parse_at(at), parse_mass(mass)
    check_options(report, layer, position, erf, save)
    if save:  # before any work: a minute of measured ERF must not fail at the save for want of matplotlib
        check_save(save, graph)
    rows = rf_rows(graph, report)
    shown = [r for r in rows if r.name == layer] if layer else rows
    windows = input_window(graph, report, layer, position) if position is not None else None
    from ...verify import parse_bytes

    from ...render.progress import Progress

    with Progress(0, "measured ERF") as progress:  # told its work by measured_erf; drawn only on a terminal
        result = effective_rf(erf, graph, report, layer, position, fraction, samples, weights, seed,
                              parse_bytes(max_memory), progress)
    if save:
        from ...render.heatmap import save_erf

        save_erf(result, save)
    emit(RFView(report, shown, layer, position, windows, result), format, width=resolve_width(width, wide))
    if save:
        print(f"saved {save}", file=sys.stderr)
    return 0
