"""``verify --against-original``: does an import mean what the model means? Run the original model (onnxruntime,
torch) and the NumPy executor with the model's real weights on the same input, and compare every mapped tensor.

:func:`check` loads each layer's arrays (:attr:`ImportedLayer.arrays`, in the order and layout the executor's
kernel allocates them) into the executor as a preset (``convcalc.executor.run(weights=...)``), runs the spec the
import became and the original (:meth:`Original.run`) on one seeded standard-normal batch, and compares, in the
graph's order, each layer that names a ``tensor`` with the original's value of that tensor. The output is the last
layer's tensor. Layers with no ``tensor`` (the original has no such value, e.g. a fused op) are skipped and
counted.

Errors, per tensor, in float64 whatever the run's dtype (``a`` the executor's value, ``b`` the original's)::

    max abs = max |a − b|
    max rel = max |a − b| / max(|b|, s),   s = √(mean b²)   (the RMS of the original's tensor)

A plain relative error |a − b| / |b| is meaningless where ``b`` is near zero (half of a ReLU's outputs, sums that
cancel), yet rounding errors there are as large as anywhere: they scale with the magnitude of the terms summed,
not with the result. The RMS is the tensor's typical magnitude, so an element is measured against its own size
when it is large and against the tensor's typical size when it is small; the max rel error is therefore at most
max abs / RMS. (An all-zero tensor has ``s`` = the smallest normal float64, so any difference there fails.)

A tensor agrees when its shapes match, the values are finite where the other's are, and max rel ≤ the layer's
tolerance:

* float64: a fixed 1e-10. Both sides round at u = 2⁻⁵³ ≈ 1.1e-16, so even a million roundings in a row stay near
  1e-10 only in the worst case: an error above it is a different computation, not rounding.
* float32: ``8 · max(r, ε · √K)``, where

  - ``r`` is the executor's own float32 rounding at that layer: the max rel error of its float32 run against a
    float64 run of the same weights on the same input (both exact in float64). It measures how much this network
    amplifies rounding on the way to the layer, which no formula of the shapes knows: a batch norm with a small
    variance, a ReLU6 that clips half of a tensor, a layer norm all raise the relative error of what follows.
  - ``ε · √K`` is the floor, the expected rounding of the sums themselves: ε = 2⁻²³ ≈ 1.19e-7 (float32's machine
    epsilon, ``numpy.finfo(numpy.float32).eps``) and ``K`` the reduction lengths of the layer and of every layer
    upstream of it, summed. A layer's reduction length is its multiply-accumulates per output value (a conv's or
    a linear's fan-in, Cᵢₙ/g · Πk), or for a layer without MACs its input values per output value (a pool's
    window), at least 1. A sum of ``n`` terms rounded at each step errs by about u · √n times the RMS of the
    result when the rounding errors are independent (Higham, *Accuracy and Stability of Numerical Algorithms*,
    2nd ed., §2.8 and §4.2; the worst-case bound is n · u), and the errors of the layers upstream add in
    variance. It keeps the tolerance above zero where the executor's float32 run happens to be exact.
  - the factor 8: the original rounds too, in its own summation order (blocked GEMMs, pairwise sums), so the
    difference of the two float32 runs is about twice one run's rounding; the rest is margin. Measured on the
    shipped configs (random weights, batch 2, executor against torch in float32), the largest ratio of the
    difference to ``max(r, ε · √K)`` over every layer is 1.9 (efficientnet_b0; 0.6–1.8 for the others). With
    ``ε · √K`` alone, random-weight MobileNetV2 reaches 40 ε · √K by its last stage: its error grows faster
    than the reductions explain.

The result names the first layer (in the graph's order) that does not agree, with its errors, or says that every
mapped tensor agrees.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from math import prod, sqrt

from ..errors import SpecError, escaped, shorten

FLOAT64_TOLERANCE = 1e-10
#: float32's machine epsilon, 2⁻²³ (``numpy.finfo(numpy.float32).eps``)
FLOAT32_EPS = 2.0 ** -23
FLOAT32_FACTOR = 8
FLOAT32_RULE = ("8·max(r, ε·√K), r: the executor's own float32 rounding (against its float64 run), ε = 2⁻²³, "
                "K: the reduction lengths up to the layer, summed")
FLOAT64_RULE = "1e-10 (fixed)"
DTYPES = ("float32", "float64")


def sci(value: float | None, digits: int = 2) -> str:
    """An error or a tolerance in scientific notation, ``1.23e-07``; ``0`` for zero, ``—`` for None (a value
    that could not be compared), ``inf`` as it is."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.{digits}e}"


