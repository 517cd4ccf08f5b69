"""What reading the input's shape in expressions costs the spec reader (docs/spec.md, "The input's shape and
`index`"): CPU time of ``Network.expand()`` on the 10,000-layer specs of big_spec.py, with and without shape names.

    python benchmarks/shape_names_speed.py [--layers 10000] [--runs 9]

Three spellings of the same network, parsed once each (the YAML reading is the same for all and left out):

* ``flat``: big_spec.py's flat spec, every ``out: 64`` written as a number: no shape is ever worked out;
* ``flat, out: in_channels``: the same with every conv's ``out: in_channels``, so each layer's input shape is worked
  out during the expansion (each kind's ``output_shape`` and ``counts``, as the analysis asks them);
* ``repeat``: big_spec.py's one block called with ``repeat: 2500``.

All three must give the same totals. Printed: the best and median CPU time over ``--runs`` expansions (garbage
collection off while timing, so a collection that falls in one run does not decide it) and the ratio to ``flat``
measured in the same run; the analysis of the flat spec is timed too, for scale.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from big_spec import flat_spec, repeat_spec  # noqa: E402 (benchmarks/ is on sys.path when run as a script)

from convcalc.cost.analysis import analyze  # noqa: E402
from convcalc.spec.loader import load  # noqa: E402


def cpu_times(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        gc.collect()
        gc.disable()
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
        gc.enable()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=10_000, help="layers per spec (a multiple of 4)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    flat = flat_spec(args.layers // 4)
    specs = {"flat": flat, "flat, out: in_channels": flat.replace("out: 64,", "out: in_channels,"),
             "repeat": repeat_spec(args.layers // 4)}
    networks = {name: load(text) for name, text in specs.items()}
    totals = {name: analyze(network.expand()).totals for name, network in networks.items()}
    same = len({(t.params, t.macs, t.flops) for t in totals.values()}) == 1
    print(f"{args.layers:,} layers per spec; totals identical in the three spellings: {same}")
    reference = None
    for name, network in networks.items():
        times = cpu_times(network.expand, args.runs)
        best = min(times)
        reference = reference or best
        print(f"{name:>24}: expand best {best * 1000:.0f} ms CPU, median {statistics.median(times) * 1000:.0f} ms, "
              f"{best / reference:.2f}× flat")
    graph = networks["flat"].expand()
    times = cpu_times(lambda: analyze(graph), args.runs)
    print(f"{'analyze (flat), for scale':>24}: best {min(times) * 1000:.0f} ms CPU")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
