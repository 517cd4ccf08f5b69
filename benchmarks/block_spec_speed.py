"""Time of writing an imported model's block spec (convcalc/importers/blocks.py; goal: ResNet-50 well under 0.5 s,
linear in the layers).

    python benchmarks/block_spec_speed.py [--runs 5] [--factors 1 2 4 8 16]

The models are the IR of configs/resnet50.yaml with its stages ``factor`` × as deep (175 layers at 1, 1,295 at 8),
scopes from the dotted names and no class names, as an ONNX import gives them. Printed per model: the layers, the
lines written, the best time of ``--runs`` for the block spec and for the flat one, and the block spec's time per
layer (flat in the layers means linear). Run from the checkout (it reads tests/importers/helpers.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convcalc.importers.writer import write_spec  # noqa: E402
from tests.importers.helpers import deep_resnet, ir_of  # noqa: E402


def best(model, flat: bool, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        write_spec(model, flat=flat)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    options = parser.parse_args()
    print(f"{'layers':>7} {'lines':>6} {'blocks ms':>10} {'flat ms':>8} {'µs/layer':>9}")
    for factor in options.factors:
        model = ir_of(deep_resnet(factor))
        blocks, flat = best(model, False, options.runs), best(model, True, options.runs)
        lines = len(write_spec(model).splitlines())
        print(f"{len(model.layers):>7} {lines:>6} {blocks * 1e3:>10.1f} {flat * 1e3:>8.1f} "
              f"{blocks * 1e6 / len(model.layers):>9.0f}")


if __name__ == "__main__":
    main()