def _json_float(value: float | None):
    return value if value is not None and value == value and abs(value) != float("inf") else None


@dataclass
class TensorRow:
    """One mapped layer: the executor's value against the original's tensor.

    ``shape``/``original_shape`` are per sample; ``max_abs``/``max_rel`` are None when the values could not be
    compared, and ``problem`` then says why (shapes differ, the tensor is missing); non-finite values where the
    other side is finite give an infinite error.
    """

    name: str
    type: str
    tensor: str
    shape: list
    original_shape: list | None
    max_abs: float | None
    max_rel: float | None
    tolerance: float
    problem: str = ""
    rounding: float | None = None  # float32: the executor's own rounding here, against its float64 run

    @property
    def ok(self) -> bool:
        return not self.problem and self.max_rel is not None and self.max_rel <= self.tolerance

    def explain(self) -> str:
        where = f"layer `{self.name}` ({self.type}), the original's `{self.tensor}`"
        if self.ok:
            return f"{where}: agrees (max rel error {sci(self.max_rel)} ≤ tolerance {sci(self.tolerance)})"
        if self.problem:
            return f"{where}: {self.problem}"
        return (f"{where}: max abs error {sci(self.max_abs)}, max rel error {sci(self.max_rel)} > tolerance "
                f"{sci(self.tolerance)}")

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "tensor": self.tensor, "ok": self.ok,
                "shape": self.shape, "original_shape": self.original_shape,
                "max_abs": _json_float(self.max_abs), "max_rel": _json_float(self.max_rel),
                "tolerance": self.tolerance, "float32_rounding": self.rounding, "problem": self.problem or None}


@dataclass
class OriginalCheck:
    """The result of :func:`check`: one row per mapped layer in the graph's order, the layers skipped (no
    ``tensor``), and the tolerance rule of the dtype."""

    name: str
    source: str
    dtype: str
    seed: int
    batch: int
    rows: list
    skipped: list = field(default_factory=list)
    output: str = ""              # the network's output layer
    seconds: float = 0.0

    @property
    def rule(self) -> str:
        return FLOAT64_RULE if self.dtype == "float64" else FLOAT32_RULE

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def first_divergence(self) -> TensorRow | None:
        return next((row for row in self.rows if not row.ok), None)

    @property
    def output_compared(self) -> bool:
        return any(row.name == self.output for row in self.rows)

    def sentence(self) -> str:
        """The first divergence in a sentence, or that every mapped tensor agrees."""
        first = self.first_divergence
        if first is not None:
            return "first divergence: " + first.explain()
        output = "" if self.output_compared else f" (the output layer `{self.output}` has no tensor to compare)"
        return f"every mapped tensor agrees with the original: {len(self.rows)} compared{output}"

    def to_dict(self) -> dict:
        first = self.first_divergence
        return {
            "version": 1, "check": "original", "name": self.name, "source": self.source, "batch": self.batch,
            "dtype": self.dtype, "seed": self.seed, "ok": self.ok, "seconds": round(self.seconds, 6),
            "tolerance": {"rule": self.rule, "min": min((r.tolerance for r in self.rows), default=None),
                          "max": max((r.tolerance for r in self.rows), default=None)},
            "first_divergence": None if first is None else {**first.to_dict(), "sentence": first.explain()},
            "summary": self.sentence(),
            "compared": len(self.rows), "skipped": list(self.skipped),
            "output": {"layer": self.output, "compared": self.output_compared},
            "layers": [row.to_dict() for row in self.rows],
        }


