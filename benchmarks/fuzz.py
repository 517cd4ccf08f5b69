"""The long fuzz run: ``tests/fuzz_cases.py``'s generator over many cases, in worker subprocesses with a time budget
and a memory cap, counted per outcome class.

    python benchmarks/fuzz.py [--n 20000] [--seed 0] [--jobs 2] [--timeout 10] [--memory 1024] [--out DIR]

Case ``i`` is drawn from ``random.Random(f"{seed}:{i}")``, so any case can be replayed alone (``--only I``).
Each worker runs cases in-process through the CLI (as tests/test_fuzz.py does) and, per case, resets its peak RSS
(``/proc/self/clear_refs``) and reads it back (``VmHWM``). A case is:

* ``hang`` when it runs over ``--timeout`` seconds (the worker is killed and replaced);
* ``memory`` when its peak RSS is over ``--memory`` MiB or it raises MemoryError (the worker's address space is
  capped with ``RLIMIT_AS`` at twice that above its start, so a runaway case fails instead of the machine);
* ``crash`` when the worker dies otherwise;
* else the class :func:`fuzz_cases.classify` gives it: ``ok``, ``error-position``, ``error-option``,
  ``error-unplaced``, ``traceback``.

Every case of a failing class (``error-unplaced``, ``traceback``, ``hang``, ``memory``, ``crash``) is saved to
``--out``/``CLASS``/``I``/: its files, ``command.txt`` and ``output.txt``. The counts are printed at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

FAILING = ("error-unplaced", "traceback", "hang", "memory", "crash")


def case_of(seed: int, index: int):
    from fuzz_cases import make_case

    return make_case(random.Random(f"{seed}:{index}"))


def _status(key: str) -> int:
    """A /proc/self/status figure in bytes (``VmHWM``, ``VmSize``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def worker(seed: int, memory: int) -> None:
    """Read case numbers from stdin, one a line; answer each with a JSON line (class, seconds, peak, report)."""
    import resource

    from fuzz_cases import classify, describe, run_case

    limit = _status("VmSize") + 2 * memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for line in sys.stdin:
        index = int(line)
        case = case_of(seed, index)
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        with tempfile.TemporaryDirectory() as folder:
            try:
                outcome = run_case(case, Path(folder))
                outcome_class = classify(outcome)
                text = describe(case, outcome)
            except MemoryError:
                outcome_class, text, outcome = "memory", "MemoryError while running the case", None
        peak = _status("VmHWM")
        if peak > memory:
            outcome_class = "memory"
        answer = {"index": index, "class": outcome_class, "seconds": outcome.seconds if outcome else 0.0,
                  "peak": peak, "report": text if outcome_class in FAILING else ""}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class Worker:
    def __init__(self, seed: int, memory: int):
        from subprocess_env import environment

        env = environment()
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", "--seed", str(seed), "--memory",
                                         str(memory // 2**20)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env, cwd=tempfile.gettempdir())
        self.index: int | None = None
        self.started = 0.0

    def send(self, index: int) -> None:
        self.index, self.started = index, time.monotonic()
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def save(out: Path, seed: int, answer: dict) -> None:
    case = case_of(seed, answer["index"])
    folder = out / answer["class"] / str(answer["index"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    (folder / "command.txt").write_text("convcalc " + " ".join(case.args) + "\n", encoding="utf-8",
                                        errors="surrogateescape")
    (folder / "output.txt").write_text(answer.get("report", ""), encoding="utf-8", errors="surrogateescape")


def run(n: int, seed: int, jobs: int, timeout: float, memory: int, out: Path, first: int = 0) -> Counter:
    counts: Counter = Counter()
    pending = list(range(first + n - 1, first - 1, -1))
    workers = [Worker(seed, memory) for _ in range(jobs)]
    busy: dict = {}
    peak = slowest = 0.0
    slowest_index = peak_index = None  # the cases to rerun with --only
    start = time.monotonic()
    done = 0

    def finish(answer: dict) -> None:
        nonlocal done, peak, slowest, slowest_index, peak_index
        counts[answer["class"]] += 1
        done += 1
        if answer.get("peak", 0) > peak:
            peak, peak_index = answer["peak"], answer["index"]
        if answer.get("seconds", 0.0) > slowest:
            slowest, slowest_index = answer["seconds"], answer["index"]
        if answer["class"] in FAILING:
            save(out, seed, answer)
            print(f"case {answer['index']}: {answer['class']}", flush=True)
        if done % 1000 == 0:
            rate = done / (time.monotonic() - start)
            print(f"{done:,} cases, {rate:.0f}/s: {dict(counts)}", flush=True)

    try:
        while pending or busy:
            for w in workers:
                if w not in busy and pending:
                    w.send(pending.pop())
                    busy[w] = True
            readable, _, _ = select.select([w.process.stdout for w in busy], [], [], 0.2)
            for i, w in enumerate(workers):
                if w not in busy:
                    continue
                if w.process.stdout in readable:
                    line = w.process.stdout.readline()
                    if line:
                        finish(json.loads(line))
                        del busy[w]
                        continue
                    answer = {"index": w.index, "class": "crash",
                              "report": f"worker exited with {w.process.wait()}"}
                elif time.monotonic() - w.started > timeout:
                    answer = {"index": w.index, "class": "hang", "report": f"over {timeout:g} s"}
                else:
                    continue
                w.kill()
                finish(answer)
                del busy[w]
                workers[i] = Worker(seed, memory)
    finally:
        for w in workers:
            w.kill()
    elapsed = time.monotonic() - start
    print(f"\n{done:,} cases (seed {seed}) in {elapsed:.0f} s, {done / elapsed:.0f}/s; slowest {slowest:.2f} s "
          f"(case {slowest_index}), largest peak RSS {peak / 2**20:.0f} MiB (case {peak_index})")
    from fuzz_cases import CLASSES

    for name in CLASSES:
        print(f"  {name:15} {counts[name]:>7,}")
    if any(counts[name] for name in FAILING):
        print(f"failing cases saved under {out}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--memory", type=int, default=1024, help="MiB of peak RSS per case")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "convcalc-fuzz")
    parser.add_argument("--only", type=int, help="run case I alone (and print it)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    memory = args.memory * 2**20
    if args.worker:
        worker(args.seed, memory)
        return
    if args.only is not None:
        from fuzz_cases import classify, describe, run_case

        case = case_of(args.seed, args.only)
        with tempfile.TemporaryDirectory() as folder:
            outcome = run_case(case, Path(folder))
        print(classify(outcome), f"{outcome.seconds:.2f} s")
        print(describe(case, outcome))
        return
    counts = run(args.n, args.seed, args.jobs, args.timeout, memory, args.out)
    sys.exit(1 if any(counts[name] for name in FAILING) else 0)


if __name__ == "__main__":
    main()
