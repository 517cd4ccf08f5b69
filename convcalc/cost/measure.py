"""``convcalc device measure``: a device profile of this machine (docs/roofline.md, "Measuring a profile").

* **peak** per dtype (float32, float64): the median of several timed NumPy/BLAS GEMMs ``n × n @ n × n``,
  2·n³ FLOPs each;
* **vector peak** per dtype (float32, float64): the ceiling of the vector class, defined as the rate of the
  level-2 BLAS matrix–vector product (gemv, ``y = A·x``) on a matrix held in cache — A of 128 KiB (float32
  128 × 256, float64 64 × 256, half of a 256 KiB L2), 2·m·n FLOPs per product, one ``matmul`` over a stride-0
  stack of the same A, 2²⁵ FLOPs per timed call (the call overhead paid once per call), the median of several
  calls, measured as the GEMM peak is. Why (docs/roofline.md, "Measuring a profile"; chosen before the benchmark
  was rerun with it): a ceiling is the rate a tuned kernel reaches on a class of work (Williams, Waterman &
  Patterson, CACM 2009), the peak being the best library rate on level-3 BLAS work; the vector class is work with
  O(1) operations per element loaded and no reuse across a GEMM dimension, BLAS levels 1 and 2, and gemv — each
  element of A loaded once into one multiply-add, the sums in registers, as in a depthwise tap — is the best rate
  a library reaches on it; in cache because the roofline charges main-memory traffic separately. (It replaces
  NumPy's tap-by-tap depthwise conv, which timed NumPy's two passes and a temporary per tap, not the machine.)
* **bandwidth**: the median of several timed copies of a large array (far larger than the caches), counted as the
  bytes read plus the bytes written (2 × the array; a write-allocate cache may move more, which is what a
  measured copy rate then includes);
* **efficiency**: a small reference workload of convolution-network layers run with NumPy the way a CPU library
  lowers them (ResNet-50's 3×3 convs of each stage and its 1×1 convs at 56², each one GEMM on its lowered input;
  a ReLU and a residual add), timed, against the roofline's prediction of the same layers on the peaks and
  bandwidth just measured (the ReLU and the add as vector work): efficiency = Σ predicted / Σ measured (below 1
  when the machine falls short of its roofline; above 1 when caches serve traffic the roofline sends to main
  memory). The roofline divides every time by it.

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


def _median(run, repeats: int) -> float:
    """The median of ``repeats`` timed calls. The median, not the best: on a machine shared with other processes
    the best run catches an undisturbed moment that a network's layers, timed the same way as these, do not see;
    with the same statistic on both sides the contention affects the profile and the comparison alike."""
    import statistics

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_rate(np, dtype: str, n: int, repeats: int) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
    return 2 * n ** 3 / _median(lambda: np.matmul(a, b, out=out), repeats)


def depthwise_taps(np, x, w, out, tmp):
    """A k×k depthwise conv (stride 1, the input already padded) tap by tap: ``out = Σ_taps w[:, i, j] ·
    x[:, i:i+H, j:j+W]``, one multiply into ``tmp`` and one add into ``out`` per tap. x: (C, H+k−1, W+k−1),
    w: (C, k, k, 1, 1), out and tmp: (C, H, W)."""
    k, (_, h, width) = w.shape[1], out.shape
    np.multiply(x[:, :h, :width], w[:, 0, 0], out=out)
    for i in range(k):
        for j in range(k):
            if i or j:
                np.multiply(x[:, i:i + h, j:j + width], w[:, i, j], out=tmp)
                np.add(out, tmp, out=out)


def depthwise_arrays(np, dtype: str, channels: int, size: int, k: int = 3):
    """(x, w, out, tmp) for :func:`depthwise_taps`: ``channels`` at ``size``², random values."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((channels, size + k - 1, size + k - 1)).astype(dtype)
    w = rng.standard_normal((channels, k, k, 1, 1)).astype(dtype)
    return x, w, np.empty((channels, size, size), dtype), np.empty((channels, size, size), dtype)


def vector_rate(np, dtype: str, channels: int, size: int, repeats: int) -> float:
    """FLOP/s of the tap-by-tap 3×3 depthwise conv: 2·9·C·size² FLOPs (a multiply and an add per tap per
    output)."""
    arrays = depthwise_arrays(np, dtype, channels, size)
    depthwise_taps(np, *arrays)  # warm-up: pages touched
    return 2 * 9 * channels * size * size / _median(lambda: depthwise_taps(np, *arrays), repeats)