# ---- the check ------------------------------------------------------------------------------------------------------
def check(model, graph, dtype: str = "float32", seed: int = 0, batch: int | None = None) -> OriginalCheck:
    """Run ``model``'s original and the executor (on ``graph``, the spec ``model`` became, with ``model``'s
    weights) on one seeded batch and compare every mapped tensor (see the module docstring).

    ``batch``: samples in the batch (default the graph's). Raises :class:`SpecError` for what cannot be checked:
    placeholders for unsupported operators, no runnable original, float64 where the original has none, layers
    the spec lacks, arrays that are not what a layer's kernel allocates.
    """
    import time

    import numpy as np

    source = model.source
    if model.unsupported:
        ops = ", ".join(f"{u.op} ×{u.count}" for u in model.unsupported)
        raise SpecError(f"{source}: operators with no layer kind ({ops}): their placeholders compute zeros, so the "
                        "import cannot be checked against the original",
                        None, "--against-original needs every operator mapped to a layer kind (--allow-unsupported "
                              "cannot help here)")
    if model.original is None:
        raise SpecError(f"{source}: the importer cannot run this model", None,
                        "--against-original needs a runnable original (onnxruntime for ONNX, torch for a module)")
    if dtype not in DTYPES:
        raise SpecError(f"the check runs in float32 or float64, not `{escaped(shorten(str(dtype)))}`", None,
                        "use --dtype float32 or --dtype float64")
    if batch is not None:
        graph = dataclasses.replace(graph, batch=batch)
    nodes = {node.name: node for node in graph.nodes}
    for layer in model.layers:
        if (layer.tensor or layer.arrays is not None) and layer.name not in nodes:
            raise SpecError(f"{source}: the spec has no layer `{layer.name}` ({layer.origin or layer.kind})", None,
                            "the spec of an import keeps the model's own layer names")
    layers = {layer.name: layer for layer in model.layers}
    preset = {}
    for layer in model.layers:
        if layer.arrays is not None:
            weights, buffers = layer.arrays()
            preset[layer.name] = (list(weights), list(buffers))

    original = model.original()
    if dtype == "float64" and not original.supports_float64:
        reason = getattr(original, "float64_unavailable", "")  # an Original may say why
        raise SpecError(f"{source}: the original cannot run in float64" + (f" ({reason})" if reason else ""), None,
                        "use --dtype float32 (compared to a tolerance derived from float32's epsilon)")
    started = time.perf_counter()
    ex = _run(graph, seed, dtype, preset, layers, source)
    rounding = {}
    if dtype == "float32":  # the executor's own float32 rounding, against float64 on the same weights and input
        exact = _run(graph, seed, "float64", preset, layers, source, x=ex.input.astype(np.float64))
        for node in graph.nodes:
            _, error, problem = tensor_errors(ex.values[node.name], exact.values[node.name])
            rounding[node.name] = error if not problem and error != float("inf") else 0.0
        del exact
    got = original.run(ex.input.copy(), dtype)
    seconds = time.perf_counter() - started

    sums = reduction_sums(graph, ex) if dtype == "float32" else {}
    rows, skipped = [], []
    for node in graph.nodes:
        layer = layers.get(node.name)
        if layer is None or not layer.tensor:
            skipped.append(node.name)
            continue
        if dtype == "float32":
            tolerance = float32_tolerance(rounding[node.name], sums[node.name])
        else:
            tolerance = FLOAT64_TOLERANCE
        row = compare_tensor(node.name, node.kind, layer.tensor, ex.values[node.name], got.get(layer.tensor),
                             tolerance)
        row.rounding = rounding.get(node.name)
        rows.append(row)
    output = graph.output or graph.nodes[-1].name
    return OriginalCheck(name=graph.name, source=source, dtype=dtype, seed=seed, batch=graph.batch, rows=rows,
                         skipped=skipped, output=output, seconds=seconds)


def _run(graph, seed: int, dtype: str, preset: dict, layers: dict, source: str, x=None):
    """The executor on the model's arrays, every value kept; arrays that are not what a kernel allocates are a
    :class:`SpecError` naming the layer, its origin and both lists of shapes."""
    from ..executor import PresetMismatch, run

    try:
        return run(graph, seed=seed, dtype=dtype, x=x, weights=preset, keep=True)
    except PresetMismatch as err:
        layer = layers.get(err.layer)
        origin = f" (from {layer.origin})" if layer is not None and layer.origin else ""
        raise SpecError(f"{source}: {err.message}{origin}", None,
                        "the importer's arrays() must give the weights and buffers in the order and layout of the "
                        "kernel, which are those of the torch.nn module's state_dict") from None


