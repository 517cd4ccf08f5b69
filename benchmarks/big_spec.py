"""Time `convcalc analyze --format json` on a generated 10,000-layer spec (goal: ≤ 0.25 s, whole process), and how
the time grows with the layer count (goal: linear up to 100,000 layers).

    python benchmarks/big_spec.py [--layers 10000] [--runs 5] [--sizes 10000,40000,100000] [--profile] [--keep DIR]

Two spellings of the same network are generated, so both code paths of the spec reader are exercised:

* ``flat``: every layer written out, 2,500 residual units of conv → batchnorm → relu → add, each with its
  own name and explicit ``inputs`` on the add (10,000 layers);
* ``repeat``: one block (conv, batchnorm, relu, add) called with ``repeat: 2500``.

Both have 64 channels at 8×8 (so counts are small and the time is the tool's, not the arithmetic's); the two
reports must be identical apart from the layer names. Each spec runs ``--runs`` times as a subprocess
(``convcalc analyze SPEC --format json``, stdout discarded); the median and the spread are printed with the
startup of a bare ``python -c pass`` and of ``python -c "import yaml"`` for reference.

Then both spellings are timed at each of ``--sizes`` layers (interleaved round-robin, ``--runs`` rounds; a flat
spec beyond the 2 MiB file limit, ~37,000 layers, is left out), and the seconds per layer of each size are printed
beyond the start-up of ``python -c "import yaml"``: equal figures mean a cost linear in the layer count. ``--profile`` runs the analysis once in-process under cProfile and prints the top
functions by cumulative time.

Python writes byte-code caches to a private prefix (``PYTHONPYCACHEPREFIX``), as an installed package would have
them; the shared checkout is never written to.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from subprocess_env import environment  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 0.25  # 10,000 layers, whole process


def flat_spec(units: int) -> str:
    """``units`` residual units written out one layer per line: 4·units layers."""
    lines = ["name: big_flat", "input: [64, 8, 8]", "defaults: {bias: false}", "layers:"]
    previous = "input"
    for i in range(units):
        lines += [
            f"  - {{type: conv, name: u{i}.conv, out: 64, kernel: 3, padding: 1, inputs: {previous}}}",
            f"  - {{type: batchnorm, name: u{i}.bn}}",
            f"  - {{type: relu, name: u{i}.relu}}",
            f"  - {{type: add, name: u{i}.add, inputs: [{previous}, u{i}.relu]}}",
        ]
        previous = f"u{i}.add"
    return "\n".join(lines) + "\n"


def repeat_spec(units: int) -> str:
    """The same network as :func:`flat_spec`, as one block repeated ``units`` times."""
    return f"""name: big_repeat
input: [64, 8, 8]
defaults: {{bias: false}}
blocks:
  unit:
    layers:
      - {{type: conv, name: conv, out: 64, kernel: 3, padding: 1}}
      - {{type: batchnorm, name: bn}}
      - {{type: relu, name: relu}}
      - {{type: add, name: add, inputs: [x, relu]}}
layers:
  - {{block: unit, name: u, repeat: {units}}}
