"""How each convolution could be computed: direct, im2col + GEMM, Winograd F(2×2,3×3) / F(4×4,3×3), FFT.

``convcalc cost SPEC --algorithm …`` (docs/algorithms.md states every formula with its source). Each conv layer
answers ``conv_lowering(ins)`` (:mod:`convcalc.layers.lowering`): the plain convolutions it runs, each with its
geometry, or why none applies (transposed, deformable, unshared). Every algorithm is one function of that geometry,
written once with the quantities of :mod:`convcalc.layers.formula`, so the same code gives the exact ints of the
table and the formulas and worked arithmetic of ``convcalc explain winograd``. Conventions (per conv, for the whole
batch B; per group where the conv is grouped):

* **multiplications** — the products whose operands are both data or weights: the direct MACs, the GEMM's
  M·N·K, the elementwise products of the transformed domain (Winograd), the pointwise complex products as 4 real
  multiplications (FFT). What the chooser compares by default.
* **transform ops** — the arithmetic of the input and output transforms per run (additions and multiplications by
  constants), counted from the transform matrices; **filter ops** — the filter (kernel) transform, once per set of
  weights (precomputed at inference), never multiplied by the batch.
* **workspace** — the elements an algorithm holds besides the input, weights and output (the lowered matrix; the
  transformed tiles, filters and products), in bytes at the spec's dtype.
* **compute classes** (docs/roofline.md, "Compute classes"; what ``--algorithm best --device`` times): the
  multiplications of every algorithm are a matrix product over the group's input channels when the group has at
  least 2 of them (:func:`products_are_gemm`) — direct and im2col the conv's GEMM, Winograd α² batched GEMMs of
  (C_out/g) × (C_in/g) × T·B (Lavin & Gray §5), FFT one complex GEMM per frequency over the channels — and vector
  work with one input channel per group; the transforms (Winograd's input and output transforms, the FFTs) are
  always vector work; the im2col copy is workspace traffic, no FLOPs.

The chooser (:func:`choose`) takes a cost function of an :class:`Estimate` (default :func:`by_multiplications`), so
a roofline model (issue 17, later) can plug in its own time estimate without touching the algorithms.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import Callable

from ..layers.formula import NUMERIC

#: the algorithm families of ``--algorithm`` (besides ``all`` and ``best``), in table order
FAMILIES = ("direct", "im2col", "winograd", "fft")
#: how the default chooser ranks the estimates
CHOSEN_BY = "multiplications"

F = Fraction


# ---- the transform matrices of Lavin & Gray 2016 (arXiv:1509.09308), Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A ----------------
class WinogradVariant:
    """F(m×m, r×r) nested from the 1-D F(m, r) with the points of Lavin & Gray: ``bt`` (α×α), ``g`` (α×r) and ``at``
    (m×α), α = m + r − 1. Per-tile op counts come from the matrices (:func:`transform_ops`)."""

    def __init__(self, key: str, label: str, m: int, r: int, bt, g, at, paper_ops: tuple[int, int, int]):
        self.key, self.label, self.m, self.r = key, label, m, r
        self.bt, self.g, self.at = bt, g, at
        self.alpha = m + r - 1
        #: the 2-D (input, filter, output) transform ops Lavin & Gray give, with shared sub-expressions (shown
        #: beside convcalc's own count, which the estimates use)
        self.paper_ops = paper_ops

    @property
    def input_ops(self) -> int:
        """Bᵀ d B on one α×α tile: α column transforms, then α row transforms."""
        return 2 * self.alpha * transform_ops(self.bt)

    @property
    def filter_ops(self) -> int:
        """G g Gᵀ on one r×r filter: r column transforms (G·g), then α row transforms."""
        return (self.r + self.alpha) * transform_ops(self.g)

    @property
    def output_ops(self) -> int:
        """Aᵀ M A on one α×α product tile: α column transforms (Aᵀ·M), then m row transforms."""
        return (self.alpha + self.m) * transform_ops(self.at)


def transform_ops(matrix) -> int:
    """The arithmetic of one 1-D transform ``matrix · v``, row by row: (nonzeros − 1) additions, and one
    multiplication per entry other than 0 and ±1 (no common sub-expressions shared between rows)."""
    ops = 0
    for row in matrix:
        nonzero = [v for v in row if v]
        ops += max(len(nonzero) - 1, 0) + sum(1 for v in nonzero if abs(v) != 1)
    return ops


WINOGRAD = (
    # F(2, 3): points 0, 1, −1 and ∞ (Lavin & Gray §4.1)
    WinogradVariant("winograd_2x2_3x3", "winograd F(2×2,3×3)", 2, 3,
                    bt=((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)),
                    g=((1, 0, 0), (F(1, 2), F(1, 2), F(1, 2)), (F(1, 2), F(-1, 2), F(1, 2)), (0, 0, 1)),
                    at=((1, 1, 1, 0), (0, 1, -1, -1)), paper_ops=(32, 28, 24)),
    # F(4, 3): points 0, ±1, ±2 and ∞ (Lavin & Gray §4.3)
    WinogradVariant("winograd_4x4_3x3", "winograd F(4×4,3×3)", 4, 3,
                    bt=((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0), (0, -2, -1, 2, 1, 0),
                        (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1)),
                    g=((F(1, 4), 0, 0), (F(-1, 6), F(-1, 6), F(-1, 6)), (F(-1, 6), F(1, 6), F(-1, 6)),
                       (F(1, 24), F(1, 12), F(1, 6)), (F(1, 24), F(-1, 12), F(1, 6)), (0, 0, 1)),
                    at=((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1)),
                    paper_ops=(156, 72, 100)),
)

#: the real operations of one complex radix-2 FFT of N points: 5·N·log₂N (N/2·log₂N butterflies, each one complex
#: multiplication, 6 real ops, and two complex additions, 4) — Mathieu et al.'s constant C in 2Cn²·log n per map
FFT_OPS_PER_POINT_LOG = 5
#: real multiplications of one complex product (Mathieu et al.'s 4·S·f·f'·n²)
COMPLEX_PRODUCT = 4


# ---- one algorithm on one conv ------------------------------------------------------------------------------------
class Estimate:
    """One algorithm (variant) on one conv: the counts (ints, or terms of :data:`~convcalc.layers.formula.SYMBOLIC`
    for explain), its GEMM or tile shape (``shape``, plain ints), and for a variant that does not apply, ``reason``
    (a sentence) and ``why`` (a few words for the tables); its counts are then None."""

    __slots__ = ("algorithm", "family", "label", "multiplications", "transform_ops", "filter_ops",
                 "workspace_elements", "workspace_bytes", "shape", "reason", "why", "note", "gemm")

    def __init__(self, algorithm: str, family: str, label: str, multiplications=None, transform_ops=None,
                 filter_ops=None, workspace_elements=None, itemsize: int = 4, shape: dict | None = None,
                 reason: str = "", why: str = "", note: str = "", gemm: bool = False):
        self.algorithm, self.family, self.label = algorithm, family, label
        #: its multiplications are a matrix product (:func:`products_are_gemm`): at the GEMM peak; its transforms,
        #: and its products when this is False, are vector work
        self.gemm = gemm
        self.multiplications, self.transform_ops, self.filter_ops = multiplications, transform_ops, filter_ops
        self.workspace_elements = workspace_elements
        self.workspace_bytes = None if workspace_elements is None else workspace_elements * itemsize
        self.shape, self.reason, self.why, self.note = shape or {}, reason, why, note

    @property
    def applicable(self) -> bool:
        return not self.reason

    def to_dict(self) -> dict:
        values = {key: _int(getattr(self, key)) for key in ("multiplications", "transform_ops", "filter_ops",
                                                            "workspace_bytes")}
        return {"algorithm": self.algorithm, "applicable": self.applicable, "reason": self.reason, **values,
                "shape": self.shape, "note": self.note}


def _int(value):
    return None if value is None else int(getattr(value, "value", value))


def not_applicable(algorithm: str, family: str, label: str, reason: str, why: str) -> Estimate:
    return Estimate(algorithm, family, label, reason=reason, why=why)


def products_are_gemm(g) -> bool:
    """Whether an algorithm's products on conv ``g`` are a matrix product: each group reduces over at least 2 input
    channels — the layer rule of docs/roofline.md, "Compute classes" (``Conv.gemm_flops``), applied to every
    algorithm's products, since each sums them over the group's input channels. With one input channel per group
    (depthwise) nothing is left to block a GEMM over: the products are elementwise, vector work."""
    return g.c_in // g.groups >= 2


def _common(g, batch, q):
    """B, C_out, (C_in/g), Πk, ΠN_out as quantities of ``q``."""
    return (q("B", batch), q("C_out", g.c_out), q.per_group("C_in", g.c_in, g.groups), q.prod("k", g.kernel),
            q.prod("N_out", g.out_sizes))


def direct(g, batch: int, itemsize: int, q=NUMERIC) -> list[Estimate]:
    """One multiplication per output element, input channel of its group and kernel tap: the layer's MACs."""
    b, c_out, per_group, taps, positions = _common(g, batch, q)
    return [Estimate("direct", "direct", "direct", b * c_out * positions * per_group * taps, 0, 0, 0, itemsize,
                     note="the layer's MACs; no workspace", gemm=products_are_gemm(g))]


