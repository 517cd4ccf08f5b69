"""Compare the cost model (:func:`convcalc.analysis.analyze`) with the NumPy executor (:func:`convcalc.executor.run`)
layer by layer: output shape (per sample), params and MACs (whole batch); with ``--rf`` the receptive-field probe,
with ``--train`` the backward MACs of a training step (:func:`check_training`). The module is long because it
holds these three checks of ``convcalc verify``, which share its result type and memory guard.

This module imports nothing heavy at import time; :func:`execute` imports the executor (and NumPy) when called.

Memory guard (:func:`estimate_peak_bytes`, :func:`probe_bytes`), an upper bound of the peak made before running,
in the executor's dtype: :mod:`convcalc.executor.memory` walks the graph as the executor runs it (the input, the
weights, the values still to be read) and adds, at each node, its kernel's own footprint, declared next to the
kernel from the arrays it allocates (and for the backward pass of the RF probe, each VJP's). The shapes and the
weight counts come from the report. On top: :data:`ALLOCATOR_SLACK`, for what the arrays' allocator and the
interpreter keep beyond the arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError, escaped
from .limits import check_number, decimal_value, shorten
from .numbers import fmt_bytes, grouped

#: bytes per element of the executor's dtypes
RUN_DTYPE_BYTES = {"float32": 4, "float64": 8}
SAFETY_FACTOR = 2  # (convcalc.importers.original's estimate)
DEFAULT_MAX_MEMORY = 4 * 2**30
#: the allocator's own share above the arrays' bytes (page rounding, heap fragmentation): a fraction, and bytes
ALLOCATOR_SLACK = (1 / 8, 2**20)

_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def parse_bytes(text: str) -> int:
    """``"512M"``, ``"4G"``, ``"1.5GiB"``, ``"1000000"`` → bytes (binary multiples: 1K = 1024)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if not match or unit not in _UNITS:
        raise SpecError(f"--max-memory `{escaped(shorten(str(text)))}`: cannot read it as a size", None,
                        "give a number of bytes with an optional unit, e.g. 512M, 4G, 1.5GiB")
    amount = decimal_value(match.group(1), None, "--max-memory")  # exact, and within ±10^100 (convcalc.limits)
    return check_number(int(amount * _UNITS[unit]), None, "--max-memory")


def human_bytes(n: int) -> str:
    """``1.5 GiB``: one decimal, exact for any size (numbers.fmt_bytes); beyond 10^30 bytes (an estimate of a
    hostile spec: no machine has that) its size in digits, ``1.0000e+100 (101 digits) B``, not a 70-digit YiB."""
    if n >= 10**30:
        from .limits import number_text

        return f"{number_text(n)} B"
    return fmt_bytes(n, places=1) if n >= 2**10 else f"{grouped(n)} B"


def _with_slack(peak: int) -> int:
    share, fixed = ALLOCATOR_SLACK
    return int(peak + peak * share) + fixed


def run_sizes(graph, report) -> tuple[dict, dict]:
    """What :mod:`convcalc.executor.memory` reads: every node's per-sample output shape (and the input's), and the
    elements of each node's weights and buffers, from the report."""
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    arrays = {layer.name: layer.params + layer.buffers for layer in report.layers}
    return shapes, arrays


def estimate_peak_bytes(graph, report, dtype: str = "float32") -> int:
    """Upper bound of the executor's peak memory in bytes running ``graph`` (see the module docstring)."""
    from .executor.memory import forward_peak

    shapes, arrays = run_sizes(graph, report)
    return _with_slack(forward_peak(graph, shapes, arrays, dtype))


def backward_bytes(graph, report, layer: str, dtype: str = "float64", batch: int = 1, after: int = 0,
                   **modes) -> int:
    """Upper bound of the peak memory of a forward run of ``graph`` at ``batch`` keeping every value, then the
    input gradient of ``layer`` (``modes``: ``max_as_sum``, ``gates``, ``rescale``, ``open_activations``, as
    :func:`convcalc.executor.backward.backward`), then ``after`` bytes the caller allocates beside them: the RF
    probe's, and the measured ERF's per sample."""
    import dataclasses

    from .executor.memory import backward_peak

    shapes, arrays = run_sizes(graph, report)
    return _with_slack(backward_peak(dataclasses.replace(graph, batch=batch), shapes, arrays, layer, dtype,
                                     after=after, **modes))


