"""``convcalc device measure``: a device profile of this machine (docs/roofline.md, "Measuring a profile").

* **peak** per dtype (float32, float64): the best of several timed NumPy/BLAS GEMMs ``n × n @ n × n``,
  2·n³ FLOPs each;
* **bandwidth**: the best of several timed copies of a large array (far larger than the caches), counted as the
  bytes read plus the bytes written (2 × the array; a write-allocate cache may move more, which is what a
  measured copy rate then includes);
* **efficiency**: a small reference workload of convolution-network layers run with NumPy the way a CPU library
  lowers them (a 3×3 conv as im2col + GEMM, 1×1 convs as GEMMs, a depthwise 3×3 as nine shifted multiply-adds,
  ReLU, a residual add), timed, against the roofline's prediction of the same layers on the peak and bandwidth
  just measured: efficiency = Σ predicted / Σ measured (below 1 when the machine falls short of its roofline;
  above 1 when caches serve traffic the roofline sends to main memory). The roofline divides every time by it.

NumPy is imported here only (never on ``convcalc analyze``'s path). The BLAS thread count is set through the
usual environment variables before NumPy is first imported; the profile records it (``threads``), so that a
comparison (``benchmarks/roofline_vs_measured.py``) runs torch with the same count.
"""

from __future__ import annotations

import os
import time

from .devices import MAX_EFFICIENCY

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_threads(threads: int) -> bool:
    """Ask the BLAS for ``threads`` threads; False when NumPy was already imported (the variables then come too
    late for a BLAS that reads them at load)."""
    import sys

    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    return "numpy" not in sys.modules


def _best(run, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls (the one least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_rate(np, dtype: str, n: int, repeats: int) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
    return 2 * n ** 3 / _best(lambda: np.matmul(a, b, out=out), repeats)


def copy_rate(np, elements: int, repeats: int) -> float:
    src = np.ones(elements, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return 2 * src.nbytes / _best(lambda: np.copyto(dst, src), repeats)


def reference_layers(np, size: int):
    """The reference workload: (name, run, FLOPs, bytes) per layer at float32, spatial size ``size`` (56 in a
    full measurement). FLOPs and bytes follow convcalc's conventions (docs/flops.md, docs/roofline.md): a conv
    2·MACs, its input, weights and output once; ReLU 1 per element, add 1 per element, in and out once."""
    rng = np.random.default_rng(2)
    f32 = np.float32
    c, wide, dw = 64, 256, 144
    x = rng.standard_normal((c, size, size)).astype(f32)
    w3 = rng.standard_normal((c, c * 9)).astype(f32)
    w1 = rng.standard_normal((wide, c)).astype(f32)
    y = rng.standard_normal((wide, size, size)).astype(f32)
    skip = rng.standard_normal((wide, size, size)).astype(f32)
    d = rng.standard_normal((dw, size, size)).astype(f32)
    wd = rng.standard_normal((dw, 3, 3)).astype(f32)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    dpad = np.pad(d, ((0, 0), (1, 1), (1, 1)))
    hw = size * size

    def conv3x3():
        cols = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # C, H, W, 3, 3
        lowered = np.ascontiguousarray(cols.transpose(0, 3, 4, 1, 2)).reshape(c * 9, hw)
        return w3 @ lowered

    def conv1x1():
        return w1 @ x.reshape(c, hw)

    def depthwise():
        out = np.zeros_like(d)
        for i in range(3):
            for j in range(3):
                out += wd[:, i, j, None, None] * dpad[:, i:i + size, j:j + size]
        return out

    def relu():
        return np.maximum(y, 0)

    def add():
        return y + skip

    b = 4  # float32
    return [
        ("conv 3×3 64→64", conv3x3, 2 * c * c * 9 * hw, b * (c * hw + c * c * 9 + c * hw)),
        ("conv 1×1 64→256", conv1x1, 2 * wide * c * hw, b * (c * hw + wide * c + wide * hw)),
        ("depthwise 3×3 ×144", depthwise, 2 * dw * 9 * hw, b * (2 * dw * hw + dw * 9)),
        ("relu ×256", relu, wide * hw, b * 2 * wide * hw),
        ("add ×256", add, wide * hw, b * 3 * wide * hw),
    ]


def measure(threads: int | None = None, quick: bool = False, repeats: int | None = None) -> dict:
    """Measure this machine. ``quick``: small sizes (seconds; cache-resident copies overstate the bandwidth)."""
    threads = threads or available_cpus()
    fresh = set_threads(threads)
    import numpy as np

    repeats = repeats or (3 if quick else 7)
    n = 256 if quick else 2048
    elements = (1 << 20) if quick else (1 << 26)  # 4 MiB or 256 MiB per float32 array
    size = 14 if quick else 56
    peak = {"float32": gemm_rate(np, "float32", n, repeats), "float64": gemm_rate(np, "float64", n, repeats)}
    bandwidth = copy_rate(np, elements, repeats)
    layers = []
    for name, run, flops, moved in reference_layers(np, size):
        run()
        measured = _best(run, repeats)
        predicted = max(flops / peak["float32"], moved / bandwidth)
        layers.append({"layer": name, "measured_s": measured, "predicted_s": predicted})
    # not capped at 1: above 1 the machine beats the roofline on the reference (its caches serve traffic the
    # roofline sends to main memory), and the factor then scales the predictions down
    efficiency = min(sum(l["predicted_s"] for l in layers) / sum(l["measured_s"] for l in layers), MAX_EFFICIENCY)
    return {"threads": threads, "threads_set_before_numpy": fresh, "peak": peak, "bandwidth": bandwidth,
            "efficiency": efficiency, "reference": layers, "gemm_n": n, "copy_bytes": 2 * 4 * elements,
            "reference_size": size, "repeats": repeats, "numpy": np.__version__, "cpu": cpu_name(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "this machine"


def profile_yaml(m: dict, name: str = "this-machine") -> str:
    """The measurement as a profile (docs/roofline.md, the schema), each value with its source in a comment."""
    def tera(v):
        return f"{v / 1e12:.6g}"

    title = f"{m['cpu']} ({m['threads']} thread{'s' * (m['threads'] != 1)}, measured)".replace('"', "'")
    lines = [
        f"# Measured by `convcalc device measure` on {m['date']} (NumPy {m['numpy']}, {m['threads']} BLAS threads).",
        "# Every figure is the best of the timed runs (docs/roofline.md, \"Measuring a profile\").",
        f"name: {name}",
        f'title: "{title}"',
        "kind: cpu",
        "peak_tflops:             # 10^12 FLOP/s",
        f"  float32: {tera(m['peak']['float32'])}    # NumPy float32 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"best of {m['repeats']}",
        f"  float64: {tera(m['peak']['float64'])}    # NumPy float64 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"best of {m['repeats']}",
        f"bandwidth_gb_s: {m['bandwidth'] / 1e9:.6g}    # copy of {m['copy_bytes'] // 2 // 2**20} MiB: bytes read + "
        f"bytes written, best of {m['repeats']}",
        f"efficiency: {m['efficiency']:.4g}    # reference layers at {m['reference_size']}²: Σ roofline predicted / "
        "Σ measured",
        f"threads: {m['threads']}    # the BLAS threads of the measurement",
        "measured:                # the reference layers: measured and predicted seconds",
    ]
    for layer in m["reference"]:
        lines.append(f'  "{layer["layer"]}": [{layer["measured_s"]:.6g}, {layer["predicted_s"]:.6g}]')
    return "\n".join(lines) + "\n"
