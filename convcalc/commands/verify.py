"""``convcalc verify``: run the network on the NumPy executor and check the cost model's output shape, params and
MACs layer by layer. Exit 0 if every layer agrees, 1 on a mismatch (the first explained on stderr), 2 on bad input
or when the memory guard refuses (see :mod:`convcalc.verify`).

JSON shape (``--format json``, version 1): ``{"version", "name", "batch", "dtype", "seed", "ok", "seconds",
"memory_estimate_bytes", "first_mismatch": sentence | null, "layers": [{"name", "type", "ok", "mismatches":
[...], "analytic": {"output_shape", "params", "macs"}, "executed": {same keys}}], "rf": null}``.
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from typing import List, Optional

import typer

from ..cli import BATCH_OPT, INPUT_OPT, SET_OPT, SPEC_ARG, app, expand, user_errors


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
    from ..render.grid import Grid

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
):
    """Run the network on a NumPy executor and check shapes, params and MACs against the cost model."""
    import json

    from ..verify import MemoryRefused, parse_bytes
    from ..verify import verify as run_verify

    with user_errors():
        limit = parse_bytes(max_memory)
        graph = expand(spec, batch, input, set)
        progress = _LazyProgress(len(graph.nodes))
        try:
            result = run_verify(graph, seed=seed, dtype=dtype.value, max_memory=limit, progress=progress)
        except MemoryRefused as refused:
            print(f"error: {refused}", file=sys.stderr)
            raise typer.Exit(2) from None
        finally:
            progress.close()
    if format is VerifyFormat.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(_table(result))
    first = result.first_mismatch
    if first is not None:
        print(f"mismatch: {first.explain()}", file=sys.stderr)
        raise typer.Exit(1)
