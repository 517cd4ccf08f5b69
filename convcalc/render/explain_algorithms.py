"""What ``convcalc explain direct|im2col|winograd|fft`` prints: an algorithm's formulas, worked through an example
conv (or, with ``SPEC --layer NAME --algorithm A``, through that layer's convs).

The formulas are the estimators of :mod:`convcalc.cost.algorithms` evaluated with the symbolic quantities of
:mod:`convcalc.layers.formula`: the printed formula, the worked arithmetic and the number in ``convcalc cost`` are
one definition, and the worked arithmetic is evaluated once more here (:func:`convcalc.render.explain.checked`).
"""

from __future__ import annotations

from ..cost.algorithms import ABOUT, CHOSEN_BY, ESTIMATORS, FAMILIES, WINOGRAD
from ..errors import SpecError, did_you_mean, shorten
from .explain import checked, formula, where_lines

#: the conv the general explanation works through: a ResNet stage-1 3×3 conv
EXAMPLE = {"name": "example", "input": [64, 56, 56],
           "layers": [{"type": "conv", "name": "conv", "out": 64, "kernel": 3, "padding": 1, "bias": False}]}
ROWS = (("multiplications", "multiplications"), ("transform_ops", "transform ops"),
        ("filter_ops", "filter ops (once)"), ("workspace_elements", "workspace"))
PAD = " " * 6


def is_algorithm(name: str) -> bool:
    return name in FAMILIES


def _matrix(name: str, rows) -> list[str]:
    text = ["[" + ", ".join(str(v) for v in row) + "]" for row in rows]
    return [f"    {name} = {text[0]}"] + [f"    {' ' * len(name)}   {line}" for line in text[1:]]


def _general(family: str) -> list[str]:
    title, source, what = ABOUT[family]
    lines = [f"{family} — {title}", f"source: {source}", "", what, ""]
    if family == "winograd":
        for v in WINOGRAD:
            direct = v.m * v.m * v.r * v.r
            lines.append(f"{v.label}: α = {v.m} + {v.r} − 1 = {v.alpha}; per {v.m}×{v.m} output tile and (input, "
                         f"output) channel pair {v.alpha}² = {v.alpha ** 2} multiplications instead of "
                         f"{v.m}·{v.m}·{v.r}·{v.r} = {direct} ({direct / v.alpha ** 2:.2f}× fewer)")
        lines += ["", "transform matrices (Lavin & Gray §4.1, §4.3), and their ops per tile, counted row by row: "
                  "(nonzeros − 1) additions + one multiplication per entry other than 0 and ±1, no shared "
                  "sub-expressions:"]
        for v in WINOGRAD:
            lines += [f"  {v.label}: input Bᵀ d B {v.input_ops} ops, filter G g Gᵀ {v.filter_ops} ops (once per "
                      f"filter, precomputed at inference), output Aᵀ M A {v.output_ops} ops"]
            lines += _matrix("Bᵀ", v.bt) + _matrix("G", v.g) + _matrix("Aᵀ", v.at)
        lines += ["  Lavin & Gray's own counts share sub-expressions between rows (input, filter, output): "
                  + "; ".join(f"{v.label} {', '.join(map(str, v.paper_ops))}" for v in WINOGRAD)
                  + " — equal to this count for the F(2×2,3×3) input and output transforms, lower elsewhere"]
        lines.append("")
    lines.append("applies to: " + {
        "direct": "every conv, and every layer with MACs (its MACs)",
        "im2col": "every plain conv (grouped: g GEMMs; depthwise: g = C_in GEMMs with K = Πk)",
        "winograd": "2-D convs with a 3×3 kernel, stride 1 and dilation 1; per group (depthwise: C_in/g = 1, "
                    "no sum over channels); 1-D, 3-D, other kernels, strides and dilations: not applicable",
        "fft": "plain convs with stride 1, per group; strided convs: not applicable",
    }[family] + "; transposed, deformable and unshared convs: not applicable (said with the reason)")
    return lines


