"""Compare the cost model (:func:`convcalc.analysis.analyze`) with the NumPy executor (:func:`convcalc.executor.run`)
layer by layer: output shape (per sample), params and MACs (whole batch).

This module imports nothing heavy at import time; :func:`execute` imports the executor (and NumPy) when called.

Memory guard (:func:`estimate_peak_bytes`), an upper-bound estimate made before running::

    peak ≈ 2 × (peak activation bytes + weight bytes + largest im2col workspace)

all in the executor's dtype. The peak activation bytes and weight bytes come from the report (rescaled from the
spec's dtype to the run's dtype). The im2col workspace of a conv-like layer is
``batch · Cin/g · Πk · ΠN_out`` elements, which equals ``macs / Cout`` because the layer's MACs are
``batch · Cout · Cin/g · Πk · ΠN_out``; the largest over all layers with MACs is taken. The factor 2 covers
temporaries (the GEMM output next to its input, padded copies, the executor's own bookkeeping).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SpecError

#: bytes per element of the executor's dtypes
RUN_DTYPE_BYTES = {"float32": 4, "float64": 8}
SAFETY_FACTOR = 2
DEFAULT_MAX_MEMORY = 4 * 2**30

_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def parse_bytes(text: str) -> int:
    """``"512M"``, ``"4G"``, ``"1.5GiB"``, ``"1000000"`` → bytes (binary multiples: 1K = 1024)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if not match or unit not in _UNITS:
        raise SpecError(f"--max-memory: cannot read {text!r} as a size", None,
                        "give a number of bytes with an optional unit, e.g. 512M, 4G, 1.5GiB")
    return int(float(match.group(1)) * _UNITS[unit])


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def estimate_peak_bytes(report, dtype: str = "float32") -> int:
    """Upper-bound estimate of the executor's peak memory in bytes (see the module docstring)."""
    from .conventions import DTYPE_BYTES

    spec_bytes = DTYPE_BYTES[report.dtype]
    run_bytes = RUN_DTYPE_BYTES[dtype]
    activations = report.peak_activation_bytes * run_bytes // spec_bytes
    weights = report.totals.params * run_bytes
    workspace = 0
    for layer in report.layers:
        if layer.macs and layer.output_shape and layer.output_shape[0]:
            workspace = max(workspace, layer.macs // layer.output_shape[0] * run_bytes)
    return SAFETY_FACTOR * (activations + weights + workspace)


def memory_guard(report, dtype: str, limit: int) -> int:
    """Raise :class:`MemoryRefused` when the estimate exceeds ``limit``; return the estimate otherwise."""
    estimate = estimate_peak_bytes(report, dtype)
    if estimate > limit:
        raise MemoryRefused(estimate, limit, report.batch)
    return estimate


class MemoryRefused(Exception):
    def __init__(self, estimate: int, limit: int, batch: int):
        self.estimate, self.limit, self.batch = estimate, limit, batch
        hint = "use a smaller --batch" if batch > 1 else "already at batch 1"
        super().__init__(
            f"refusing to run: the estimated peak memory is {human_bytes(estimate)} ({estimate:,} bytes), above "
            f"the limit of {human_bytes(limit)} — {hint}, a smaller --input (e.g. --input 3x64x64), "
            f"--dtype float32, or raise --max-memory")


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

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows) and all(axis.get("ok", True) for axis in self.rf)

    @property
    def first_mismatch(self) -> Row | None:
        return next((row for row in self.rows if not row.ok), None)

    def to_dict(self) -> dict:
        first = self.first_mismatch
        return {
            "version": 1, "name": self.name, "batch": self.batch, "dtype": self.dtype, "seed": self.seed,
            "ok": self.ok, "seconds": round(self.seconds, 6), "memory_estimate_bytes": self.memory_estimate,
            "first_mismatch": first.explain() if first else None,
            "layers": [row.to_dict() for row in self.rows],
            "rf": self.rf or None,
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
    """Analyse ``graph``, guard memory, run it, compare. Raises :class:`MemoryRefused` above ``max_memory``."""
    import time

    from .analysis import analyze
    from .executor import run

    report = analyze(graph)
    estimate = memory_guard(report, dtype, max_memory)
    start = time.perf_counter()
    execution = run(graph, seed=seed, dtype=dtype, progress=progress)
    seconds = time.perf_counter() - start
    return VerifyResult(name=report.name, batch=report.batch, dtype=dtype, seed=seed,
                        rows=compare(report, execution), seconds=seconds, memory_estimate=estimate)
