"""In-process `convcalc.analyze(net)` of loaded networks, in µs per call and per layer (goal: ResNet-50 ≤ 1 ms).

    python benchmarks/analyze_inprocess.py [NAME ...] [--runs 200] [--profile]

For each network (default: resnet50, mobilenet_v2, densenet121, efficientnet_b0), ``net = convcalc.load(NAME)``
once, then, interleaved round-robin so that a burst of load on a shared machine hits all of them alike:

* ``analyze(net)`` — what a notebook or a script that analyses the same network again does; the expanded graph of
  an unchanged network is reused (convcalc.spec.loader.Network.expanded), the report is built afresh;
* ``analyze(net.expand())`` — expanding and analysing from scratch (what a new set of vars costs);
* ``net.expand()`` alone.

The reference, timed in the same rounds, is a fixed piece of plain Python (building 175 small dicts of 14 keys,
about one LayerReport's worth of data per ResNet-50 layer); the last column is the time over the reference, which
stays comparable between a quiet and a loaded machine. The minimum over ``--runs`` rounds is reported (the least
disturbed run), with the median. ``--profile`` prints cProfile's top functions of one analysis from scratch.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import convcalc  # noqa: E402
from convcalc.cost.analysis import analyze  # noqa: E402

GOAL_MS = 1.0


def reference():
    """Plain Python of about the size of a ResNet-50 report's layer records."""
    return [{"name": i, "type": "conv", "inputs": [i], "output_shape": [64, 56, 56], "params": i, "buffers": 0,
             "macs": i, "flops": i, "activation_bytes": i, "rf": None, "warnings": [], "path": [], "line": i,
             "details": {}} for i in range(175)]


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=["resnet50", "mobilenet_v2", "densenet121", "efficientnet_b0"])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    gc.collect()
    nets = {name: convcalc.load(name) for name in args.names}
    layers = {name: len(analyze(net).layers) for name, net in nets.items()}
    cases = {"reference (175 dicts)": reference}
    for name, net in nets.items():
        cases[f"{name}: analyze(net)"] = lambda net=net: analyze(net)
        cases[f"{name}: analyze(net.expand())"] = lambda net=net: analyze(net.expand())
        cases[f"{name}: net.expand()"] = lambda net=net: net.expand()
    for case in cases.values():  # warm-up
        case()
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, case in cases.items():
            times[label].append(timed(case))
    ref = min(times["reference (175 dicts)"])
    print(f"{args.runs} rounds; Python {sys.version.split()[0]}")
    print(f"{'case':<44} {'min':>9} {'median':>9} {'µs/layer':>9} {'× ref':>7}")
    for label, values in times.items():
        name = label.split(":")[0]
        per_layer = min(values) / layers[name] * 1e6 if name in layers else float("nan")
        print(f"{label:<44} {min(values) * 1e3:7.3f}ms {statistics.median(values) * 1e3:7.3f}ms "
              f"{per_layer:9.2f} {min(values) / ref:7.2f}")
    if "resnet50" in nets:
        best = min(times["resnet50: analyze(net)"]) * 1e3
        print(f"\nresnet50 analyze(net): {best:.3f} ms, goal ≤ {GOAL_MS} ms: {'within' if best <= GOAL_MS else 'over'}")
    if args.profile:
        import cProfile
        import pstats

        net = next(iter(nets.values()))
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            analyze(net.expand())
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