def memory_guard(graph, report, dtype: str, limit: int) -> int:
    """Raise :class:`MemoryRefused` when the estimate exceeds ``limit``; return the estimate otherwise."""
    estimate = estimate_peak_bytes(graph, report, dtype)
    if estimate > limit:
        raise MemoryRefused(estimate, limit, report.batch, dtype)
    return estimate


class MemoryRefused(Exception):
    """A run whose estimated peak is above ``--max-memory``, refused before it starts. The fix suggests only what
    would lower the estimate: a smaller ``--batch`` above batch 1, ``--dtype float32`` when running in float64
    (never when float32 is already in use), a smaller ``--input``; the RF probe (``probe=True``) always runs at
    batch 1 in float64 whatever the options, so its fix is an earlier ``--layer`` or a smaller ``--input``."""

    def __init__(self, estimate: int, limit: int, batch: int, dtype: str = "float32", probe: bool = False):
        self.estimate, self.limit, self.batch, self.dtype, self.probe = estimate, limit, batch, dtype, probe
        what = "batch 1, float64" if probe else f"{dtype}" + (f", batch {batch}" if batch > 1 else "")
        if probe:
            fixes = ["pick an earlier --layer", "a smaller --input (e.g. --input 3x64x64)"]
        else:
            fixes = ["use a smaller --batch"] if batch > 1 else []
            fixes.append("a smaller --input (e.g. --input 3x64x64)")
            if dtype == "float64":
                fixes.append("--dtype float32")
        super().__init__(
            f"refusing to run{' the RF probe' if probe else ''}: the estimated peak memory is "
            f"{human_bytes(estimate)} ({estimate:,} bytes, {what}), above the limit of {human_bytes(limit)} — "
            f"{', '.join(fixes)}, or raise --max-memory")


@dataclass
class Row:
    """One layer: analytic next to executed."""

    name: str
    type: str
    analytic_shape: list[int]
    executed_shape: list[int] | None
    analytic_params: int
    executed_params: int | None
    analytic_macs: int
    executed_macs: int | None

    @property
    def mismatches(self) -> list[str]:
        out = []
        if self.analytic_shape != self.executed_shape:
            out.append("output_shape")
        if self.analytic_params != self.executed_params:
            out.append("params")
        if self.analytic_macs != self.executed_macs:
            out.append("macs")
        return out

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def explain(self) -> str:
        """The first disagreement of this row, as a sentence."""
        what = self.mismatches
        if not what:
            return f"layer `{self.name}` ({self.type}) agrees"
        if self.executed_shape is None:
            return f"layer `{self.name}` ({self.type}) was not executed"
        key = what[0]
        label = {"output_shape": "output shape", "params": "params", "macs": "MACs"}[key]
        analytic = getattr(self, "analytic_" + key.replace("output_", ""))
        executed = getattr(self, "executed_" + key.replace("output_", ""))
        if key == "output_shape":
            analytic, executed = "×".join(map(str, analytic)), "×".join(map(str, executed))
        else:
            analytic, executed = f"{analytic:,}", f"{executed:,}"
        return (f"layer `{self.name}` ({self.type}): the cost model says {label} {analytic}, "
                f"but the executor produced {executed}")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "type": self.type, "ok": self.ok, "mismatches": self.mismatches,
            "analytic": {"output_shape": self.analytic_shape, "params": self.analytic_params,
                         "macs": self.analytic_macs},
            "executed": {"output_shape": self.executed_shape, "params": self.executed_params,
                         "macs": self.executed_macs},
        }


@dataclass
class VerifyResult:
    name: str
    batch: int
    dtype: str
    seed: int
    rows: list[Row]
    seconds: float = 0.0
    memory_estimate: int = 0
    rf: list = field(default_factory=list)  # RF probe results (dicts), when asked for
    train: list = field(default_factory=list)  # verify --train: TrainRow per layer
    report: Any = field(default=None, repr=False, compare=False)  # the analysis, for the RF probe


    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows) and all(axis.get("ok", True) for axis in self.rf) and \
            all(row.ok for row in self.train)

    @property
    def first_mismatch(self) -> Row | None:
        return next((row for row in self.rows if not row.ok), None)

    @property
    def first_mismatch_sentence(self) -> str | None:
        """The first disagreement (a layer's, else the RF probe's) in a sentence; None when all agree."""
        first = self.first_mismatch
        if first:
            return first.explain()
        rf = next((a["mismatch"] for a in self.rf if a.get("mismatch")), None)
        return rf or next((row.explain() for row in self.train if not row.ok), None)

    def to_dict(self) -> dict:
        sentence = self.first_mismatch_sentence
        return {
            "version": 1, "name": self.name, "batch": self.batch, "dtype": self.dtype, "seed": self.seed,
            "ok": self.ok, "seconds": round(self.seconds, 6), "memory_estimate_bytes": self.memory_estimate,
            "first_mismatch": sentence,
            "layers": [row.to_dict() for row in self.rows],
            "rf": self.rf or None,
            "train": [row.to_dict() for row in self.train] or None,
        }


