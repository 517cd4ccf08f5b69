"""The JSON emit phase of `convcalc analyze SPEC --format json` (issue 19: ≤ 40 ms for 10,000 layers), old vs new.

    python benchmarks/json_emit_speed.py SPEC [--runs 15] [--old /path/to/venv] [--new /path/to/venv]

Each run is a fresh process, as the CLI is: it reads, expands and analyses SPEC with the cyclic collector off (as
cli/entry.py runs), then times, in CPU time, writing the report's JSON to stdout (a null device): the phase of
render/analyze.py's JSON view, cost/report.py's ``json_pieces`` and cost/jsontext.py. Round-robin with it, the
whole command's CPU time (``os.wait4``) and ``python -c "import yaml"`` as the reference of the machine's load.
The venvs' bytecode goes to a cache of its own (PYTHONPYCACHEPREFIX), so that neither side compiles its sources
on every run. Medians and minimums over ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

PHASE = r"""
import gc, os, sys, time
gc.disable()
from convcalc.cli.common import expand
from convcalc.cost.analysis import analyze
from convcalc.cost.peers import under_convention
from convcalc.render.analyze import AnalyzeView, RenderOptions, parse_columns
from convcalc.render.emitters import emit
graph = expand(sys.argv[1], None, None, None, False)
analysed = analyze(graph)
report = under_convention(analysed, graph, "torchvision", False)
options = RenderOptions("auto", None, parse_columns(None), False, None, None, "macs", panel=False)
start = time.process_time()
emit(AnalyzeView(report, options, peers=(analysed, graph)), "json", sys.stdout)
sys.stdout.flush()
print(time.process_time() - start, len(report.layers), file=sys.stderr)
os._exit(0)
"""


def cpu(command: list[str], env: dict) -> tuple[float, str]:
    """The CPU time of a child process (user + system) and its stderr."""
    with open(os.devnull, "w") as null:
        child = subprocess.Popen(command, stdout=null, stderr=subprocess.PIPE, env=env, cwd=tempfile.gettempdir())
        err = child.stderr.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"{command} failed: {err}")
    return usage.ru_utime + usage.ru_stime, err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--old", default="/work/venv-base", help="the venv of the old code")
    parser.add_argument("--new", default=sys.prefix, help="the venv of the new code (default: this one)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "convcalc-json-emit-pyc")
    spec = os.path.abspath(args.spec)
    sides = {"old": args.old, "new": args.new}
    times: dict[str, list[float]] = {"import yaml": []}
    layers = 0
    for round_ in range(args.runs + 1):  # round 0 writes the bytecode and is not counted
        counted = round_ > 0
        seconds, _ = cpu([os.path.join(args.old, "bin", "python"), "-c", "import yaml"], env)
        if counted:
            times["import yaml"].append(seconds)
        for side, venv in sides.items():
            whole, _ = cpu([os.path.join(venv, "bin", "convcalc"), "analyze", spec, "--format", "json"], env)
            _, err = cpu([os.path.join(venv, "bin", "python"), "-c", PHASE, spec], env)
            phase, count = err.split()[-2:]
            layers = int(count)
            if counted:
                times.setdefault(f"{side} emit phase", []).append(float(phase))
                times.setdefault(f"{side} whole command", []).append(whole)
    for label, values in times.items():
        median = statistics.median(values)
        per_layer = f"  {median / layers * 1e6:6.2f} µs/layer" if "emit" in label else ""
        print(f"{label:20s} median {median * 1e3:7.1f} ms  min {min(values) * 1e3:7.1f} ms{per_layer}")
    for what in ("emit phase", "whole command"):
        old, new = (statistics.median(times[f"{side} {what}"]) for side in sides)
        print(f"{what}: {old * 1e3:.1f} → {new * 1e3:.1f} ms ({new / old:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
