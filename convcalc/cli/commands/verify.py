"""``convcalc verify``: run the network on the NumPy executor and check the cost model's output shape, params and
MACs layer by layer. Exit 0 if every layer agrees, 1 on a mismatch (the first explained on stderr), 2 on bad input
or when the memory guard refuses (see :mod:`convcalc.verify`).

JSON shape (``--format json``, version 1): ``{"version", "name", "batch", "dtype", "seed", "ok", "seconds",
"memory_estimate_bytes", "first_mismatch": sentence | null, "layers": [{"name", "type", "ok", "mismatches":
[...], "analytic": {"output_shape", "params", "macs"}, "executed": {same keys}}], "rf": null}``; with ``--rf``,
``"rf"`` is a list of per-axis entries ``{"layer", "position", "axis", "index", "analytic": {"first", "last",
"size", "clipped"}, "measured": {"first", "last", "span", "taps"}, "input_size", "status", "ok", "note",
"mismatch"}`` (see :func:`convcalc.verify.probe_rf` and docs/rf.md) and ``first_mismatch`` falls back to the first
RF mismatch.
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from typing import List, Optional

import typer

from ..app import BATCH_OPT, INPUT_OPT, SET_OPT, SPEC_ARG, app, expand, user_errors
from ...errors import SpecError


class VerifyFormat(str, Enum):
    table = "table"
    json = "json"


class RunDtype(str, Enum):
    float32 = "float32"
    float64 = "float64"


class _LazyProgress:
    """A transient Rich progress bar on stderr, started only once the run has taken more than ``delay`` seconds
    and only when stderr is a terminal."""

    def __init__(self, total: int, delay: float = 1.0):
        self.total, self.delay, self.start = total, delay, time.perf_counter()
        self.bar = None
        self.task = None
        self.enabled = sys.stderr.isatty()

    def __call__(self, index, node) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < self.delay:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("executing", total=self.total)
        self.bar.update(self.task, completed=index, description=f"executing {node.name}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _table(result) -> str:
    from ...render.grid import Grid

    grid = Grid(["layer", "type", "output (analytic)", "output (executed)", "params (analytic)",
                 "params (executed)", "MACs (analytic)", "MACs (executed)", ""],
                [False, False, True, True, True, True, True, True, False])

    def shape(s):
        return "—" if s is None else "×".join(map(str, s))

    def num(n):
        return "—" if n is None else f"{n:,}"

    for row in result.rows:
        grid.add([row.name, row.type, shape(row.analytic_shape), shape(row.executed_shape),
                  num(row.analytic_params), num(row.executed_params), num(row.analytic_macs),
                  num(row.executed_macs), "✓" if row.ok else "✗"])
    lines = [text for text, _ in grid.lines()]
    agree = sum(row.ok for row in result.rows)
    lines.append(f"{agree}/{len(result.rows)} layers agree · batch {result.batch} · {result.dtype} · "
                 f"seed {result.seed} · executed in {result.seconds:.2f} s")
    return "\n".join(lines)


def _rf_table(axes: list) -> str:
    from ...render.grid import Grid

    grid = Grid(["axis", "unit", "analytic window", "size", "measured window", "span", "nonzero taps", ""],
                [False, True, False, True, False, True, True, False])
    for a in axes:
        analytic = f"{a['analytic']['first']} … {a['analytic']['last']}"
        measured = "—" if a["measured"]["first"] is None else f"{a['measured']['first']} … {a['measured']['last']}"
        mark = {"ok": "✓", "mismatch": "✗"}.get(a["status"], a["status"])
        grid.add([str(a["axis"]), str(a["index"]), analytic + (" (clipped)" if a["analytic"]["clipped"] else ""),
                  str(a["analytic"]["size"]), measured, str(a["measured"]["span"]), str(a["measured"]["taps"]),
                  mark])
    first = axes[0] if axes else None
    unit = ",".join(map(str, first["position"])) if first else ""
    lines = [f"RF probe: `{first['layer']}` unit ({unit}) — input gradient with all-ones weights, max pooling as "
             "a sum, positive input" if first else "RF probe"]
    lines += [text for text, _ in grid.lines()]
    for note in dict.fromkeys(a["note"] for a in axes if a["note"]):
        lines.append(f"note: {note}")
    agree = sum(a["status"] == "ok" for a in axes)
    compared = sum(a["status"] in ("ok", "mismatch") for a in axes)
    if compared:
        lines.append(f"{agree}/{compared} axes agree with the analytic RF (span = RF size, first index = −P + u·j)")
    else:
        lines.append("no axis compared: the measured window is shown for information")
    return "\n".join(lines)


@app.command()
def verify(
    spec: str = SPEC_ARG,
    batch: Optional[int] = BATCH_OPT,
    input: Optional[str] = INPUT_OPT,
    set: Optional[List[str]] = SET_OPT,
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights and input."),
    dtype: RunDtype = typer.Option(RunDtype.float32, "--dtype", help="Executor dtype."),
    format: VerifyFormat = typer.Option(VerifyFormat.table, "--format", "-f", help="Output format."),
    max_memory: str = typer.Option("4G", "--max-memory",
                                   help="Refuse to run above this estimated peak memory (e.g. 512M, 4G)."),
    rf: bool = typer.Option(False, "--rf", help="Also probe the receptive field: the input gradient of one output "
                            "unit (all-ones weights, max pooling as a sum, positive input) against the analytic "
                            "RF size and first index −P + u·j, per axis."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", metavar="NAME",
                                        help="--rf: the layer of the unit (default: the last with spatial axes)."),
    at: Optional[str] = typer.Option(None, "--at", metavar="I,J",
                                     help="--rf: the unit's position (default: the one nearest the centre whose "
                                          "RF fits inside the input)."),
):
    """Run the network on a NumPy executor and check shapes, params and MACs against the cost model.

    With --rf, also measure which input positions influence one output unit and check the span and first index
    against the analytic receptive field (docs/rf.md).
    """
    import json

    from ...verify import MemoryRefused, parse_bytes
    from ...verify import verify as run_verify

    with user_errors():
        if (layer is not None or at is not None) and not rf:
            raise SpecError("--layer and --at choose the unit of the RF probe", None, "add --rf")
        limit = parse_bytes(max_memory)
        graph = expand(spec, batch, input, set)
        progress = _LazyProgress(len(graph.nodes))
        try:
            result = run_verify(graph, seed=seed, dtype=dtype.value, max_memory=limit, progress=progress)
            if rf:
                from ...verify import probe_rf
                from .rf import _parse_at

                axes = probe_rf(graph, result.report, layer, _parse_at(at), limit)
                result.rf = [axis.to_dict() for axis in axes]
        except MemoryRefused as refused:
            print(f"error: {refused}", file=sys.stderr)
            raise typer.Exit(2) from None
        finally:
            progress.close()
    if format is VerifyFormat.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(_table(result))
        if rf:
            print()
            print(_rf_table(result.rf))
    sentence = result.first_mismatch_sentence
    if sentence is not None:
        print(f"mismatch: {sentence}", file=sys.stderr)
        raise typer.Exit(1)
