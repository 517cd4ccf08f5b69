"""Mid-sized networks, one per registered kind (its example and each ``also`` variant), whose peak memory under
``convcalc verify`` is measured against the estimate; used by tests/verify/test_memory_estimate.py and
benchmarks/memory_estimate.py.

Run as a script, it is the measuring worker: ``python tests/memory_cases.py --dtype float32 [--rf] LABEL …``
runs ``convcalc verify`` in this process on each case and prints one JSON line per case: the peak resident set
above the resident set before the run (``VmHWM`` after resetting it through ``/proc/self/clear_refs``, the free
heap first returned with ``malloc_trim``), for the case at mid size and at its example's own size (the baseline:
the interpreter's and the command's own allocations, measured the same way), and the estimate.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import sys
import tempfile
import time
from math import prod
from pathlib import Path

#: elements of a mid-sized case's input: 4 MiB in float32, large enough that the arrays dominate
MID_ELEMENTS = 2**20


def cases() -> dict[str, dict]:
    """Every registered kind's example (label: the kind), and each of its ``also`` variants (``KIND/N``), as specs;
    not a placeholder's (``unsupported``: nothing runs it)."""
    from convcalc.layers import REGISTRY

    out = {}
    for kind in sorted(k for k, cls in REGISTRY.items() if not cls.placeholder):
        example = REGISTRY[kind].example
        out[kind] = example.spec(kind)
        for index, changes in enumerate(example.also, 1):
            out[f"{kind}/{index}"] = example.spec(kind, **changes)
    return out


def _analyse(spec: dict):
    import convcalc
    from convcalc.cost.analysis import analyze

    graph = convcalc.load(spec).expand()
    return graph, analyze(graph)


def scaled(spec: dict, elements: int = MID_ELEMENTS, cap: int | None = None, dtype: str = "float64",
           rf: bool = True) -> dict:
    """The spec with its input grown to about ``elements``: the spatial axes (a flat input's one axis) times an
    integer factor, halved until the kind accepts it (and, given ``cap``, until the estimate in ``dtype``, with the
    RF probe's if ``rf``, is at most ``cap`` bytes); else the batch grows instead."""
    shape = list(spec["input"])
    axes = range(1, len(shape)) if len(shape) > 1 else range(len(shape))
    factor = max(1, round((elements / prod(shape)) ** (1 / len(axes))))
    while factor > 1:
        grown = dict(spec, input=[n * factor if a in axes else n for a, n in enumerate(shape)])
        try:
            if cap is None or estimate(grown, dtype, rf) <= cap:
                return grown
        except Exception:  # noqa: BLE001 - a size the kind refuses (a fixed reshape, a divisibility)
            pass
        factor //= 2
    return dict(spec, batch=max(1, elements // prod(shape)))


def estimate(spec: dict, dtype: str, rf: bool) -> int:
    """What ``convcalc verify`` estimates for the spec: its run, and with ``rf`` the larger of that and the probe's."""
    from convcalc.verify import estimate_peak_bytes, probe_layer, probe_bytes

    graph, report = _analyse(spec)
    total = estimate_peak_bytes(graph, report, dtype)
    if rf:
        total = max(total, probe_bytes(graph, report, probe_layer(graph, report)))
    return total


# ---- the worker ----------------------------------------------------------------------------------------------
def _status(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def can_reset_peak() -> bool:
    """Whether this system lets a process reset its peak resident set (Linux ≥ 4.0: ``5`` to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return _status("VmHWM") > 0
    except OSError:
        return False


def _trim() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(path: str, dtype: str, rf: bool) -> int:
    """Peak resident bytes of ``convcalc verify PATH`` in this process above the resident set before it."""
    from convcalc.cli.commands.verify import verify

    _trim()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    from convcalc.errors import SpecError

    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        try:
            code = verify(path, dtype=dtype, rf=rf, format="json", max_memory="64G")
        except SpecError:  # the RF probe refuses the layer (channels last) before any work: the run alone is measured
            if not rf:
                raise
            code = verify(path, dtype=dtype, rf=False, format="json", max_memory="64G")
    if code not in (0, 1, 2):  # 1: a disagreement (the RF probe of a kind with batch statistics), measured as well
        raise RuntimeError(f"verify {path} exited {code}")
    return _status("VmHWM") - before


def _write(spec: dict, folder: str, name: str) -> str:
    import yaml

    path = Path(folder) / f"{name.replace('/', '_')}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="+")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rf", action="store_true")
    parser.add_argument("--elements", type=int, default=MID_ELEMENTS)
    parser.add_argument("--cap", type=int, default=None, help="largest estimate in bytes (a smaller input above)")
    args = parser.parse_args(argv)
    every = cases()
    with tempfile.TemporaryDirectory() as folder:
        warm = _write(every[args.labels[0]], folder, "warm")
        measure(warm, args.dtype, args.rf)  # imports everything a run needs
        for label in args.labels:
            started = time.perf_counter()
            small = every[label]
            mid = scaled(small, args.elements, args.cap, args.dtype, args.rf)
            base = measure(_write(small, folder, label + ".small"), args.dtype, args.rf)
            peak = measure(_write(mid, folder, label), args.dtype, args.rf)
            print(json.dumps({"label": label, "input": mid["input"], "batch": mid.get("batch", 1),
                              "baseline": base, "peak": peak, "estimate": estimate(mid, args.dtype, args.rf),
                              "seconds": round(time.perf_counter() - started, 3)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
