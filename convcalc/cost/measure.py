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

* **the BLAS**: the library NumPy was built with and, for OpenBLAS, the core whose kernels it runs
  (``openblas_get_corename``): a DYNAMIC_ARCH OpenBLAS picks them from the CPU unless ``OPENBLAS_CORETYPE`` in the
  environment names a core, which caps every peak measured here at that core's vector width (``Haswell``: AVX2 on
  a CPU with AVX-512). The profile's comments name both; ``device measure`` prints a note when the variable is set.

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


#: the symbols of OpenBLAS's core and configuration queries, in the builds NumPy ships (scipy-openblas, 64-bit
#: integers) and in a system OpenBLAS
OPENBLAS_SYMBOLS = (("scipy_openblas_get_corename64_", "scipy_openblas_get_config64_"),
                    ("scipy_openblas_get_corename", "scipy_openblas_get_config"),
                    ("openblas_get_corename64_", "openblas_get_config64_"),
                    ("openblas_get_corename", "openblas_get_config"))


def _loaded_libraries(word: str) -> list[str]:
    """The paths of the shared libraries of this process whose file name contains ``word`` (Linux: /proc/self/maps;
    elsewhere none)."""
    paths = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                start = line.find("/")
                path = line[start:].rstrip("\n") if start >= 0 else ""
                if path and word in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    return paths


def openblas_core() -> tuple[str | None, str | None]:
    """(core, configuration) of the OpenBLAS loaded in this process — the core whose kernels it runs, as
    ``openblas_get_corename`` answers, and ``openblas_get_config``'s text — or (None, None) when there is none or it
    cannot be asked. Call after NumPy is imported."""
    import ctypes

    for path in _loaded_libraries("openblas"):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for core_symbol, config_symbol in OPENBLAS_SYMBOLS:
            core_query, config_query = getattr(library, core_symbol, None), getattr(library, config_symbol, None)
            if core_query is None:
                continue
            core_query.restype = ctypes.c_char_p
            config = None
            if config_query is not None:
                config_query.restype = ctypes.c_char_p
                config = (config_query() or b"").decode("ascii", "replace").strip() or None
            core = (core_query() or b"").decode("ascii", "replace").strip() or None
            return core, config
    return None, None


def blas_info(np) -> dict:
    """What runs the GEMMs: the BLAS NumPy was built with (name, version), OpenBLAS's running core and
    configuration when it is OpenBLAS, and ``OPENBLAS_CORETYPE`` when the environment sets it (None otherwise)."""
    name = version = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name, version = blas.get("name"), blas.get("version")
    except Exception:  # NumPy before 1.26 has no mode="dicts"; its BLAS is then named by the core query alone
        pass
    core, config = openblas_core()
    return {"library": name, "version": version, "core": core, "config": config,
            "coretype_env": os.environ.get("OPENBLAS_CORETYPE") or None}


def blas_sentence(blas: dict) -> str:
    """The BLAS in a few words: ``scipy-openblas 0.3.31.188.0, kernels of core SkylakeX (chosen by OpenBLAS for
    this CPU)``, or by ``OPENBLAS_CORETYPE=…`` in the environment."""
    words = " ".join(str(v) for v in (blas.get("library"), blas.get("version")) if v) or "NumPy's BLAS"
    if blas.get("core"):
        words += f", kernels of core {blas['core']}"
        env = blas.get("coretype_env")
        words += f" (chosen by OPENBLAS_CORETYPE={env} in the environment)" if env else " (chosen by OpenBLAS for this CPU)"
    return words


def coretype_note(blas: dict) -> str | None:
    """A note when ``OPENBLAS_CORETYPE`` chose OpenBLAS's kernels: the peaks are that core's, not the CPU's."""
    if not blas.get("coretype_env"):
        return None
    return (f"OPENBLAS_CORETYPE={blas['coretype_env']} is set in the environment: NumPy's OpenBLAS runs the kernels "
            f"of core {blas.get('core') or blas['coretype_env']}, and the peaks measured are theirs, which may be "
            "narrower than this CPU's own (AVX2 kernels on a CPU with AVX-512 reach half its peak) — unset it to "
            "measure the kernels OpenBLAS picks for this CPU (docs/roofline.md, \"Measuring a profile\")")


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


#: the vector ceiling's matrix: 128 KiB (half of a 256 KiB L2, the smallest per-core L2 of common cores), rows of
#: 256 elements — float32 128 × 256, float64 64 × 256
GEMV_BYTES, GEMV_COLUMNS = 128 * 1024, 256