def compare(report, execution) -> list[Row]:
    """Pair the report's layers with the executed ones by name, in the report's order."""
    executed = {layer.name: layer for layer in execution.layers}
    rows = []
    for layer in report.layers:
        got = executed.get(layer.name)
        rows.append(Row(
            name=layer.name, type=layer.type, analytic_shape=list(layer.output_shape),
            executed_shape=list(got.output_shape) if got else None,
            analytic_params=layer.params, executed_params=got.params if got else None,
            analytic_macs=layer.macs, executed_macs=got.macs if got else None))
    return rows


def verify(graph, seed: int = 0, dtype: str = "float32", max_memory: int = DEFAULT_MAX_MEMORY,
           progress=None) -> VerifyResult:
    """Analyse ``graph``, guard memory, run it, compare. Raises :class:`MemoryRefused` above ``max_memory``, and
    :class:`SpecError` for a placeholder (``unsupported``), which has no definition to run."""
    import time

    from .cost.analysis import analyze
    from .cost.report import refuse_placeholders
    from .executor import run
    from .executor.memory import release_freed_arrays

    report = analyze(graph)
    refuse_placeholders(report.unsupported, "verify", graph=graph)
    estimate = memory_guard(graph, report, dtype, max_memory)
    release_freed_arrays()  # so that the resident set stays within the estimate (convcalc.executor.memory)
    start = time.perf_counter()
    execution = run(graph, seed=seed, dtype=dtype, progress=progress)
    seconds = time.perf_counter() - start
    return VerifyResult(name=report.name, batch=report.batch, dtype=dtype, seed=seed,
                        rows=compare(report, execution), seconds=seconds, memory_estimate=estimate, report=report)


# ---- the receptive-field probe (verify --rf) --------------------------------------------------------------------
@dataclass
class RFAxis:
    """One spatial axis of the RF probe: the analytic window of the unit next to what the gradient reaches.

    ``first``/``size``: the analytic window ``rf.start + u·rf.jump … + size − 1`` (Araujo et al.: −P + u·j);
    ``measured_first``/``measured_last``: the first and last input index with a nonzero gradient marginal,
    ``span`` = last − first + 1, ``taps``: how many of the indices in between are nonzero (dilation leaves
    holes). ``status``: ``ok``; ``mismatch``; ``position-dependent`` (the measured window is that unit's exact
    window, not compared); ``misaligned`` (a misaligned merge upstream: the analytic RF is an approximation,
    not compared); ``data-dependent`` (a deformable conv upstream, not compared).
    """

    layer: str
    position: tuple
    axis: int
    index: int
    first: object  # Fraction
    size: int
    input_size: int
    measured_first: int | None
    measured_last: int | None
    taps: int
    status: str = "ok"
    note: str = ""

    @property
    def last(self):
        return self.first + self.size - 1

    @property
    def span(self) -> int:
        return 0 if self.measured_first is None else self.measured_last - self.measured_first + 1

    @property
    def clipped(self) -> bool:
        return self.first < 0 or self.last > self.input_size - 1

    @property
    def ok(self) -> bool:
        return self.status != "mismatch"

    def explain(self) -> str:
        unit = ",".join(map(str, self.position)) or "(flat)"
        window = f"{_fmt_num(self.first)} … {_fmt_num(self.last)}"
        got = ("no input position" if self.measured_first is None
               else f"{self.measured_first} … {self.measured_last} (span {self.span})")
        clip = " (clipped to the input 0 … {})".format(self.input_size - 1) if self.clipped else ""
        return (f"RF probe, `{self.layer}` unit {unit}, axis {self.axis}: the analytic RF is {self.size} inputs, "
                f"{window}{clip}, but the input gradient reaches {got}")

    def to_dict(self) -> dict:
        return {"layer": self.layer, "position": list(self.position), "axis": self.axis, "index": self.index,
                "analytic": {"first": _fmt_num(self.first, True), "last": _fmt_num(self.last, True),
                             "size": self.size, "clipped": self.clipped},
                "measured": {"first": self.measured_first, "last": self.measured_last, "span": self.span,
                             "taps": self.taps},
                "input_size": self.input_size, "status": self.status, "ok": self.ok, "note": self.note,
                "mismatch": None if self.ok else self.explain()}


