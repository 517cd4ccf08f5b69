"""`convcalc verify`'s memory estimate against the measured peak resident set, per registered kind: the exhaustive
variant of tests/verify/test_memory_estimate.py (larger inputs, no cap on the estimate).

    python benchmarks/memory_estimate.py [--elements 1048576] [--jobs 2] [KIND_OR_LABEL ...]

For every kind's example and ``also`` variant (``KIND/N``), grown to about ``--elements`` input elements, it runs
``convcalc verify`` in worker subprocesses (tests/memory_cases.py) in float32 and float64, with and without
``--rf``, and prints the measured peak (above the interpreter's, measured the same way on the example's own size),
the estimate and their ratio; the last lines give the largest ratio per configuration. Exit 1 if any measured peak
exceeds its estimate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import memory_cases  # noqa: E402

CONFIGS = [("float32", False), ("float64", False), ("float32", True), ("float64", True)]


def _name(dtype: str, rf: bool) -> str:
    return dtype + (" --rf" if rf else "")


def measure(labels, dtype: str, rf: bool, elements: int) -> list[dict]:
    command = [sys.executable, memory_cases.__file__, *labels, "--dtype", dtype, "--elements", str(elements)]
    done = subprocess.run(command + (["--rf"] if rf else []), capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"worker {_name(dtype, rf)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="*", help="kinds (all their variants) or labels; default: every one")
    parser.add_argument("--elements", type=int, default=memory_cases.MID_ELEMENTS)
    parser.add_argument("--jobs", type=int, default=2, help="workers at a time (one per configuration)")
    args = parser.parse_args(argv)
    if not memory_cases.can_reset_peak():
        raise SystemExit("this system cannot reset a process's peak resident set (/proc/self/clear_refs)")
    every = memory_cases.cases()
    labels = [label for label in every
              if not args.labels or label in args.labels or label.split("/")[0] in args.labels]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda config: measure(labels, *config, args.elements), CONFIGS))
    print(f"{'label':24} {'configuration':16} {'input':>18} {'measured MiB':>13} {'estimate MiB':>13} {'ratio':>6}")
    worst, over = {}, 0
    for (dtype, rf), records in zip(CONFIGS, results):
        for record in records:
            actual = record["peak"] - record["baseline"]
            ratio = actual / record["estimate"]
            over += actual > record["estimate"]
            shape = "x".join(map(str, record["input"])) + (f" b{record['batch']}" if record["batch"] > 1 else "")
            print(f"{record['label']:24} {_name(dtype, rf):16} {shape:>18} {actual / 2**20:13.1f} "
                  f"{record['estimate'] / 2**20:13.1f} {ratio:6.2f}")
            worst[_name(dtype, rf)] = max(worst.get(_name(dtype, rf), (0, "")), (ratio, record["label"]))
    for name, (ratio, label) in worst.items():
        print(f"largest measured/estimate, {name}: {ratio:.2f} ({label})")
    print(f"{over} measured peaks above their estimate")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
