"""`convcalc cost --train`'s activation peak against what torch's CPU allocator does in one training step.

    python benchmarks/train_memory_peak.py [--batch 4] [--size 32]

For each small spec: the torch model of tests/torch_build.py in training mode, the parameters' gradients allocated
beforehand (so that only activations and their gradients move), one forward and backward under
``torch.profiler.profile(profile_memory=True)``. The profiler gives each op's *net* (self) allocation, not the
order of the allocations and frees inside it, so the curve is read two ways: every net change at the op's start
(a lower reading: an op's frees cancel its allocations early) and allocations at its start, frees at its end (an
upper reading). Printed: both readings (plus the input batch, which torch allocates before the profile) and
convcalc's peak less the static part, with the ratios. Figures, not assertions: the model is a model (docs/training.md,
"The peak of one training step").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

SPECS = {
    "conv_relu_conv": [{"type": "conv", "out": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
                       {"type": "conv", "out": 8, "kernel": 3, "padding": 1}],
    "conv_relu_x2_pool_conv": [{"type": "conv", "out": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
                               {"type": "conv", "out": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
                               {"type": "maxpool", "kernel": 2}, {"type": "conv", "out": 8, "kernel": 3, "padding": 1}],
    "residual": [{"type": "conv", "name": "a", "out": 8, "kernel": 3, "padding": 1}, {"type": "relu", "name": "r"},
                 {"type": "conv", "name": "b", "out": 8, "kernel": 3, "padding": 1}, {"type": "batchnorm"},
                 {"type": "add", "inputs": ["r", "batchnorm1"]}, {"type": "relu"}],
}


def readings(prof) -> tuple[int, int]:
    low_points, high_points = [], []
    for event in prof.events():
        delta = event.cpu_memory_usage if event.name == "[memory]" else event.self_cpu_memory_usage
        if delta:
            low_points.append((event.time_range.start, delta))
            high_points.append((event.time_range.start if delta > 0 else event.time_range.end, delta))
    out = []
    for points in (low_points, high_points):
        current = peak = 0
        for _, delta in sorted(points):
            current += delta
            peak = max(peak, current)
        out.append(peak)
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        print("torch is not installed: nothing to measure")
        return
    from convcalc.cost.analysis import expand
    from convcalc.cost.train_memory import train_memory
    from convcalc.executor import run
    from torch_build import build

    print(f"{'spec':24s} {'torch low':>11s} {'torch high':>11s} {'convcalc':>11s}  convcalc/low convcalc/high  peak at")
    for name, layers in SPECS.items():
        graph = expand({"name": name, "input": [3, args.size, args.size], "batch": args.batch, "layers": layers})
        model = build(graph, run(graph)).train()
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        x = torch.randn(graph.batch, *graph.input_shape)
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            y = model(x)
            y.backward(torch.ones_like(y))
            del y
        low, high = (value + x.numel() * x.element_size() for value in readings(prof))
        memory = train_memory(graph, optimizer="sgd")
        ours = memory.peak - memory.static_bytes
        print(f"{name:24s} {low:11,d} {high:11,d} {ours:11,d}  {ours / low:12.3f} {ours / high:13.3f}  "
              f"{memory.peak_layer} ({memory.peak_phase})")


if __name__ == "__main__":
    main()