def _fmt_num(value, json: bool = False):
    from fractions import Fraction

    from .numbers import fraction_text, json_number

    return json_number(Fraction(value)) if json else fraction_text(value)


def choose_unit(report, layer: str, shape, input_sizes) -> tuple[int, ...]:
    """The unit to probe: per axis, the index nearest the centre (``N // 2``) whose analytic window lies inside
    the input; the centre itself when no window fits.

    Unit i's window on an axis starts at s + i·j (start s, jump j > 0, both from the layer's RF) and spans r
    inputs, so it fits in 0 … N_in − 1 exactly for ⌈−s / j⌉ ≤ i ≤ ⌊(N_in − r − s) / j⌋: an interval of units. The
    fitting unit nearest the centre is the centre clamped to it (it lies on one side of the centre only, so there
    is no tie to break). Worked out, not searched: an axis of millions of units (a huge padding) costs no more
    than one of seven."""
    from math import ceil, floor

    from .erf.stats import rf_window

    sizes = list(shape[1:])
    windows = rf_window(report, layer, [0] * len(sizes))  # unit 0: (s, r) per axis
    rf = next(l.rf for l in report.layers if l.name == layer)
    chosen = []
    for axis, n in enumerate(sizes):
        centre = n // 2
        start, size = windows[axis]
        jump = rf.jump[axis]
        if jump <= 0:  # every unit has the same window (none moves): the centre, whether it fits or not
            chosen.append(centre)
            continue
        low, high = max(ceil(-start / jump), 0), min(floor((input_sizes[axis] - size - start) / jump), n - 1)
        chosen.append(min(max(centre, low), high) if low <= high else centre)
    return tuple(chosen)


def probe_layer(graph, report) -> str:
    """The layer the RF probe picks when none is given (:func:`convcalc.erf.stats.default_layer`)."""
    from .erf.stats import default_layer, off_grid

    shapes, _ = run_sizes(graph, report)
    return default_layer(graph, shapes, off_grid(report))


def probe_bytes(graph, report, layer: str) -> int:
    """Upper bound of the RF probe's peak memory (:func:`probe_rf`): the graph cut after ``layer`` at batch 1 in
    float64, every value kept, and its backward pass (sums for max/min pooling, activations open, rescaled); then
    the gradient's finite check (a byte an element), its magnitude and the magnitude's sum over channels."""
    import dataclasses
    from math import prod

    names = [node.name for node in graph.nodes]
    cut = dataclasses.replace(graph, nodes=graph.nodes[: names.index(layer) + 1], output=layer)
    elements = prod(graph.input_shape)
    after = elements * (1 + 8) + elements // max(graph.input_shape[0], 1) * 8
    return backward_bytes(cut, report, layer, "float64", 1, max_as_sum=True, gates=False, rescale=True,
                          open_activations=True, after=after)


@dataclass
class ProbePlan:
    """The RF probe checked before it runs (:func:`plan_probe`): its unit, the graph cut after that unit's layer,
    and its estimated peak memory."""

    layer: str
    position: tuple
    cut: object  # Graph
    estimate: int

    @property
    def steps(self) -> int:
        """Units of work for a progress bar: each node of the cut forward, then backward."""
        return 2 * len(self.cut.nodes)


def plan_probe(graph, report, layer: str | None = None, at=None, max_memory: int = DEFAULT_MAX_MEMORY) -> ProbePlan:
    """Everything :func:`probe_rf` checks before any work: no placeholder upstream, the layer (default: the last
    spatial one), a channels-first output, the unit, and the estimated peak memory within ``max_memory``
    (:class:`MemoryRefused`, ``probe=True``, otherwise). Cheap: shapes only, so ``verify --rf`` can refuse before
    its layer check runs."""
    import dataclasses

    from .cost.report import refuse_placeholders
    from .erf.stats import check_on_grid, check_position, off_grid

    refuse_placeholders(report.unsupported, "the RF probe (verify --rf)", graph=graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({l.name: tuple(l.output_shape) for l in report.layers})
    if layer is not None and (layer not in shapes or layer == graph.input_name):
        from .errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None,
                        did_you_mean(layer, [l.name for l in report.layers]))
    laid_out = off_grid(report)
    if layer is None:
        layer = probe_layer(graph, report)
    check_on_grid(layer, laid_out)
    shape = shapes[layer]
    position = check_position(layer, shape, at) if at is not None else choose_unit(report, layer, shape,
                                                                                   graph.input_shape[1:])
    estimate = probe_bytes(graph, report, layer)
    if estimate > max_memory:
        raise MemoryRefused(estimate, max_memory, 1, "float64", probe=True)
    names = [node.name for node in graph.nodes]
    cut = dataclasses.replace(graph, nodes=graph.nodes[: names.index(layer) + 1], output=layer, batch=1)
    return ProbePlan(layer, tuple(position), cut, estimate)


