"""Whole-process time and memory of `convcalc analyze configs/resnet50.yaml` (goal: ≤ 0.15 s median, ≤ 40 MiB).

    python benchmarks/analyze_speed.py [SPEC] [--runs 21] [--module]

convcalc runs as a user runs it: the ``convcalc`` console script next to this Python (``pip install .`` puts it
there, and it imports the installed package; an editable install imports the checkout through setuptools' editable
finder, a little slower). Without that script, or with ``--module``, it runs ``python -m convcalc`` from the
checkout. The first line of the output says which was measured.

Every command runs as a fresh subprocess, ``--runs`` times after one warm-up, interleaved round-robin so that a
burst of load on a shared machine hits all of them alike. Printed per command: the median wall time, the spread,
the peak resident set size (``ru_maxrss`` of the child, read with ``os.wait4``), and the ratio to the references
measured in the same run:

* ``python -c pass`` — the interpreter's own start-up;
* ``python -c "import yaml"`` — the floor for any YAML-reading program;
* ``python -c "import yaml, typer"`` — the floor for a YAML-reading Typer CLI. ``convcalc analyze`` takes a fast
  path that never imports Typer (convcalc/cli/entry.py); the same run forced through Typer
  (``CONVCALC_NO_FAST_PATH=1``) is measured too.

Python writes byte-code caches to a private prefix (``PYTHONPYCACHEPREFIX``), as an installed package would have
them, even when the environment sets ``PYTHONDONTWRITEBYTECODE``; the shared checkout is never written to.
Output goes to /dev/null; ``NO_COLOR`` is set (stdout is not a terminal anyway).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from subprocess_env import environment  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS, GOAL_MIB = 0.15, 40


def run_once(argv: list[str], env: dict) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", default="configs/resnet50.yaml")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--module", action="store_true", help="run `python -m convcalc` from the checkout")
    args = parser.parse_args()
    env = environment()
    python = sys.executable
    script = Path(python).with_name("convcalc")
    if script.is_file() and not args.module:
        convcalc = [str(script)]
        print(f"measuring the console script {script}")
    else:
        convcalc = [python, "-m", "convcalc"]
        print(f"measuring `python -m convcalc` from {ROOT}")
    analyze = [*convcalc, "analyze", args.spec]
    commands = {
        "python -c pass": ([python, "-c", "pass"], env),
        'python -c "import yaml"': ([python, "-c", "import yaml"], env),
        'python -c "import yaml, typer"': ([python, "-c", "import yaml, typer"], env),
        f"convcalc analyze {args.spec}": (analyze, env),
        f"convcalc analyze {args.spec} --format json": ([*analyze, "--format", "json"], env),
        "  the same through Typer (CONVCALC_NO_FAST_PATH=1)": (analyze, {**env, "CONVCALC_NO_FAST_PATH": "1"}),
    }
    for argv, command_env in commands.values():
        run_once(argv, command_env)  # warm-up: byte-code caches, page cache
    times = {label: [] for label in commands}
    peaks = {label: 0 for label in commands}
    for _ in range(args.runs):
        for label, (argv, command_env) in commands.items():
            seconds, rss = run_once(argv, command_env)
            times[label].append(seconds)
            peaks[label] = max(peaks[label], rss)

    medians = {label: statistics.median(values) for label, values in times.items()}
    bare, floor = medians["python -c pass"], medians['python -c "import yaml"']
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<58} {'median':>8} {'min':>7} {'max':>7} {'peak RSS':>10} {'× bare':>7} {'× floor':>8}")
    for label, values in times.items():
        print(f"{label:<58} {medians[label] * 1000:6.0f}ms {min(values) * 1000:5.0f}ms {max(values) * 1000:5.0f}ms "
              f"{peaks[label] / 2**20:7.1f}MiB {medians[label] / bare:7.2f} {medians[label] / floor:8.2f}")
    analyze = medians[f"convcalc analyze {args.spec}"]
    peak = peaks[f"convcalc analyze {args.spec}"] / 2**20
    print(f"\nanalyze − (import yaml) = {(analyze - floor) * 1000:.0f} ms of convcalc's own imports and work")
    verdict = "within" if analyze <= GOAL_SECONDS and peak <= GOAL_MIB else "over"
    print(f"goal ≤ {GOAL_SECONDS * 1000:.0f} ms median and ≤ {GOAL_MIB} MiB: {verdict} "
          f"({analyze * 1000:.0f} ms, {peak:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
