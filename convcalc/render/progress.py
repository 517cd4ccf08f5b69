"""Progress on stderr for runs that can take more than about a second: the measured ERF (per sample and per
layer), the ``verify`` layer check and ``--rf`` probe (per layer, forward and backward), sweeps (per point) and
large imports (per stage).

One :class:`Progress` per run counts *units of work* (a node run forward, a node run backward, a sweep point) over
everything the run will do, so that the bar moves with the real work and never sits at 99% while a backward pass
that was not counted runs. It draws nothing unless stderr is a terminal, and not before ``delay`` seconds (a
short run shows no bar at all); Rich is imported only when the bar is drawn. The work reports through plain
callables (``progress(index, node)``, the executor's protocol), so nothing below ``render/`` imports this module.
"""

from __future__ import annotations

import sys
import time

#: seconds before a bar appears: runs shorter than this print nothing
DELAY = 1.0


def enabled(stream=None) -> bool:
    """Whether a bar may be drawn on ``stream`` (stderr): only a terminal (never a pipe, a file, a CI log)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """A transient bar over ``total`` units of work on stderr (see the module's docstring).

    ``advance(n, label)`` moves it by ``n`` units; ``phase(label, size)`` returns a ``progress(index, node)``
    callable for a pass over ``size`` nodes (the executor's forward, a backward pass) that moves the bar by one
    unit per node, labelled ``label NODE``. ``close()`` (or leaving the ``with`` block) removes the bar."""

    def __init__(self, total: int, description: str = "working", delay: float = DELAY, stream=None):
        self.total, self.description, self.delay = max(int(total), 1), description, delay
        self.start = time.perf_counter()
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled(self.stream)
        self.bar = self.task = None

    def expect(self, total: int) -> None:
        """Set the units of work once the work knows them (before any is done: the measured ERF learns its cut
        graph after the checks)."""
        self.total = max(int(total), 1)
        if self.bar is not None:
            self.bar.update(self.task, total=self.total)

    def advance(self, n: int = 1, label: str = "") -> None:
        self.done = min(self.done + n, self.total)
        self._draw(label)

    def phase(self, label: str, size: int):
        """A ``progress(index, node)`` callable for one pass over ``size`` nodes, starting where the bar is."""
        offset = self.done
        end = offset + size

        def step(index: int, node=None) -> None:
            self.done = min(offset + index + 1, end, self.total)
            self._draw(f"{label} {getattr(node, 'name', node) if node is not None else ''}".rstrip())

        return step

    def _draw(self, label: str) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=Console(file=self.stream), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=self.total)
        text = f"{self.description}: {label}" if label else self.description
        self.bar.update(self.task, completed=self.done, description=text[:60])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
