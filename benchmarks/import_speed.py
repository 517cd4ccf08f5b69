"""Time and memory of importing a ResNet-50-sized ONNX file (goal: ≤ 1.5 s and a peak RSS ≤ 2× the file size).

    python benchmarks/import_speed.py [--runs 5] [--builder auto|torch|helper] [--profile] [--keep DIR]

The file: torchvision's ResNet-50 (tests/importers/models.py ``resnet50``: 25,557,032 params, about 102 MB of
float32 weights), exported with torch.onnx.export when torch is installed (the TorchScript exporter with
``do_constant_folding=False``, batch norm kept, as tests/importers/onnx_exports.py exports), else written with
onnx.helper node by node (``--builder helper``: the same layers, random weights, the same size).

Each measurement is a fresh subprocess, ``--runs`` times after one warm-up (the page cache then holds the file),
interleaved round-robin so that a burst of load on a shared machine hits both alike:

* ``import_model``: ``convcalc.importers.source.import_model(path)``, what ``convcalc import model.onnx`` does
  before writing the spec (the spec writer is not part of it);
* ``onnx.load``: ``onnx.load(path)`` alone, the floor of any reader that parses the file with the onnx package.

Printed per measurement: the median wall time of the call itself (inside the child, after its imports), the peak
RSS of the whole child (``VmHWM``, imports included) and the growth during the call (peak − RSS before it),
each also as a ratio to the file size; then the ratio of the two times. ``--profile`` runs ``import_model`` once
in-process under cProfile and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from subprocess_env import environment  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS, GOAL_RATIO = 1.5, 2.0

#: the child: its imports, RSS before the call, the call timed, the peak RSS after (VmHWM: the process's own
#: high-water mark; ``ru_maxrss`` of a forked child starts from its parent's, here a parent holding torch)
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
def rss(field="VmRSS"):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field + ":"))
import onnx
from convcalc.importers import onnx_read
from convcalc.importers.source import import_model
before = rss()
start = time.perf_counter()
result = {call}
seconds = time.perf_counter() - start
peak = rss("VmHWM")
print(json.dumps({{"seconds": seconds, "before": before, "peak": peak}}))
"""
CALLS = {
    "import_model": "import_model({path!r})",
    "onnx.load": "onnx.load({path!r})",
}


# ---- the file ----------------------------------------------------------------------------------------------------
def export_with_torch(path: Path) -> None:
    import warnings

    import torch

    sys.path.insert(0, str(ROOT))
    from tests.importers.models import resnet50

    torch.manual_seed(0)
    model = resnet50().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False,
                          input_names=["input"], output_names=["output"])