def probe_rf(graph, report, layer: str | None = None, at=None, max_memory: int = DEFAULT_MAX_MEMORY,
             plan: ProbePlan | None = None, progress=None) -> list[RFAxis]:
    """Measure which input positions influence one output unit, per axis, and compare with the analytic RF.

    All-ones weights (zero biases, batch norm = identity), max/min pooling as window sums (``max_as_sum``), a
    positive input (nothing cancels), float64; the input gradient of the unit summed over channels
    (:func:`convcalc.executor.backward.input_gradient`) with every activation's mask held open (ReLU6 above 6 or a
    saturated sigmoid would cut paths that exist), each node's gradient rescaled so deep networks do not
    overflow, and broadcast gates such as squeeze-and-excitation held constant (the analytic RF leaves global
    context out). Its per-axis marginal gives the influenced span and the nonzero taps.

    ``plan``: the checks already made (:func:`plan_probe`; made here otherwise). ``progress``: an object with
    ``phase(label, size)`` (:class:`convcalc.render.progress.Progress`), moved one unit per node forward and one
    per node backward, so a bar follows the backward pass too.
    """
    import numpy as np

    from .cost.rftable import rf_rows
    from .erf.stats import rf_window
    from .layers import REGISTRY
    from .executor import run
    from .executor.backward import input_gradient

    plan = plan or plan_probe(graph, report, layer, at, max_memory)
    layer, position, cut = plan.layer, plan.position, plan.cut
    from .executor.memory import release_freed_arrays

    release_freed_arrays()

    size = len(cut.nodes)
    ex = run(cut, dtype="float64", x=np.ones((1, *graph.input_shape)), weights="ones", max_as_sum=True,
             keep=True, progress=progress.phase("RF probe forward", size) if progress is not None else None)
    grad = input_gradient(cut, ex, layer, position, gates=False, rescale=True, open_activations=True,
                          progress=progress.phase("RF probe backward", size) if progress is not None else None)
    if not np.all(np.isfinite(grad)):
        raise SpecError(f"the RF probe of `{layer}` overflowed float64 (all-ones weights grow the signal by the "
                        "fan-in at every layer)", None, "pick an earlier --layer")
    magnitude = np.abs(grad[0]).sum(axis=0)  # over channels

    rows = {row.name: row for row in rf_rows(graph, report)}
    upstream = _upstream(graph, layer)
    misaligned = [name for name in upstream if rows[name].merge == "misaligned"]
    deformable = [name for name in upstream if REGISTRY[rows[name].type].data_dependent_window]
    layer_rf = next(l.rf for l in report.layers if l.name == layer)
    windows = rf_window(report, layer, position)
    rank = magnitude.ndim
    axes = []
    for axis in range(rank):
        marginal = magnitude.sum(axis=tuple(a for a in range(rank) if a != axis))
        nonzero = np.flatnonzero(marginal)
        first, size = windows[axis]
        n = graph.input_shape[1 + axis]
        probe = RFAxis(layer, tuple(position), axis, position[axis] if position else 0, first, size, n,
                       int(nonzero[0]) if nonzero.size else None, int(nonzero[-1]) if nonzero.size else None,
                       int(nonzero.size))
        if layer_rf.position_dependent:
            probe.status = "position-dependent"
            probe.note = ("position-dependent layers upstream: the measured window is this unit's exact window "
                          f"(the analytic RF, {size}, is the widest)")
        elif deformable:
            probe.status = "data-dependent"
            probe.note = (f"deformable `{deformable[0]}` upstream: where it samples depends on the data (with "
                          "all-ones weights the offsets are huge), so the measured window is shown, not compared")
        elif misaligned:
            probe.status = "misaligned"
            probe.note = (f"misaligned merge `{misaligned[0]}` upstream: the analytic RF (the largest input's) is "
                          "an approximation there, so the measured window is shown, not compared")
        else:
            probe.status, probe.note = _compare(probe)
        axes.append(probe)
    return axes