"""


def run_once(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds = user + system) of one subprocess. CPU time is steadier than wall time on a
    machine shared with other work."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], runs: int, env: dict) -> tuple[list[float], list[float]]:
    run_once(argv, env)  # warm the byte-code cache
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = run_once(argv, env)
        walls.append(wall)
        cpus.append(cpu)
    return walls, cpus


def scaling(sizes: list[int], folder: Path, runs: int, env: dict, convcalc: list[str]) -> None:
    """Whole-process time of both spellings at each size, round-robin, and their seconds per layer beyond the
    start-up of ``python -c "import yaml"`` measured in the same rounds. A flat spec past the file-size limit
    (``MAX_SPEC_BYTES``, about 37,000 written-out layers of this kind) is left out: only ``repeat`` reaches
    100,000 layers."""
    from convcalc.limits import MAX_SPEC_BYTES

    paths = {}
    for layers in sizes:
        for kind, make in (("flat", flat_spec), ("repeat", repeat_spec)):
            path = folder / f"big_{kind}_{layers}.yaml"
            path.write_text(make(layers // 4), encoding="utf-8")
            if path.stat().st_size <= MAX_SPEC_BYTES:
                paths[kind, layers] = path
    commands = {"import yaml": [sys.executable, "-c", "import yaml"]}
    commands.update({key: convcalc + ["analyze", str(path), "--format", "json"] for key, path in paths.items()})
    for argv in commands.values():
        run_once(argv, env)  # warm-up
    walls: dict = {label: [] for label in commands}
    cpus: dict = {label: [] for label in commands}
    for _ in range(runs):
        for label, argv in commands.items():
            wall, cpu = run_once(argv, env)
            walls[label].append(wall)
            cpus[label].append(cpu)
    floor, floor_cpu = statistics.median(walls["import yaml"]), statistics.median(cpus["import yaml"])
    print(f"\nscaling, {runs} rounds; `python -c \"import yaml\"` median {floor * 1000:.0f} ms wall, "
          f"{floor_cpu * 1000:.0f} ms CPU")
    for kind in ("flat", "repeat"):
        per_layer = {}
        for layers in sizes:
            if (kind, layers) not in paths:
                print(f"{kind:>6} {layers:>8,} layers: beyond the {MAX_SPEC_BYTES:,}-byte file limit, left out")
                continue
            median, cpu = statistics.median(walls[kind, layers]), statistics.median(cpus[kind, layers])
            per_layer[layers] = (cpu - floor_cpu) / layers
            print(f"{kind:>6} {layers:>8,} layers: median {median:.3f} s wall (min {min(walls[kind, layers]):.3f}), "
                  f"{cpu:.3f} s CPU; {(median - floor) / layers * 1e6:.1f} µs wall and "
                  f"{per_layer[layers] * 1e6:.1f} µs CPU per layer beyond `import yaml`")
        if len(per_layer) > 1:
            low, high = min(per_layer.values()), max(per_layer.values())
            print(f"{kind:>6}: CPU per layer varies by {high / low:.2f}× from {min(per_layer):,} to "
                  f"{max(per_layer):,} layers (1.00× = linear)")


def profile(path: Path) -> None:
    import cProfile
    import io
    import pstats

    from convcalc.cost.analysis import analyze
    from convcalc.spec.loader import load

    profiler = cProfile.Profile()
    profiler.enable()
    report = analyze(load(str(path)).expand())
    text = report.to_json()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())
    print(f"{len(report.layers)} layers, {len(text):,} characters of JSON")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=10_000, help="layers per spec (a multiple of 4)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process analysis of each spec")
    parser.add_argument("--keep", type=Path, help="write the generated specs here instead of a temp dir")
    parser.add_argument("--sizes", default="10000,36000,40000,100000",
                        help="layer counts of the scaling run (comma-separated multiples of 4; empty: skip it)")
    args = parser.parse_args()
    units = args.layers // 4
    env = environment()
    convcalc = [sys.executable, "-m", "convcalc"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        specs = {"flat": folder / "big_flat.yaml", "repeat": folder / "big_repeat.yaml"}
        specs["flat"].write_text(flat_spec(units), encoding="utf-8")
        specs["repeat"].write_text(repeat_spec(units), encoding="utf-8")

        # the two spellings must give the same numbers
        outputs = {}
        for kind, path in specs.items():
            result = subprocess.run(convcalc + ["analyze", str(path), "--format", "json"], env=env,
                                    capture_output=True, text=True, check=True)
            import json

            data = json.loads(result.stdout)
            outputs[kind] = (data["totals"], [(l["type"], l["output_shape"], l["macs"]) for l in data["layers"]])
        same = outputs["flat"] == outputs["repeat"]
        totals = outputs["flat"][0]
        print(f"{totals['layers']:,} layers per spec; totals identical in both spellings: {same}")
        print(f"  params {totals['params']:,}  MACs {totals['macs']:,}  FLOPs {totals['flops']:,}")

        base, base_cpu = time_command([sys.executable, "-c", "pass"], args.runs, env)
        floor, floor_cpu = time_command([sys.executable, "-c", "import yaml"], args.runs, env)
        print(f"python -c pass: median {statistics.median(base) * 1000:.0f} ms wall, "
              f"{statistics.median(base_cpu) * 1000:.0f} ms CPU; python -c \"import yaml\": median "
              f"{statistics.median(floor) * 1000:.0f} ms wall; load average {os.getloadavg()[0]:.2f}")
        worst = 0.0
        for kind, path in specs.items():
            times, cpus = time_command(convcalc + ["analyze", str(path), "--format", "json"], args.runs, env)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{kind:>6} ({path.stat().st_size:,} bytes of YAML): median {median:.3f} s wall "
                  f"(min {min(times):.3f}, max {max(times):.3f}), median {statistics.median(cpus):.3f} s CPU, "
                  f"over {len(times)} runs (goal ≤ {GOAL_SECONDS} s); "
                  f"{median / statistics.median(floor):.1f}× `import yaml`")
        sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
        if sizes:
            scaling(sizes, folder, args.runs, env, convcalc)
        if args.profile:
            for kind, path in specs.items():
                print(f"\n== cProfile, {kind} ==")
                profile(path)
    print("PASS" if worst <= GOAL_SECONDS and same else "OVER GOAL" if same else "MISMATCH")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