def build_with_helper(path: Path) -> None:
    """torchvision's ResNet-50 written with onnx.helper: the stem, 3-4-6-3 bottlenecks (stride on the 3×3 conv, a
    1×1 conv + batch norm downsample on each stage's first block), global average pool, flatten, fc."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def weight(name, shape):
        inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.01, name))
        return name

    def node(op, inputs, name, **attrs):
        out = f"{name}_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def conv_bn(x, scope, c_in, c_out, k, stride=1):
        y = node("Conv", [x, weight(f"{scope[0]}.weight", (c_out, c_in, k, k))], f"/{scope[1]}/Conv",
                 kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
        bn = [weight(f"{scope[2]}.{p}", (c_out,)) for p in ("weight", "bias", "running_mean")]
        inits.append(numpy_helper.from_array(rng.uniform(0.5, 1.5, c_out).astype(np.float32),
                                             f"{scope[2]}.running_var"))
        return node("BatchNormalization", [y, *bn, f"{scope[2]}.running_var"], f"/{scope[3]}/BatchNormalization")

    x = conv_bn("input", ("conv1", "conv1", "bn1", "bn1"), 3, 64, 7, 2)
    x = node("Relu", [x], "/relu/Relu")
    x = node("MaxPool", [x], "/maxpool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for stage, (blocks, mid) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512)), start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            s = f"layer{stage}/{p}"
            stride = 2 if b == 0 and stage > 1 else 1
            y = node("Relu", [conv_bn(x, (f"{p}.conv1", f"{s}/conv1", f"{p}.bn1", f"{s}/bn1"), c_in, mid, 1)],
                     f"/{s}/relu/Relu")
            y = node("Relu", [conv_bn(y, (f"{p}.conv2", f"{s}/conv2", f"{p}.bn2", f"{s}/bn2"), mid, mid, 3, stride)],
                     f"/{s}/relu_1/Relu")
            y = conv_bn(y, (f"{p}.conv3", f"{s}/conv3", f"{p}.bn3", f"{s}/bn3"), mid, mid * 4, 1)
            if b == 0:
                x = conv_bn(x, (f"{p}.downsample.0", f"{s}/downsample/downsample.0", f"{p}.downsample.1",
                                f"{s}/downsample/downsample.1"), c_in, mid * 4, 1, stride)
            x = node("Relu", [node("Add", [y, x], f"/{s}/Add")], f"/{s}/relu_2/Relu")
            c_in = mid * 4
    x = node("Flatten", [node("GlobalAveragePool", [x], "/avgpool/GlobalAveragePool")], "/Flatten", axis=1)
    x = node("Gemm", [x, weight("fc.weight", (1000, 2048)), weight("fc.bias", (1000,))], "/fc/Gemm", transB=1)
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def make_file(folder: Path, builder: str) -> tuple[Path, str]:
    path = folder / "resnet50.onnx"
    if builder in ("auto", "torch"):
        try:
            export_with_torch(path)
            return path, "torch.onnx.export of tests/importers/models.py resnet50"
        except ImportError:
            if builder == "torch":
                raise
    build_with_helper(path)
    return path, "onnx.helper (benchmarks/import_speed.py build_with_helper)"


# ---- measuring ---------------------------------------------------------------------------------------------------
def run_child(call: str, path: Path, env: dict) -> dict:
    code = CHILD.format(root=str(ROOT), call=CALLS[call].format(path=str(path)))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{call} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def counts(path: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from convcalc.cost.analysis import analyze
    from convcalc.importers.source import load_imported

    network, _ = load_imported(str(path))
    totals = analyze(network.expand()).totals
    return f"{totals.params:,} params, {totals.macs:,} MACs"


def profile(path: Path) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from convcalc.importers.source import import_model

    profiler = cProfile.Profile()
    profiler.enable()
    import_model(str(path))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--builder", choices=("auto", "torch", "helper"), default="auto")
    parser.add_argument("--profile", action="store_true", help="profile import_model once, in-process")
    parser.add_argument("--keep", type=Path, help="write the ONNX file into this folder and keep it")
    args = parser.parse_args()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="convcalc-import-speed-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path, how = make_file(folder, args.builder)
        size = path.stat().st_size
        print(f"file: {path.name}, {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB), by {how}")
        for call in CALLS:
            run_child(call, path, env)  # warm-up: byte-code caches, the page cache
        results = {call: [] for call in CALLS}
        for _ in range(args.runs):
            for call in CALLS:
                results[call].append(run_child(call, path, env))
        print(f"{args.runs} runs each, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        print(f"{'call':<14} {'median':>8} {'min':>8} {'max':>8} {'peak RSS':>10} {'× file':>7} {'growth':>10} "
              f"{'× file':>7}")
        medians = {}
        for call, runs in results.items():
            times = [r["seconds"] for r in runs]
            peak = max(r["peak"] for r in runs)
            growth = max(r["peak"] - r["before"] for r in runs)
            medians[call] = statistics.median(times)
            print(f"{call:<14} {medians[call]:7.3f}s {min(times):7.3f}s {max(times):7.3f}s "
                  f"{peak / 2**20:7.1f}MiB {peak / size:7.2f} {growth / 2**20:7.1f}MiB {growth / size:7.2f}")
        ratio = medians["import_model"] / medians["onnx.load"]
        print(f"\nimport_model / onnx.load = {ratio:.2f}")
        seconds = medians["import_model"]
        peak = max(r["peak"] for r in results["import_model"])
        verdict = "within" if seconds <= GOAL_SECONDS and peak <= GOAL_RATIO * size else "over"
        print(f"goal ≤ {GOAL_SECONDS} s and peak RSS ≤ {GOAL_RATIO:.0f}× the file: {verdict} "
              f"({seconds:.3f} s, {peak / size:.2f}× the file)")
        print(f"the import: {counts(path)} (torchvision's ResNet-50: 25,557,032 params, 4,089,184,256 MACs)")
        if args.profile:
            profile(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