def _compare(p: RFAxis) -> tuple[str, str]:
    """Check the measured window against the analytic one (clipped to the input when it reaches past a border:
    then the measured window must lie inside the clipped one and match on every side that is not clipped)."""
    from fractions import Fraction
    from math import ceil, floor

    if p.measured_first is None:
        return "mismatch", "the gradient reaches no input position"
    first, last = Fraction(p.first), Fraction(p.last)
    if first.denominator != 1 and not p.clipped:
        # a jump below 1 (after upsampling): −P + u·j is a coordinate between inputs, not an index
        ok = p.span == p.size and floor(first) <= p.measured_first <= ceil(first)
        return ("ok" if ok else "mismatch"), (f"fractional start {_fmt_num(first)} (a jump below 1, after "
                                              "upsampling): the first index is compared to within one input")
    if not p.clipped:
        ok = p.measured_first == first and p.span == p.size
        return ("ok" if ok else "mismatch"), ""
    lo, hi = max(first, 0), min(last, p.input_size - 1)
    ok = lo <= p.measured_first and p.measured_last <= hi
    if first >= 0:
        ok = ok and p.measured_first == first
    if last <= p.input_size - 1:
        ok = ok and p.measured_last == last
    return ("ok" if ok else "mismatch"), (f"the analytic window {_fmt_num(first)} … {_fmt_num(last)} reaches past "
                                          f"the input (0 … {p.input_size - 1}): compared clipped")


def _upstream(graph, layer: str) -> list[str]:
    """The nodes ``layer`` depends on (itself included), in graph order."""
    by_name = {node.name: node for node in graph.nodes}
    seen, stack = set(), [layer]
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        stack.extend(by_name[name].inputs)
    return [node.name for node in graph.nodes if node.name in seen]


# ---- the training step (verify --train) --------------------------------------------------------------------------
@dataclass
class TrainRow:
    """One layer's backward MACs: the cost model's (``convcalc cost --train``) next to the executor's training
    step (:mod:`convcalc.executor.backward.train`), whole batch."""

    name: str
    type: str
    analytic: tuple[int, int]   # (dx_macs, dw_macs)
    executed: tuple[int, int]

    @property
    def ok(self) -> bool:
        return self.analytic == self.executed

    def explain(self) -> str:
        for index, label in enumerate(("input-gradient (dX)", "weight-gradient (dW)")):
            if self.analytic[index] != self.executed[index]:
                return (f"layer `{self.name}` ({self.type}): the cost model says {label} MACs "
                        f"{self.analytic[index]:,}, but the executor's training step did {self.executed[index]:,}")
        return f"layer `{self.name}` ({self.type}) agrees"

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "ok": self.ok,
                "analytic": {"dx_macs": self.analytic[0], "dw_macs": self.analytic[1]},
                "executed": {"dx_macs": self.executed[0], "dw_macs": self.executed[1]}}


def train_bytes(report, dtype: str) -> int:
    """Upper bound of the training step's memory: every activation kept (the forward's values), their gradients
    and the widest kernel's workspace, taken as twice the activations again; the weights and their gradients."""
    from .cost.conventions import DTYPE_BYTES

    from fractions import Fraction

    scale = Fraction(DTYPE_BYTES[dtype], DTYPE_BYTES[report.dtype])
    return _with_slack(int(scale * (4 * report.totals.activation_bytes + 2 * report.weight_bytes)))


def check_training(graph, report, seed: int = 0, dtype: str = "float32", freeze=(),
                   max_memory: int = DEFAULT_MAX_MEMORY) -> list[TrainRow]:
    """Run the executor's training step and pair its per-layer backward MACs with the cost model's."""
    from .cost.training import frozen_names, training
    from .executor import run
    from .executor.backward.train import train_step_counts

    estimate = train_bytes(report, dtype)
    if estimate > max_memory:
        raise MemoryRefused(estimate, max_memory, graph.batch, dtype)
    model = training(graph, report, freeze)
    ex = run(graph, seed=seed, dtype=dtype, keep=True)
    step = train_step_counts(graph, ex, frozen_names(graph, freeze), seed=seed)
    return [TrainRow(row.name, row.type, (row.dx_macs, row.dw_macs),
                     (step.layers[row.name].dx_macs, step.layers[row.name].dw_macs)) for row in model.layers]
