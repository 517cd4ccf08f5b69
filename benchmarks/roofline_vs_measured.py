"""The roofline's prediction against torch CPU per-layer times, both measured in this run (docs/roofline.md).

    python benchmarks/roofline_vs_measured.py [--threads N] [--repeat R] [--channels-last] [--blas-core cpu|env]
                                              [--quick] [SPEC ...]

1. Measure a profile of this machine as `convcalc device measure` does (GEMM peak, vector peak, copy bandwidth,
   the efficiency factor of its reference workload), with N BLAS threads (default 1: the machine is shared, and one
   thread is the most repeatable). With ``--blas-core cpu`` (the default) an ``OPENBLAS_CORETYPE`` in the
   environment is removed before NumPy loads, so that OpenBLAS runs the kernels it picks for this CPU: torch's
   kernels (oneDNN, MKL) ignore the variable, and a peak measured on narrower kernels than torch runs is not an
   upper bound of torch's speed; ``--blas-core env`` keeps it (docs/roofline.md, "Measuring a profile").
2. For each network (default: the shipped resnet50, mobilenet_v2 and vgg16 at 224², batch 1, float32), build it
   in torch from the spec (tests/torch_build.py, one module per convcalc layer, so the layer names map one to
   one), with torch.set_num_threads(N), and time every layer with forward pre-/post-hooks under
   torch.inference_mode(): the median over R runs after a warm-up. ``--channels-last``: the model and its input in
   torch's channels-last memory format (PyTorch's recommended format for CNN inference on CPU), instead of NCHW.
3. Predict every layer with `convcalc cost --device` on the measured profile (no fusion: eager torch runs each
   module as its own kernel), once with efficiency 1 (no fitted constant) and once with the measured efficiency.
   For comparison, also with one peak for all work (the profile without its vector peak, as before the split).

Prints per network: the Spearman rank correlation of predicted and measured layer times (over the layers the
roofline gives time; views are 0), the predicted / measured ratio of the totals without and with the
efficiency factor, the same two figures with one peak, and the measured and predicted time per layer kind; then the
window of factors that would put every total within 1.3× (empty when the ratios at e = 1 span more than 1.3²), and
the timing floor (the median time of the view layers, flatten and dropout, which do no work). Goals (issue 17):
Spearman ≥ 0.8; totals within 2× without fitted constants, within 1.3× with the efficiency factor.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from convcalc.cost.measure import measure, profile_yaml, set_threads  # noqa: E402  (no numpy yet)


def ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share the mean of their positions), 1-based."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def layer_times(model, x, repeat: int) -> dict[str, float]:
    """The median seconds of every step of a tests/torch_build GraphModule, timed by forward hooks."""
    import torch

    samples: dict[str, list[float]] = {node.name: [] for node in model.graph.nodes}
    started: dict[str, float] = {}
    handles = []
    for node, step in zip(model.graph.nodes, model.steps):
        def pre(module, args, name=node.name):
            started[name] = time.perf_counter()

        def post(module, args, output, name=node.name):
            samples[name].append(time.perf_counter() - started[name])

        handles += [step.register_forward_pre_hook(pre), step.register_forward_hook(post)]
    with torch.inference_mode():
        model(x)  # warm-up (not recorded below)
        for values in samples.values():
            values.clear()
        for _ in range(repeat):
            model(x)
    for handle in handles:
        handle.remove()
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=["resnet50", "mobilenet_v2", "vgg16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a quick (inaccurate) device measurement")
    parser.add_argument("--channels-last", action="store_true", help="run torch in the channels-last memory format")
    parser.add_argument("--blas-core", choices=("cpu", "env"), default="cpu",
                        help="cpu: remove OPENBLAS_CORETYPE before NumPy loads (OpenBLAS picks the CPU's kernels); "
                             "env: keep it")
    parser.add_argument("--save-profile", help="also write the measured profile to this file")
    args = parser.parse_args(argv)

    removed = os.environ.pop("OPENBLAS_CORETYPE", None) if args.blas_core == "cpu" else None
    set_threads(args.threads)
    measured = measure(args.threads, quick=args.quick)
    text = profile_yaml(measured)
    if args.save_profile:
        Path(args.save_profile).write_text(text, encoding="utf-8")

    import torch
    from torch_build import build

    from convcalc.cost.devices import parse_device
    from convcalc.cost.measure import blas_sentence
    from convcalc.cost.roofline import roofline
    from convcalc.executor import run
    from convcalc.spec.loader import load

    torch.set_num_threads(args.threads)
    device = parse_device(text, "<measured>")
    ideal = parse_device(text.replace(f"efficiency: {measured['efficiency']:.4g}", "efficiency: 1"), "<ideal>")
    one_peak = copy.copy(ideal)
    one_peak.vector_peak = {}  # every FLOP at the GEMM peak
    eff = float(device.efficiency)
    print(f"machine   {measured['cpu']}; numpy/OpenBLAS and torch {torch.__version__} with {args.threads} "
          f"thread(s) (torch.get_num_threads() = {torch.get_num_threads()})")
    print(f"profile   float32 {measured['peak']['float32'] / 1e9:.1f} GFLOP/s, float64 "
          f"{measured['peak']['float64'] / 1e9:.1f} GFLOP/s (GEMM n={measured['gemm_n']}), vector float32 "
          f"{measured['vector']['float32'] / 1e9:.2f} GFLOP/s (gemv from cache), bandwidth "
          f"{measured['bandwidth'] / 1e9:.2f} GB/s (copy, read+write), efficiency {eff:.3f} (reference layers)")
    print(f"blas      {blas_sentence(measured['blas'])}"
          + (f"; OPENBLAS_CORETYPE={removed} was removed from this run's environment (--blas-core cpu)" if removed else ""))
    print(f"torch     CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{'channels-last' if args.channels_last else 'NCHW (contiguous)'} memory format")
    for layer in measured["reference"]:
        print(f"          reference {layer['layer']:20s} measured {layer['measured_s'] * 1e3:8.3f} ms, roofline "
              f"{layer['predicted_s'] * 1e3:8.3f} ms")
    print()
    summary = []
    floors: list[float] = []
    for spec in args.specs:
        graph = load(spec).expand()
        ex = run(graph)
        model = build(graph, ex)
        x = torch.from_numpy(ex.input)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        measured_times = layer_times(model, x, args.repeat)
        predicted = {layer.name: float(layer.time) for layer in roofline(graph, ideal).layers}
        kinds = {node.name: node.kind for node in graph.nodes}
        names = [n for n in measured_times if predicted.get(n, 0) > 0]
        rho = spearman([predicted[n] for n in names], [measured_times[n] for n in names])
        total_measured = sum(measured_times.values())
        total_predicted = sum(predicted.values())
        ratio_ideal, ratio_eff = total_predicted / total_measured, total_predicted / eff / total_measured
        single = {layer.name: float(layer.time) for layer in roofline(graph, one_peak).layers}
        rho_single = spearman([single[n] for n in names], [measured_times[n] for n in names])
        views = [measured_times[n] for n in measured_times if kinds[n] in ("flatten", "dropout")]
        floors.extend(views)
        summary.append((graph.name, len(names), rho, ratio_ideal, ratio_eff, rho_single,
                        sum(single.values()) / total_measured))
        print(f"{graph.name}: {len(graph.nodes)} layers ({len(names)} with roofline time), measured total "
              f"{total_measured * 1e3:.1f} ms (sum of layer medians), roofline {total_predicted * 1e3:.1f} ms, "
              f"with efficiency {total_predicted / eff * 1e3:.1f} ms")
        by_kind: dict[str, list[float]] = {}
        for name in measured_times:
            entry = by_kind.setdefault(kinds[name], [0.0, 0.0, 0])
            entry[0] += measured_times[name]
            entry[1] += predicted.get(name, 0.0)
            entry[2] += 1
        for kind, (m, p, count) in sorted(by_kind.items(), key=lambda item: -item[1][0]):
            print(f"    {kind:16s} ×{count:<3d} measured {m * 1e3:8.2f} ms   roofline {p * 1e3:8.2f} ms   "
                  f"predicted/measured {p / m if m else float('nan'):6.2f}")
    print()
    print(f"{'network':14s} {'layers':>6s} {'Spearman':>9s} {'pred/meas (e=1)':>16s} "
          f"{f'pred/meas (e={eff:.3f})':>20s}   one peak: {'Spearman':>8s} {'pred/meas (e=1)':>16s}")
    for name, count, rho, ideal_ratio, eff_ratio, rho_single, single_ratio in summary:
        print(f"{name:14s} {count:6d} {rho:9.3f} {ideal_ratio:16.2f} {eff_ratio:20.2f}   {'':9s} {rho_single:8.3f} "
              f"{single_ratio:16.2f}")
    ideal_ratios = [row[3] for row in summary]
    low, high = max(ideal_ratios) / 1.3, min(ideal_ratios) * 1.3
    span = max(ideal_ratios) / min(ideal_ratios)
    print(f"the ratios at e = 1 span {span:.2f}× (1.3² = 1.69): "
          + (f"a factor e in [{low:.3f}, {high:.3f}] would put every total within 1.3×; the measured e = {eff:.3f} is "
             f"{'inside' if low <= eff <= high else 'outside'} it" if low <= high else "no one factor can put every "
             "total within 1.3×"))
    if floors:
        print(f"timing floor: the {len(floors)} view layers (flatten, dropout; no work) took "
              f"{statistics.median(floors) * 1e6:.1f} µs each (median; {min(floors) * 1e6:.1f}–{max(floors) * 1e6:.1f})")
    print("goals: Spearman ≥ 0.8; totals within 2× (e = 1, no fitted constant) and within 1.3× (measured e)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
