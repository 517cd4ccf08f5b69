"""Time the measured ERF (NumPy executor forward + backward) against torch forward + backward, same network,
same weights, same input, one process.

    python benchmarks/erf_vs_torch.py [SPEC] [--layer NAME] [--repeat N] [--dtype float32|float64]

Default: configs/resnet50.yaml at 224×224, one sample, float32, the ERF of the centre unit of the last spatial
layer (layer4.2.relu3). The executor side is exactly what ``convcalc rf SPEC --erf measured --samples 1`` runs
(:func:`convcalc.erf.measured_erf`: a forward pass keeping the activations, then the backward pass of
convcalc/executor/backward/). The torch side builds the same graph with the executor's weights
(tests/torch_build.py), cut at the chosen layer, and runs forward + ``backward()`` of the centre unit summed over
channels. Prints the median times, their ratio (goal ≤ 3×) and the largest relative difference of the gradients.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from torch_build import build  # noqa: E402

from convcalc.cost.analysis import analyze, expand  # noqa: E402
from convcalc.erf.measured import measured_erf  # noqa: E402
from convcalc.erf.stats import centre_position, default_layer  # noqa: E402
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
    parser.add_argument("--layer", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)

    try:
        from convcalc.executor.backward import input_gradient
    except ImportError as err:
        print(f"convcalc/executor/backward/ is not available ({err}); nothing to time", file=sys.stderr)
        return 2

    graph = expand(args.spec, batch=1)
    report = analyze(graph)
    shapes = {l.name: tuple(l.output_shape) for l in report.layers}
    layer = args.layer or default_layer(graph, shapes)
    position = centre_position(shapes[layer])

    # the executor: the measured ERF itself (forward with kept activations + backward), one sample
    def executor():
        return measured_erf(graph, report, layer, position, samples=1, weights="random", seed=0,
                            dtype=args.dtype)

    # torch: the same graph cut at `layer`, the executor's weights, the same input as measured_erf's first sample
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, *graph.input_shape)).astype(args.dtype)
    first = run(graph, seed=0, dtype=args.dtype, x=x, keep=True)
    cut = graph.nodes[: [n.name for n in graph.nodes].index(layer) + 1]
    sub = dataclasses.replace(graph, nodes=cut, output=layer)
    model = build(sub, first)
    index = (slice(None), slice(None), *position)

    def torch_forward_backward():
        tx = torch.from_numpy(x).requires_grad_(True)
        y = model(tx)
        y[index].sum().backward()
        return tx.grad

    executor(), torch_forward_backward()  # warm-up
    # interleaved, so a change in the machine's load (shared cores) hits both sides alike
    ex_times, torch_times = [], []
    for _ in range(args.repeat):
        ex_times += median_seconds(executor, 1)[1]
        torch_times += median_seconds(torch_forward_backward, 1)[1]
    ex_median, torch_median = statistics.median(ex_times), statistics.median(torch_times)

    # peak memory of one measured-ERF run: NumPy reports its buffers to tracemalloc (torch does not)
    import resource
    import tracemalloc

    tracemalloc.start()
    executor()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    ours = np.asarray(input_gradient(graph, first, layer, position), dtype=np.float64).reshape(x.shape)
    theirs = torch_forward_backward().numpy().astype(np.float64)
    rel = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-30))

    print(f"network          {graph.name}  input {tuple(graph.input_shape)}  {args.dtype}  unit {layer} {position}")
    print(f"threads          numpy/OpenBLAS default, torch {torch.get_num_threads()}  (torch {torch.__version__})")
    print(f"measured ERF     median {ex_median * 1e3:8.1f} ms   (min {min(ex_times) * 1e3:.1f}, runs {args.repeat}; "
          "executor forward keeping activations + backward)")
    print(f"torch fwd+bwd    median {torch_median * 1e3:8.1f} ms   (min {min(torch_times) * 1e3:.1f})")
    ratio = ex_median / torch_median
    print(f"ratio            {ratio:.2f}×   (goal ≤ 3×: {'met' if ratio <= 3 else 'NOT met'})")
    print(f"input gradient   max |ours − torch| / max |torch| = {rel:.2e}"
          + ("   (float32 rounding: a few ReLU masks flip; float64 agrees to ~1e-15)" if args.dtype == "float32"
             else ""))
    print(f"peak memory      executor measured ERF {traced_peak / 2**20:.0f} MiB (NumPy arrays, tracemalloc); "
          f"process max RSS {rss:.0f} MiB (both sides, torch included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