def copy_rate(np, elements: int, repeats: int) -> float:
    src = np.ones(elements, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return 2 * src.nbytes / _median(lambda: np.copyto(dst, src), repeats)


#: the vector-peak kernel's size: 32 channels at 56² (x, out and tmp about 1.2 MiB in float32: in cache)
VECTOR_CHANNELS, VECTOR_SIZE = 32, 56

#: the reference convolutions: (C_in, C_out, k, H = W at a 224² input) — ResNet-50's 3×3 convs of each stage and
#: its 1×1 expand / reduce at 56² (torchvision's resnet50), each lowered to one GEMM
REFERENCE_CONVS = ((64, 64, 3, 56), (64, 256, 1, 56), (256, 64, 1, 56), (128, 128, 3, 28), (256, 256, 3, 14),
                   (512, 512, 3, 7))


def reference_layers(np, scale: int = 1):
    """The reference workload: (name, run, FLOPs, GEMM FLOPs, bytes) per layer at float32, the spatial sizes
    divided by ``scale`` (1 in a full measurement). Each conv is run the way a CPU library lowers it: one GEMM
    (C_out × C_in·k²) · (C_in·k² × H·W) on its lowered input (built once, before the timing: the copy is not what
    the factor measures); then a ReLU and an add over 256 × 56² as a network has between its convs (vector work).
    No depthwise conv: NumPy runs one tap by tap, 18 passes over the data where a compiled kernel makes one, so
    beyond the cache it would time NumPy's passes, not the machine (the vector peak times it in cache). FLOPs and
    bytes follow convcalc's conventions (docs/flops.md, docs/roofline.md): a conv 2·MACs, its input, weights and
    output once; ReLU 1 per element, add 1 per element, inputs and output once."""
    rng = np.random.default_rng(2)
    f32, b = np.float32, 4
    layers = []
    for c_in, c_out, k, size in REFERENCE_CONVS:
        n = max(size // scale, 1) ** 2
        weights = rng.standard_normal((c_out, c_in * k * k)).astype(f32)
        lowered = rng.standard_normal((c_in * k * k, n)).astype(f32)
        out = np.empty((c_out, n), f32)
        flops = 2 * c_out * c_in * k * k * n
        layers.append((f"conv {k}×{k} {c_in}→{c_out} @{max(size // scale, 1)}²",
                       lambda w=weights, x=lowered, o=out: np.matmul(w, x, out=o),
                       flops, flops, b * (c_in * n + c_out * c_in * k * k + c_out * n)))
    side = max(56 // scale, 1)
    n = 256 * side ** 2
    y, skip, out = (rng.standard_normal(n).astype(f32) for _ in range(3))
    layers.append((f"relu 256×{side}²", lambda: np.maximum(y, 0, out=out), n, 0, b * 2 * n))
    layers.append((f"add 256×{side}²", lambda: np.add(y, skip, out=out), n, 0, b * 3 * n))
    return layers


def measure(threads: int | None = None, quick: bool = False, repeats: int | None = None) -> dict:
    """Measure this machine. ``quick``: small sizes (seconds; cache-resident copies overstate the bandwidth)."""
    threads = threads or available_cpus()
    fresh = set_threads(threads)
    import numpy as np

    repeats = repeats or (3 if quick else 7)
    n = 256 if quick else 2048
    elements = (1 << 20) if quick else (1 << 26)  # 4 MiB or 256 MiB per float32 array
    scale = 4 if quick else 1
    peak = {"float32": gemm_rate(np, "float32", n, repeats), "float64": gemm_rate(np, "float64", n, repeats)}
    channels, size = (8, 28) if quick else (VECTOR_CHANNELS, VECTOR_SIZE)
    vector = {dtype: vector_rate(np, dtype, channels, size, repeats) for dtype in ("float32", "float64")}
    bandwidth = copy_rate(np, elements, repeats)
    layers = []
    for name, run, flops, gemm, moved in reference_layers(np, scale):
        run()
        measured = _median(run, repeats)
        # the roofline's formula (convcalc.cost.roofline.layer_time), in floats
        predicted = max(gemm / peak["float32"] + (flops - gemm) / vector["float32"], moved / bandwidth)
        layers.append({"layer": name, "measured_s": measured, "predicted_s": predicted})
    # not capped at 1: above 1 the machine beats the roofline on the reference (its caches serve traffic the
    # roofline sends to main memory), and the factor then scales the predictions down
    efficiency = min(sum(l["predicted_s"] for l in layers) / sum(l["measured_s"] for l in layers), MAX_EFFICIENCY)
    return {"threads": threads, "threads_set_before_numpy": fresh, "peak": peak, "vector": vector,
            "vector_kernel": (channels, size), "bandwidth": bandwidth,
            "efficiency": efficiency, "reference": layers, "gemm_n": n, "copy_bytes": 2 * 4 * elements,
            "reference_scale": scale, "repeats": repeats, "numpy": np.__version__, "cpu": cpu_name(),
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
        "# Every figure is the median of the timed runs (docs/roofline.md, \"Measuring a profile\").",
        f"name: {name}",
        f'title: "{title}"',
        "kind: cpu",
        "peak_tflops:             # 10^12 FLOP/s",
        f"  float32: {tera(m['peak']['float32'])}    # NumPy float32 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"median of {m['repeats']}",
        f"  float64: {tera(m['peak']['float64'])}    # NumPy float64 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"median of {m['repeats']}",
        "vector_tflops:           # 10^12 FLOP/s of non-GEMM work (depthwise convs, pooling, elementwise)",
        *(f"  {dtype}: {tera(m['vector'][dtype])}    # NumPy {dtype} 3×3 depthwise conv tap by tap, "
          f"{m['vector_kernel'][0]} channels at {m['vector_kernel'][1]}²: 2·9·C·H·W FLOPs, median of {m['repeats']}"
          for dtype in ("float32", "float64")),
        f"bandwidth_gb_s: {m['bandwidth'] / 1e9:.6g}    # copy of {m['copy_bytes'] // 2 // 2**20} MiB: bytes read + "
        f"bytes written, median of {m['repeats']}",
        f"efficiency: {m['efficiency']:.4g}    # reference: ResNet-50's convs as GEMMs, a ReLU, an add"
        f"{' (sizes / ' + str(m['reference_scale']) + ')' if m['reference_scale'] != 1 else ''}: Σ roofline predicted "
        "/ Σ measured",
        f"threads: {m['threads']}    # the BLAS threads of the measurement",
        "measured:                # the reference layers: measured and predicted seconds",
    ]
    for layer in m["reference"]:
        lines.append(f'  "{layer["layer"]}": [{layer["measured_s"]:.6g}, {layer["predicted_s"]:.6g}]')
    return "\n".join(lines) + "\n"
