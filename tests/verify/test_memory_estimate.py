"""`convcalc verify`'s memory estimate bounds the measured peak resident set, for every registered kind (its
example and each ``also`` variant, grown to a mid-sized input), in float32 and float64, with and without ``--rf``.

A few worker subprocesses (tests/memory_cases.py) each measure many cases: the peak resident set of a verify run
above the resident set before it (reset through /proc/self/clear_refs), minus the same measurement of the case at
its example's size (the interpreter's and the command's own allocations). The exhaustive, larger variant is
``benchmarks/memory_estimate.py``, which prints actual/estimate per kind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("yaml")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import memory_cases  # noqa: E402

WORKER = Path(memory_cases.__file__)
#: a quarter of the benchmark's size: 1 MiB float32 inputs, still well above the interpreter's noise; a case
#: whose estimate would pass CAP (the deformable conv's backward) gets a smaller input
ELEMENTS, CAP = 2**18, 64 * 2**20
CONFIGS = [("float32", False), ("float64", False), ("float32", True), ("float64", True)]


def _measure(labels, dtype: str, rf: bool) -> subprocess.Popen:
    command = [sys.executable, str(WORKER), *labels, "--dtype", dtype, "--elements", str(ELEMENTS), "--cap", str(CAP)]
    return subprocess.Popen(command + (["--rf"] if rf else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=WORKER.parents[1])


@pytest.fixture(scope="module")
def measured() -> dict:
    """(label, dtype, rf) → the worker's record, two workers at a time."""
    if not memory_cases.can_reset_peak():
        pytest.skip("this system cannot reset a process's peak resident set (/proc/self/clear_refs)")
    from convcalc.executor.memory import release_freed_arrays

    if not release_freed_arrays():
        pytest.skip("the C library has no mallopt: freed arrays may stay resident, beyond any estimate")
    labels = list(memory_cases.cases())
    records = {}
    for pair in (CONFIGS[:2], CONFIGS[2:]):
        workers = [(config, _measure(labels, *config)) for config in pair]
        for (dtype, rf), worker in workers:
            out, err = worker.communicate(timeout=600)
            assert worker.returncode == 0, err[-3000:]
            for line in out.splitlines():
                record = json.loads(line)
                records[record["label"], dtype, rf] = record
    return records


def test_every_kind_and_variant_is_measured(measured):
    labels = set(memory_cases.cases())
    from convcalc.layers import REGISTRY

    kinds = {kind for kind, cls in REGISTRY.items() if not cls.placeholder}
    assert kinds <= labels and "upsample/2" in labels  # bicubic, an `also` variant
    assert {key[0] for key in measured} == labels
    assert len(measured) == 4 * len(labels)


@pytest.mark.parametrize("dtype,rf", CONFIGS, ids=["float32", "float64", "float32-rf", "float64-rf"])
def test_estimate_bounds_the_peak(measured, dtype, rf):
    over = []
    for (label, d, r), record in sorted(measured.items()):
        if (d, r) != (dtype, rf):
            continue
        actual = record["peak"] - record["baseline"]
        if actual > record["estimate"]:
            over.append(f"{label}: measured {actual:,} B above the estimate {record['estimate']:,} B "
                        f"(input {record['input']}, batch {record['batch']})")
    assert not over, "\n".join(over)


def test_the_cases_are_mid_sized(measured):
    # the arrays dominate: every case's peak is at least 1 MiB above its small version's
    small = [label for (label, _, _), record in measured.items() if record["peak"] - record["baseline"] < 2**20]
    assert not small, small