def gemv_shape(dtype: str) -> tuple[int, int]:
    """(m, n) of the vector ceiling's matrix at ``dtype``: GEMV_BYTES in rows of GEMV_COLUMNS."""
    itemsize = {"float32": 4, "float64": 8}[dtype]
    return GEMV_BYTES // (itemsize * GEMV_COLUMNS), GEMV_COLUMNS


def gemv_stack(np, dtype: str, flops: int):
    """(A, x, y) with A a stride-0 stack of one m × n matrix, as many products as make ``flops`` (2·m·n each):
    ``np.matmul(A, x, out=y)`` runs them in one call — NumPy's matmul loop calls BLAS gemv per product, on the
    same 128 KiB, which therefore stays in cache."""
    m, n = gemv_shape(dtype)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((m, n)).astype(dtype)
    products = max(flops // (2 * m * n), 1)
    stack = np.lib.stride_tricks.as_strided(a, (products, m, n), (0, *a.strides), writeable=False)
    return stack, rng.standard_normal(n).astype(dtype), np.empty((products, m), dtype)


def vector_rate(np, dtype: str, flops: int, repeats: int) -> float:
    """FLOP/s of the vector ceiling: level-2 BLAS gemv on an in-cache matrix, 2·m·n FLOPs per product, ``flops``
    per timed call (docs/roofline.md, "Measuring a profile")."""
    stack, x, y = gemv_stack(np, dtype, flops)
    np.matmul(stack, x, out=y)  # warm-up: threads started, A and y in cache
    products, m, n = stack.shape
    return 2 * products * m * n / _median(lambda: np.matmul(stack, x, out=y), repeats)


def copy_rate(np, elements: int, repeats: int) -> float:
    src = np.ones(elements, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return 2 * src.nbytes / _median(lambda: np.copyto(dst, src), repeats)


#: the FLOPs of one timed call of the vector ceiling: 2^25 (2^21 with --quick)
GEMV_FLOPS, GEMV_FLOPS_QUICK = 1 << 25, 1 << 21

#: the reference convolutions: (C_in, C_out, k, H = W at a 224² input) — ResNet-50's 3×3 convs of each stage and
#: its 1×1 expand / reduce at 56² (torchvision's resnet50), each lowered to one GEMM
REFERENCE_CONVS = ((64, 64, 3, 56), (64, 256, 1, 56), (256, 64, 1, 56), (128, 128, 3, 28), (256, 256, 3, 14),
                   (512, 512, 3, 7))


def reference_layers(np, scale: int = 1):
    """The reference workload: (name, run, FLOPs, GEMM FLOPs, bytes) per layer at float32, the spatial sizes
    divided by ``scale`` (1 in a full measurement). Each conv is run the way a CPU library lowers it: one GEMM
    (C_out × C_in·k²) · (C_in·k² × H·W) on its lowered input (built once, before the timing: the copy is not what
    the factor measures); then a ReLU and an add over 256 × 56² as a network has between its convs (vector work).
    No depthwise conv: NumPy can only compose one from whole-array passes, two per tap where a compiled kernel
    makes one, so beyond the cache it would time NumPy's passes, not the machine. FLOPs and
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
    gemv_flops = GEMV_FLOPS_QUICK if quick else GEMV_FLOPS
    vector = {dtype: vector_rate(np, dtype, gemv_flops, repeats) for dtype in ("float32", "float64")}
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
            "gemv": {dtype: gemv_shape(dtype) for dtype in vector}, "gemv_flops": gemv_flops, "bandwidth": bandwidth,
            "efficiency": efficiency, "reference": layers, "gemm_n": n, "copy_bytes": 2 * 4 * elements,
            "reference_scale": scale, "repeats": repeats, "numpy": np.__version__, "cpu": cpu_name(),
            "blas": blas_info(np),
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
        f"# BLAS: {blas_sentence(m['blas'])}." if m.get("blas") else "# BLAS: NumPy's.",
        f"name: {name}",
        f'title: "{title}"',
        "kind: cpu",
        "peak_tflops:             # 10^12 FLOP/s",
        f"  float32: {tera(m['peak']['float32'])}    # NumPy float32 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"median of {m['repeats']}",
        f"  float64: {tera(m['peak']['float64'])}    # NumPy float64 GEMM {m['gemm_n']}×{m['gemm_n']}: 2·n³ FLOPs, "
        f"median of {m['repeats']}",
        "vector_tflops:           # 10^12 FLOP/s of vector (non-GEMM) work: its ceiling, level-2 BLAS gemv from cache",
        *(f"  {dtype}: {tera(m['vector'][dtype])}    # NumPy {dtype} gemv y = A·x, A {m['gemv'][dtype][0]}×"
          f"{m['gemv'][dtype][1]} (128 KiB, in L2): 2·m·n FLOPs, {m['gemv_flops']:,} per timed call, median of "
          f"{m['repeats']}"
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
