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

Steps 1–3 are repeated ``--rounds`` times (default 3: the machine's speed drifts by up to 1.5× from minute to minute,
and a profile measured once, seconds before the networks are timed, carries that drift into every ratio); each round
compares its own profile with its own timings, and the summary is the median over the rounds.

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


def profile_devices(measured):
    """(measured device, the same with efficiency 1, the same with one peak) of one measurement."""
    from convcalc.cost.devices import parse_device

    text = profile_yaml(measured)
    device = parse_device(text, "<measured>")
    ideal = parse_device(text.replace(f"efficiency: {measured['efficiency']:.4g}", "efficiency: 1"), "<ideal>")
    one_peak = copy.copy(ideal)
    one_peak.vector_peak = {}  # every FLOP at the GEMM peak
    return device, ideal, one_peak


def print_profile(measured, label="profile") -> None:
    print(f"{label:9s} float32 {measured['peak']['float32'] / 1e9:.1f} GFLOP/s, float64 "
          f"{measured['peak']['float64'] / 1e9:.1f} GFLOP/s (GEMM n={measured['gemm_n']}), vector float32 "
          f"{measured['vector']['float32'] / 1e9:.2f} GFLOP/s (gemv from cache), bandwidth "
          f"{measured['bandwidth'] / 1e9:.2f} GB/s (copy, read+write), efficiency {measured['efficiency']:.3f} "
          "(reference layers)")


