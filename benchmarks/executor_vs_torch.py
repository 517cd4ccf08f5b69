"""Time the NumPy executor against torch on the same network, built from the same spec, in one process.

    python benchmarks/executor_vs_torch.py [SPEC] [--repeat N] [--batch B] [--dtype float32|float64]

Default: configs/resnet50.yaml at its 224×224 input, batch 1, float32. The executor's weights are drawn once and
reused (``run(graph, weights=first_run)``), so both sides time the forward pass alone; torch runs its
``torch.nn`` modules (tests/torch_build.py) under ``torch.inference_mode()``. Prints the median times, the
ratio (goal ≤ 2×), the largest relative difference of the outputs, the executor's peak traced NumPy memory
(tracemalloc, one extra run) and the process's peak resident set size.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from torch_build import build  # noqa: E402

from convcalc.cost.analysis import expand  # noqa: E402
from convcalc.executor import run  # noqa: E402


def median_seconds(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "configs" / "resnet50.yaml"))
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--profile", action="store_true", help="also print the executor's time per layer kind")
    args = parser.parse_args(argv)

    graph = expand(args.spec, batch=args.batch)
    first = run(graph, dtype=args.dtype)
    x = first.input
    model = build(graph, first)
    tx = torch.from_numpy(x)

    def executor():
        return run(graph, dtype=args.dtype, x=x, weights=first)

    def torch_forward():
        with torch.inference_mode():
            return model(tx)

    executor(), torch_forward()  # warm-up
    ex_median, ex_times = median_seconds(executor, args.repeat)
    torch_median, torch_times = median_seconds(torch_forward, args.repeat)

    ex_out, torch_out = executor().output, torch_forward().numpy()
    rel = float(np.abs(ex_out - torch_out).max() / max(np.abs(torch_out).max(), 1e-30))

    tracemalloc.start()
    result = executor()
    _, ex_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux

    print(f"network        {graph.name}  input {tuple(graph.input_shape)}  batch {graph.batch}  {args.dtype}")
    print(f"threads        numpy/OpenBLAS default, torch {torch.get_num_threads()}  (torch {torch.__version__})")
    print(f"executor       median {ex_median * 1e3:8.1f} ms   (min {min(ex_times) * 1e3:.1f}, runs {args.repeat})")
    print(f"torch          median {torch_median * 1e3:8.1f} ms   (min {min(torch_times) * 1e3:.1f}, runs {args.repeat})")
    print(f"ratio          {ex_median / torch_median:8.2f}×   (goal ≤ 2×; min/min {min(ex_times) / min(torch_times):.2f}×)")
    print(f"max rel diff   {rel:.2e}")
    print(f"executor peak  {ex_peak / 2**20:8.1f} MiB traced by tracemalloc (activations + im2col; weights reused)")
    print(f"process peak   {rss / 2**20:8.1f} MiB resident (both frameworks, weights included)")
    macs = sum(layer.macs for layer in result.layers)
    print(f"executor MACs  {macs:,}  → {2 * macs / ex_median / 1e9:.0f} GFLOP/s on the conv/linear GEMMs")
    if args.profile:
        by_kind: dict[str, float] = {}
        for layer in result.layers:
            by_kind[layer.type] = by_kind.get(layer.type, 0.0) + layer.seconds
        for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1]):
            print(f"  {kind:16s} {seconds * 1e3:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