def _estimate_lines(family: str, geometry, batch: int, itemsize: int, direct: int) -> list[str]:
    from ..layers.formula import NUMERIC, SYMBOLIC

    lines = []
    numeric = ESTIMATORS[family](geometry, batch, itemsize, NUMERIC)
    for symbolic, e in zip(ESTIMATORS[family](geometry, batch, itemsize, SYMBOLIC), numeric):
        lines.append(f"  {e.label}:")
        if not e.applicable:
            lines.append(f"    not applicable: {e.reason}")
            continue
        for key, name in ROWS:
            term, value = getattr(symbolic, key), getattr(e, key)
            text = checked(term, value, f"{e.algorithm} {key}")
            lines.append(f"    {name}: {formula(term)}")
            lines += where_lines(term, PAD, worked=True)
            shown = f"{text} = {value:,}" if text != str(value) else f"{value:,}"
            if key == "workspace_elements":
                shown += f" elements × {itemsize} bytes = {value * itemsize:,} bytes"
            if key == "multiplications" and family != "direct":
                shown += f"  (direct {direct:,}: " + (f"{direct / value:.2f}× fewer)" if value <= direct
                                                      else f"{value / direct:.2f}× more)")
            lines.append(f"{PAD}= {shown}")
        if e.note:
            lines.append(f"    note: {e.note}")
    return lines


def _conv_lines(family: str, conv, batch: int, itemsize: int) -> list[str]:
    direct = int(conv.estimate("direct").multiplications)
    head = [f"conv `{conv.name}` ({conv.type}): {conv.conv_text()}, batch {batch}"]
    if conv.geometry is None:
        return head + [f"  not applicable: {conv.not_lowered}", f"  direct: the layer's MACs, {direct:,}"]
    return head + _estimate_lines(family, conv.geometry, batch, itemsize, direct)


def algorithm_lines(family: str) -> list[str]:
    """``convcalc explain FAMILY``: what it is, its source, and its formulas worked through :data:`EXAMPLE`."""
    from ..cost.algorithms import algorithms
    from ..cost.conventions import DTYPE_BYTES
    from ..spec.loader import load

    graph = load(EXAMPLE).expand()
    report = algorithms(graph)
    lines = _general(family) + ["", "example: conv 64→64, 3×3, padding 1, on 56×56 (a ResNet stage-1 conv), "
                                    f"{graph.dtype}:"]
    for conv in report.convs:
        lines += _conv_lines(family, conv, graph.batch, DTYPE_BYTES[graph.dtype])
    return lines + ["", f"`convcalc cost SPEC --algorithm {family}` lists every conv of a spec; `best` picks by "
                        f"{CHOSEN_BY} (docs/algorithms.md)"]


def algorithm_layer_lines(graph, family: str, name: str) -> list[str]:
    """``convcalc explain SPEC --layer NAME --algorithm FAMILY``: the family's formulas with that layer's numbers."""
    from ..cost.algorithms import algorithms
    from ..cost.conventions import DTYPE_BYTES

    if family not in FAMILIES:
        raise SpecError(f"--algorithm {shorten(family)}: `explain` takes one of {', '.join(FAMILIES)}", None,
                        did_you_mean(family, FAMILIES, "e.g. --algorithm winograd"))
    report = algorithms(graph)
    convs = [conv for conv in report.convs if conv.layer == name]
    if not convs:
        names = {node.name for node in graph.nodes}
        if name in names:
            raise SpecError(f"--layer `{shorten(name)}`: not a convolution (it has no MACs)", None,
                            f"`convcalc cost {graph.source}` lists the convs")
        raise SpecError(f"--layer `{shorten(name)}`: no layer of that name in {graph.name}", None,
                        did_you_mean(name, names, f"`convcalc analyze {graph.source}` lists the layer names"))
    title, source, _ = ABOUT[family]
    lines = [f"{family} — {title} ({source})", ""]
    for conv in convs:
        lines += _conv_lines(family, conv, graph.batch, DTYPE_BYTES[graph.dtype])
    return lines