def tensor_errors(ours, theirs) -> tuple[float | None, float | None, str]:
    """``(max abs, max rel, problem)`` of ``ours`` against the reference ``theirs`` (the module docstring); the
    errors are None and ``problem`` says why when the shapes differ, infinite when a value is not finite on one
    side only (the same inf, or NaN, on both sides agrees)."""
    import numpy as np

    if ours.shape != theirs.shape:
        return None, None, (f"the original's shape is {tuple(theirs.shape)}, the executor's {tuple(ours.shape)} "
                            "(batch first)")
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    if not finite.all():
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not np.all(finite | same):
            count = int(np.sum(~(finite | same)))
            return float("inf"), float("inf"), f"{count} values are not finite on one side only"
        a, b = a[finite], b[finite]
    if a.size == 0:
        return 0.0, 0.0, ""
    diff = np.abs(a - b)
    scale = max(float(np.sqrt(np.mean(np.square(b)))), float(np.finfo(np.float64).tiny))
    return float(diff.max()), float((diff / np.maximum(np.abs(b), scale)).max()), ""


def compare_tensor(name: str, kind: str, tensor: str, ours, theirs, tolerance: float) -> TensorRow:
    """One row: the executor's array ``ours`` against the original's ``theirs`` (batch first; None when the
    original returned no such tensor)."""
    import numpy as np

    row = TensorRow(name, kind, tensor, [int(n) for n in ours.shape[1:]], None, None, None, tolerance)
    if theirs is None:
        row.problem = f"the original returned no tensor `{tensor}`"
        return row
    theirs = np.asarray(theirs)
    row.original_shape = [int(n) for n in theirs.shape[1:]]
    row.max_abs, row.max_rel, row.problem = tensor_errors(ours, theirs)
    return row


def reduction_sums(graph, ex) -> dict:
    """``K`` of every node (the module docstring): the reduction lengths of the node and of every node upstream,
    summed. The nodes upstream are a bit mask over the graph's order, so a merge counts each of them once."""
    import numpy as np

    shapes = {graph.input_name: tuple(graph.input_shape)}
    masks, sums = {graph.input_name: 0}, {graph.input_name: 0.0}
    lengths = np.zeros(len(graph.nodes))
    for index, (node, executed) in enumerate(zip(graph.nodes, ex.layers)):
        shapes[node.name] = executed.output_shape
        outputs = prod(executed.output_shape)
        inputs = sum(prod(shapes[name]) for name in node.inputs)
        lengths[index] = max(1.0, executed.macs / (graph.batch * outputs), inputs / outputs) if outputs else 1.0
        mask = 1 << index
        for name in node.inputs:
            mask |= masks[name]
        masks[node.name] = mask
        if len(set(node.inputs)) == 1:  # a chain: the input's sum and this node's own
            sums[node.name] = sums[node.inputs[0]] + lengths[index]
        else:
            bits = np.unpackbits(np.frombuffer(mask.to_bytes(index // 8 + 1, "little"), np.uint8),
                                 bitorder="little")[: index + 1]
            sums[node.name] = float(bits @ lengths[: index + 1])
    del sums[graph.input_name]
    return sums


def float32_tolerance(rounding: float, k: float) -> float:
    """``8 · max(r, ε · √K)`` (the module docstring)."""
    return FLOAT32_FACTOR * max(rounding, FLOAT32_EPS * sqrt(k))


def check_bytes(report, dtype: str) -> int:
    """Upper-bound estimate of the check's peak memory: the safety factor × (every activation and weight held by
    the executor and by the original, and in float32 by the executor's float64 run too, at twice the bytes, + the
    largest im2col workspace of the widest run; see :func:`convcalc.verify.estimate_peak_bytes`)."""
    from ..cost.conventions import DTYPE_BYTES
    from ..verify import RUN_DTYPE_BYTES, SAFETY_FACTOR

    element = RUN_DTYPE_BYTES[dtype]
    copies = 2 * element + (RUN_DTYPE_BYTES["float64"] if dtype == "float32" else 0)  # bytes per value, all runs
    widest = RUN_DTYPE_BYTES["float64"]
    values = sum(layer.activation_bytes for layer in report.layers) // DTYPE_BYTES[report.dtype]
    workspace = max((layer.macs // layer.output_shape[0] for layer in report.layers
                     if layer.macs and layer.output_shape and layer.output_shape[0]), default=0)
    return SAFETY_FACTOR * ((values + report.totals.params) * copies + workspace * widest)