def im2col(g, batch: int, itemsize: int, q=NUMERIC) -> list[Estimate]:
    """Per group, the lowered matrix (K × N) times the weights (M × K): M = C_out/g, N = ΠN_out·B, K = (C_in/g)·Πk."""
    b, _, per_group, taps, positions = _common(g, batch, q)
    groups = q("g", g.groups)
    m = q.per_group("C_out", g.c_out, g.groups)
    n, k = q.named("N", positions * b, expand=False), q.named("K", per_group * taps, expand=False)
    copy_free = all(v == 1 for v in (*g.kernel, *g.stride)) and not any(p for pair in g.pads for p in pair)
    workspace = 0 if copy_free else groups * k * n
    note = ("1×1, stride 1, no padding: the input already is the matrix, no copy" if copy_free
            else "workspace: the lowered matrix, g·K·N elements")
    shape = {"groups": g.groups, "m": g.c_out // g.groups, "n": prod(g.out_sizes) * batch,
             "k": g.c_in // g.groups * prod(g.kernel)}
    return [Estimate("im2col", "im2col", "im2col + GEMM", groups * m * n * k, 0, 0, workspace, itemsize, shape,
                     note=note, gemm=products_are_gemm(g))]


def _winograd_reason(g) -> tuple[str, str]:
    """Why F(m×m, 3×3) does not apply to ``g`` ("" when it does), and the few words of the table."""
    if len(g.kernel) != 2:
        return (f"{len(g.kernel)}-D conv: convcalc models the 2-D F(m×m, 3×3) of Lavin & Gray only (the 1-D F(m, 3) "
                "and 3-D nestings exist but are not modelled)", f"{len(g.kernel)}-D")
    if tuple(g.kernel) != (3, 3):
        return f"kernel {'×'.join(map(str, g.kernel))}: F(m×m, 3×3) needs a 3×3 kernel", \
            f"kernel {'×'.join(map(str, g.kernel))}"
    if tuple(g.stride) != (1, 1):
        return (f"stride {'×'.join(map(str, g.stride))}: the minimal filtering algorithm computes m adjacent outputs "
                "of a stride-1 correlation", f"stride {'×'.join(map(str, g.stride))}")
    if tuple(g.dilation) != (1, 1):
        return (f"dilation {'×'.join(map(str, g.dilation))}: a tile reads adjacent taps",
                f"dilation {'×'.join(map(str, g.dilation))}")
    return "", ""


def winograd(g, batch: int, itemsize: int, q=NUMERIC) -> list[Estimate]:
    """F(2×2,3×3) and F(4×4,3×3) (Lavin & Gray 2016): T = ceil(H_out/m)·ceil(W_out/m) tiles per map; per tile and
    (input, output) channel pair of a group α² = (m + 2)² elementwise products (α² GEMMs per group of
    (C_out/g) × (C_in/g) × T·B); input transform per tile per input channel, output transform per tile per output
    channel, filter transform once per (output, input) channel pair."""
    reason, why = _winograd_reason(g)
    if reason:
        return [not_applicable(v.key, "winograd", v.label, reason, why) for v in WINOGRAD]
    out = []
    b, c_out, per_group, _, _ = _common(g, batch, q)
    c_in = q("C_in", g.c_in)
    for v in WINOGRAD:
        m = q("m", v.m)
        tiles = q.named("T", q.ceil_div(q("H_out", g.out_sizes[0]), m) * q.ceil_div(q("W_out", g.out_sizes[1]), m),
                        expand=False)
        alpha2 = q("α²", v.alpha ** 2)
        products = alpha2 * c_out * per_group * tiles * b
        transforms = q("t_in", v.input_ops) * tiles * c_in * b + q("t_out", v.output_ops) * tiles * c_out * b
        filters = q("t_f", v.filter_ops) * c_out * per_group
        workspace = alpha2 * (c_in * tiles * b + c_out * per_group + c_out * tiles * b)
        t = -(-g.out_sizes[0] // v.m) * -(-g.out_sizes[1] // v.m)
        shape = {"m": v.m, "r": v.r, "alpha": v.alpha, "tiles": t, "gemms": v.alpha ** 2 * g.groups,
                 "gemm": {"m": g.c_out // g.groups, "n": t * batch, "k": g.c_in // g.groups}}
        out.append(Estimate(v.key, "winograd", v.label, products, transforms, filters, workspace, itemsize, shape,
                            note=f"per tile: input {v.input_ops}, output {v.output_ops}, filter {v.filter_ops} ops",
                            gemm=products_are_gemm(g)))
    return out


def fft_size(n: int) -> int:
    """The FFT length along an axis of ``n`` padded positions: the next power of two (a radix-2 FFT)."""
    return 1 << max(n - 1, 0).bit_length()


def fft(g, batch: int, itemsize: int, q=NUMERIC) -> list[Estimate]:
    """Mathieu, Henaff & LeCun 2014: transform every input map, kernel and output map once (5·N·log₂N real ops
    each, N = Πn, n the padded input size rounded up to a power of two), multiply pointwise (4 real multiplications
    per complex product, per (input, output) channel pair of a group), accumulate over the group's input channels."""
    if any(s != 1 for s in g.stride):
        stride = "×".join(map(str, g.stride))
        return [not_applicable("fft", "fft", "fft", f"stride {stride}: the FFT computes every stride-1 output; "
                               "Mathieu et al.'s model is for stride 1 (the strided outputs would be a subsample)",
                               f"stride {stride}")]
    b, c_out, per_group, _, _ = _common(g, batch, q)
    c_in = q("C_in", g.c_in)
    sizes = [fft_size(n + pb + pa) for n, (pb, pa) in zip(g.in_sizes, g.pads)]
    points = q.named("N", q.prod("n", sizes), expand=False)
    log = q("log₂N", prod(sizes).bit_length() - 1)
    per_map = q.named("t_map", FFT_OPS_PER_POINT_LOG * points * log, expand=False)
    products = COMPLEX_PRODUCT * b * c_out * per_group * points
    transforms = per_map * (b * c_in + b * c_out)
    filters = per_map * c_out * per_group
    workspace = 2 * points * (b * c_in + c_out * per_group + b * c_out)
    shape = {"fft_size": sizes, "points": prod(sizes)}
    return [Estimate("fft", "fft", "fft", products, transforms, filters, workspace, itemsize, shape,
                     note=f"FFT size {'×'.join(map(str, sizes))} (padded input, next power of two)",
                     gemm=products_are_gemm(g))]


#: family → (title, source, what it does): what ``convcalc explain FAMILY`` opens with (docs/algorithms.md says more)
ABOUT = {
    "direct": ("direct convolution", "the definition (torch.nn.Conv2d)",
               "every output element sums (C_in/g)·Πk products of its window: the layer's MACs, no workspace."),
    "im2col": ("im2col + GEMM", "Chellapilla, Puri & Simard 2006, \"High Performance Convolutional Neural Networks "
               "for Document Processing\"; Caffe's im2col",
               "each group's input windows are copied into a matrix of K = (C_in/g)·Πk rows and N = ΠN_out·B "
               "columns (the lowered matrix), and one GEMM per group multiplies the (M = C_out/g) × K weights by it: "
               "the same products as direct, in one dense matrix product."),
    "winograd": ("Winograd minimal filtering F(m×m, 3×3)", "Lavin & Gray 2016, \"Fast Algorithms for Convolutional "
                 "Neural Networks\", arXiv:1509.09308",
                 "each m×m block of outputs is computed from an α×α input tile (α = m + 2): Y = Aᵀ[(G g Gᵀ) ⊙ "
                 "(Bᵀ d B)]A, α² elementwise products per tile and (input, output) channel pair instead of m²·9; "
                 "summed over the group's input channels, these are α² GEMMs per group of (C_out/g) × (C_in/g) × "
                 "T·B. 2-D, 3×3, stride 1, dilation 1 only."),
    "fft": ("FFT convolution", "Mathieu, Henaff & LeCun 2014, \"Fast Training of Convolutional Networks through "
            "FFTs\", arXiv:1312.5851",
            "every input map, kernel and output map is transformed once (2-D: 2C·n²·log₂n real ops, C = 5, i.e. "
            "5·N·log₂N with N = n²) and each (input, output) channel pair of a group costs one pointwise complex "
            "product per frequency (4 real multiplications): 2C·n²·log n·(S·f + S·f' + f·f') + 4·S·f·f'·n². The "
            "transform size n is the padded input rounded up to a power of two; stride 1 only."),
}

#: every variant's key → its family, in table order
VARIANTS = {"direct": "direct", "im2col": "im2col", **{v.key: "winograd" for v in WINOGRAD}, "fft": "fft"}

#: family → its estimator
ESTIMATORS: dict[str, Callable] = {"direct": direct, "im2col": im2col, "winograd": winograd, "fft": fft}


# ---- choosing -----------------------------------------------------------------------------------------------------
def by_multiplications(estimate: Estimate):
    """The default cost: multiplications, then workspace (direct before im2col, which ties with it)."""
    return (int(estimate.multiplications), int(estimate.workspace_bytes))


def _ratio(direct_count: int, count: int) -> str:
    if count == direct_count:
        return "= direct"
    if count < direct_count:
        return f"{direct_count / count:.2f}× fewer"
    return f"{count / direct_count:.2f}× more" if direct_count else "more"


def choose(estimates: list[Estimate], cost: Callable = by_multiplications) -> tuple[Estimate, str]:
    """The cheapest applicable estimate by ``cost`` (the first on a tie), and the reason in a few words: how it
    compares with direct, and what the others came to."""
    applicable = [e for e in estimates if e.applicable]
    best = min(applicable, key=cost)
    base = int(next(e for e in estimates if e.family == "direct").multiplications)
    parts = []
    for e in estimates:
        if e is best or e.family == "direct" or e.family == "im2col" and e.applicable:
            continue  # the ratios are to direct; im2col computes direct's products as a GEMM
        text = f"{e.family} n/a ({e.why})" if not e.applicable else f"{e.label} {_ratio(base, int(e.multiplications))}"
        if text not in parts:  # both Winograd variants fail for the same reason: said once
            parts.append(text)
    head = "fewest multiplications" if best.family == "direct" else f"{_ratio(base, int(best.multiplications))} " \
                                                                    "multiplications than direct"
    if best.family == "direct" and any(e.family == "im2col" and e.applicable for e in estimates):
        head += " (im2col ties, with a workspace)"
    saved = base - int(best.multiplications)
    if best.family != "direct" and int(best.transform_ops) > saved:
        # multiplications alone favour it, but its per-run transforms cost more than it saves (a roofline would say)
        head += f" — but its transforms ({int(best.transform_ops):,} ops per run) exceed the {saved:,} saved"
    return best, "; ".join([head] + parts)


# ---- a network ----------------------------------------------------------------------------------------------------
class ConvAlgorithms:
    """One conv of a network (a layer, or a conv stage of a composite layer) with every estimate and the choice."""

    __slots__ = ("layer", "stage", "type", "geometry", "estimates", "best", "reason", "not_lowered")

    def __init__(self, layer: str, stage: str, type: str, geometry, estimates: list[Estimate], best: Estimate,
                 reason: str, not_lowered: str = ""):
        self.layer, self.stage, self.type, self.geometry = layer, stage, type, geometry
        self.estimates, self.best, self.reason, self.not_lowered = estimates, best, reason, not_lowered

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.stage}" if self.stage else self.layer

    def conv_text(self) -> str:
        """``64→64 3×3 s1 @56×56`` (``g32`` when grouped, ``d2`` when dilated)."""
        g = self.geometry
        if g is None:
            return "—"
        axes = lambda values: "×".join(map(str, values))  # noqa: E731
        text = f"{g.c_in}→{g.c_out} {axes(g.kernel)} s{axes(g.stride) if len(set(g.stride)) > 1 else g.stride[0]}"
        if g.groups != 1:
            text += f" g{g.groups}"
        if any(d != 1 for d in g.dilation):
            text += f" d{axes(g.dilation)}"
        return text + f" @{axes(g.in_sizes)}"

    def estimate(self, algorithm: str) -> Estimate:
        return next(e for e in self.estimates if e.algorithm == algorithm)

    def to_dict(self, families=FAMILIES) -> dict:
        g = self.geometry
        conv = None if g is None else {
            "in_channels": g.c_in, "out_channels": g.c_out, "groups": g.groups, "kernel": list(g.kernel),
            "stride": list(g.stride), "dilation": list(g.dilation), "padding": [list(p) for p in g.pads],
            "input": list(g.in_sizes), "output": list(g.out_sizes)}
        return {"layer": self.layer, "stage": self.stage, "type": self.type, "conv": conv,
                "not_lowered": self.not_lowered,
                "estimates": [e.to_dict() for e in self.estimates if e.family in families],
                "best": {"algorithm": self.best.algorithm, "reason": self.reason}}


class AlgorithmReport:
    """Every conv of a network with its estimates: what ``convcalc cost`` renders."""

    __slots__ = ("name", "batch", "dtype", "convs", "chosen_by", "unsupported")

    def __init__(self, name: str, batch: int, dtype: str, convs: list[ConvAlgorithms], chosen_by: str = CHOSEN_BY,
                 unsupported: list[str] | None = None):
        self.name, self.batch, self.dtype, self.convs, self.chosen_by = name, batch, dtype, convs, chosen_by
        #: the placeholder layers of an import (``--allow-unsupported``): their cost is unknown, not zero
        self.unsupported = unsupported or []

    def totals(self) -> dict:
        """Per algorithm (variant): the multiplications summed over the convs it applies to, and how many; and the
        sum of the chosen ones (``best``)."""
        out = {key: {"multiplications": 0, "convs": 0, "not_applicable": 0} for key in VARIANTS}
        for conv in self.convs:
            for e in conv.estimates:
                entry = out[e.algorithm]
                if e.applicable:
                    entry["multiplications"] += int(e.multiplications)
                    entry["convs"] += 1
                else:
                    entry["not_applicable"] += 1
        out["best"] = {"multiplications": sum(int(c.best.multiplications) for c in self.convs),
                       "convs": len(self.convs), "not_applicable": 0}
        return out

    def to_dict(self, families=FAMILIES) -> dict:
        totals = self.totals()
        keep = {key for key, family in VARIANTS.items() if family in families} | {"best"}
        return {"version": 1, "name": self.name, "batch": self.batch, "dtype": self.dtype,
                "cost": {"algorithms": {"chosen_by": self.chosen_by, "families": list(families),
                                        "layers": [c.to_dict(families) for c in self.convs],
                                        "totals": {k: v for k, v in totals.items() if k in keep},
                                        "unsupported": list(self.unsupported)}}}


def conv_estimates(g, batch: int, itemsize: int, q=NUMERIC) -> list[Estimate]:
    """Every algorithm on one conv geometry, in table order."""
    return [e for family in FAMILIES for e in ESTIMATORS[family](g, batch, itemsize, q)]


def unlowered_estimates(macs: int, reason: str) -> list[Estimate]:
    """A conv-like layer no algorithm applies to: its direct count (the layer's MACs) and the reason for the rest."""
    out = [Estimate("direct", "direct", "direct", macs, 0, 0, 0, note="the layer's MACs")]
    for family in FAMILIES[1:]:
        variants = [(v.key, v.label) for v in WINOGRAD] if family == "winograd" else \
            [("im2col", "im2col + GEMM")] if family == "im2col" else [("fft", "fft")]
        out += [not_applicable(key, family, label, reason, "see reason") for key, label in variants]
    return out


def algorithms(graph, report=None, cost: Callable = by_multiplications) -> AlgorithmReport:
    """Every conv of ``graph`` (a layer answering ``conv_lowering``, or any layer with MACs, said to declare none)
    with its estimates and the cheapest by ``cost``."""
    from ..layers import REGISTRY
    from ..layers.base import own
    from ..layers.lowering import NotLowered
    from .analysis import analyze
    from .conventions import DTYPE_BYTES

    report = report if report is not None else analyze(graph)
    itemsize = DTYPE_BYTES[graph.dtype]
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})
    rows = {row.name: row for row in report.layers}
    convs, unsupported = [], []
    for node in graph.nodes:
        cls = REGISTRY[node.kind]
        if cls.placeholder:  # an operator no kind describes: unknown, listed apart
            unsupported.append(node.name)
            continue
        answer = own(cls, "conv_lowering")
        row = rows[node.name]
        if answer is None:
            if not row.macs:
                continue
            lowered = NotLowered(f"`{node.kind}` declares no conv lowering (it is not a plain convolution)")
        else:
            lowered = answer(cls(node), [shapes[name] for name in node.inputs])
        if isinstance(lowered, NotLowered):
            estimates = unlowered_estimates(row.macs, lowered.reason)
            best, reason = choose(estimates, cost)
            convs.append(ConvAlgorithms(node.name, "", node.kind, None, estimates, best,
                                        f"only direct applies: {lowered.reason}", lowered.reason))
            continue
        for stage in lowered:
            estimates = conv_estimates(stage.geometry, graph.batch, itemsize)
            best, reason = choose(estimates, cost)
            convs.append(ConvAlgorithms(node.name, stage.stage, node.kind, stage.geometry, estimates, best, reason))
    return AlgorithmReport(graph.name, graph.batch, graph.dtype, convs, unsupported=unsupported)