def compare(graph, measured_times, ideal, one_peak, eff):
    """(Spearman, ratio at e = 1, ratio with e, one peak's Spearman and ratio, predicted per layer) of one
    network's measured layer times against the profile."""
    from convcalc.cost.roofline import roofline

    predicted = {layer.name: float(layer.time) for layer in roofline(graph, ideal).layers}
    names = [n for n in measured_times if predicted.get(n, 0) > 0]
    rho = spearman([predicted[n] for n in names], [measured_times[n] for n in names])
    total_measured = sum(measured_times.values())
    ratio = sum(predicted.values()) / total_measured
    single = {layer.name: float(layer.time) for layer in roofline(graph, one_peak).layers}
    rho_single = spearman([single[n] for n in names], [measured_times[n] for n in names])
    return rho, ratio, ratio / eff, rho_single, sum(single.values()) / total_measured, predicted, len(names)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=["resnet50", "mobilenet_v2", "vgg16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of (measure the profile, time every network); the summary is their median")
    parser.add_argument("--quick", action="store_true", help="a quick (inaccurate) device measurement")
    parser.add_argument("--channels-last", action="store_true", help="run torch in the channels-last memory format")
    parser.add_argument("--blas-core", choices=("cpu", "env"), default="cpu",
                        help="cpu: remove OPENBLAS_CORETYPE before NumPy loads (OpenBLAS picks the CPU's kernels); "
                             "env: keep it")
    parser.add_argument("--save-profile", help="also write the (first) measured profile to this file")
    args = parser.parse_args(argv)

    removed = os.environ.pop("OPENBLAS_CORETYPE", None) if args.blas_core == "cpu" else None
    set_threads(args.threads)
    measured = measure(args.threads, quick=args.quick)
    if args.save_profile:
        Path(args.save_profile).write_text(profile_yaml(measured), encoding="utf-8")

    import torch
    from torch_build import build

    from convcalc.cost.measure import blas_sentence
    from convcalc.executor import run
    from convcalc.spec.loader import load

    torch.set_num_threads(args.threads)
    print(f"machine   {measured['cpu']}; numpy/OpenBLAS and torch {torch.__version__} with {args.threads} "
          f"thread(s) (torch.get_num_threads() = {torch.get_num_threads()}); {args.rounds} round(s) of (profile, "
          f"every network), {args.repeat} timed runs per network and round")
    print(f"blas      {blas_sentence(measured['blas'])}"
          + (f"; OPENBLAS_CORETYPE={removed} was removed from this run's environment (--blas-core cpu)"
             if removed else ""))
    print(f"torch     CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{'channels-last' if args.channels_last else 'NCHW (contiguous)'} memory format")
    networks = []
    for spec in args.specs:
        graph = load(spec).expand()
        ex = run(graph)
        model = build(graph, ex)
        x = torch.from_numpy(ex.input)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        networks.append((graph, model, x))

    rounds = []  # per round: the measurement, and per network (figures, measured times)
    for index in range(args.rounds):
        if index:
            measured = measure(args.threads, quick=args.quick)
        device, ideal, one_peak = profile_devices(measured)
        eff = float(device.efficiency)
        print()
        print_profile(measured, f"round {index + 1}")
        results = []
        for graph, model, x in networks:
            times = layer_times(model, x, args.repeat)
            figures = compare(graph, times, ideal, one_peak, eff)
            results.append((figures, times))
            rho, ratio, ratio_eff = figures[:3]
            print(f"          {graph.name:14s} Spearman {rho:.3f}, pred/meas {ratio:.2f} (e = 1), {ratio_eff:.2f} "
                  f"(e = {eff:.3f}); measured {sum(times.values()) * 1e3:.1f} ms")
        rounds.append((measured, results))

    # per layer kind, on the last round
    measured, results = rounds[-1]
    print()
    print("per layer kind, last round:")
    for (graph, _, _), (figures, times) in zip(networks, results):
        predicted = figures[5]
        kinds = {node.name: node.kind for node in graph.nodes}
        print(f"{graph.name}: {len(graph.nodes)} layers ({figures[6]} with roofline time), measured total "
              f"{sum(times.values()) * 1e3:.1f} ms (sum of layer medians), roofline "
              f"{sum(predicted.values()) * 1e3:.1f} "
              f"ms, with efficiency {sum(predicted.values()) / measured['efficiency'] * 1e3:.1f} ms")
        by_kind: dict[str, list[float]] = {}
        for name in times:
            entry = by_kind.setdefault(kinds[name], [0.0, 0.0, 0])
            entry[0] += times[name]
            entry[1] += predicted.get(name, 0.0)
            entry[2] += 1
        for kind, (m, p, count) in sorted(by_kind.items(), key=lambda item: -item[1][0]):
            print(f"    {kind:16s} ×{count:<3d} measured {m * 1e3:8.2f} ms   roofline {p * 1e3:8.2f} ms   "
                  f"predicted/measured {p / m if m else float('nan'):6.2f}")
    print("the reference layers of the last round's efficiency factor:")
    for layer in measured["reference"]:
        print(f"    {layer['layer']:20s} measured {layer['measured_s'] * 1e3:8.3f} ms, roofline "
              f"{layer['predicted_s'] * 1e3:8.3f} ms")

    def median_of(i, k):
        return statistics.median(results[k][0][i] for _, results in rounds)

    effs = [m["efficiency"] for m, _ in rounds]
    eff = statistics.median(effs)
    print()
    print(f"median of {len(rounds)} round(s); efficiency factors {', '.join(f'{e:.3f}' for e in effs)} (median "
          f"{eff:.3f}); the ratio with e is each round's own, then the median")
    print(f"{'network':14s} {'layers':>6s} {'Spearman':>9s} {'pred/meas (e=1)':>16s} {'pred/meas (with e)':>19s}   "
          f"one peak: {'Spearman':>8s} {'pred/meas (e=1)':>16s}")
    ideal_ratios = []
    for k, (graph, _, _) in enumerate(networks):
        ideal_ratios.append(median_of(1, k))
        print(f"{graph.name:14s} {rounds[-1][1][k][0][6]:6d} {median_of(0, k):9.3f} {median_of(1, k):16.2f} "
              f"{median_of(2, k):19.2f}   {'':9s} {median_of(3, k):8.3f} {median_of(4, k):16.2f}")
    low, high = max(ideal_ratios) / 1.3, min(ideal_ratios) * 1.3
    span = max(ideal_ratios) / min(ideal_ratios)
    print(f"the median ratios at e = 1 span {span:.2f}× (1.3² = 1.69): "
          + (f"a factor e in [{low:.3f}, {high:.3f}] would put every total within 1.3×; the median measured e = "
             f"{eff:.3f} is {'inside' if low <= eff <= high else 'outside'} it" if low <= high else "no one factor "
             "can put every total within 1.3×"))
    floors = [times[node.name] for (graph, _, _), (_, times) in
              ((networks[k], results[k]) for _, results in rounds for k in range(len(networks)))
              for node in graph.nodes if node.kind in ("flatten", "dropout")]
    if floors:
        print(f"timing floor: the view layers (flatten, dropout; no work) took {statistics.median(floors) * 1e6:.1f} "
              f"µs each (median of {len(floors)}; {min(floors) * 1e6:.1f}–{max(floors) * 1e6:.1f})")
    print("goals: Spearman ≥ 0.8; totals within 2× (e = 1, no fitted constant) and within 1.3× (measured e)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
