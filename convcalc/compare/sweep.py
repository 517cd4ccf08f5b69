"""Parameter sweeps: the Cartesian product of ``--set NAME=v1,v2,…`` values, analysed one point at a time, and how
each count scales with each var.

The grid is walked lazily and in order (:func:`grid_points`), so a sweep never holds more than the points it
keeps: :func:`sweep` keeps them all (at most :data:`MAX_SWEEP_POINTS`, for the table and the pivots), while
:func:`stream_points` yields them one at a time for ``--format jsonl`` (at most :data:`MAX_STREAM_POINTS`).

Points run in this process, or with ``jobs`` > 1 in that many worker processes (:mod:`convcalc.compare.parallel`,
over the standard library's :class:`~concurrent.futures.ProcessPoolExecutor`): each worker receives the parsed
:class:`~convcalc.spec.loader.Network` once, then chunks of consecutive points, and the chunks come back in grid
order, so the output and the first error are exactly those of a serial run. :func:`evaluate_point` and
:func:`evaluate_points` are the same work for any other scheduler (``dask.distributed``'s ``client.map``;
docs/compare.md shows it): a Network, a :class:`SweepPoint` and a :class:`~convcalc.errors.SpecError` all pickle.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator

from ..errors import SpecError
from ..limits import shorten


@dataclass
class SweepPoint:
    """One combination of var values and the network's totals there."""

    values: dict[str, str]
    params: int
    macs: int
    flops: int
    activation_bytes: int
    peak_activation_bytes: int


@dataclass
class Sweep:
    """The grid: ``axes`` maps each swept var to its values (as typed), ``points`` follows their product."""

    name: str
    source: str
    axes: dict[str, list[str]]
    fixed: dict[str, str]
    points: list[SweepPoint]

    def exponents(self, key: str) -> dict[str, float | None]:
        """How ``key`` (params or macs) scales with each swept var: the log-log slope between its smallest and
        largest value, the other vars held at their last listed value. MobileNet: MACs ∝ α^≈2, ρ^≈2."""
        out: dict[str, float | None] = {}
        last = {name: values[-1] for name, values in self.axes.items()}
        for name, values in self.axes.items():
            numeric = [(_number(v), v) for v in values]
            numeric = [(x, v) for x, v in numeric if x is not None and x > 0]
            if len(numeric) < 2:
                out[name] = None
                continue
            (lo, lo_text), (hi, hi_text) = min(numeric), max(numeric)
            a = self.point({**last, name: lo_text})
            b = self.point({**last, name: hi_text})
            if lo == hi or a is None or b is None or getattr(a, key) <= 0 or getattr(b, key) <= 0:
                out[name] = None
                continue
            out[name] = math.log(getattr(b, key) / getattr(a, key)) / math.log(hi / lo)
        return out

    def point(self, values: dict[str, str]) -> SweepPoint | None:
        for p in self.points:
            if p.values == values:
                return p
        return None


def _number(text: str) -> float | None:
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None


def parse_sweep_sets(values: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``NAME=v1,v2,…`` options → (swept vars with their values, vars fixed to one value)."""
    axes: dict[str, list[str]] = {}
    for text in values:
        if "=" not in text:
            raise SpecError(f"`--set {text}` is not NAME=VALUE[,VALUE…]", None,
                            "write e.g. --set alpha=0.25,0.5,0.75,1.0")
        name, raw = (part.strip() for part in text.split("=", 1))
        items = [item.strip() for item in _top_level_split(raw)]
        if not name or not all(items):
            raise SpecError(f"`--set {text}`: empty name or value", None, "write e.g. --set resolution=128,160")
        if name in axes:
            raise SpecError(f"--set {name} given twice", None, "list every value in one option: NAME=a,b,c")
        axes[name] = list(dict.fromkeys(items))
    swept = {k: v for k, v in axes.items() if len(v) > 1}
    fixed = {k: v[0] for k, v in axes.items() if len(v) == 1}
    return swept, fixed


def _top_level_split(text: str) -> list[str]:
    """``a,max(1, 2),c`` → ``a``, ``max(1, 2)``, ``c``: commas inside parentheses belong to a function call."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return items + [text[start:]]


#: the most points a sweep keeps in memory (the table, Markdown, CSV and JSON formats, :func:`sweep`)
MAX_SWEEP_POINTS = 1000
#: the most points a streamed sweep (``--format jsonl``, :func:`stream_points`) walks: about 10 hours of
#: MobileNet on 8 cores, and a bound on a typo such as ``--set w=1,…`` pasted three times over
MAX_STREAM_POINTS = 10**7
#: the most worker processes ``--jobs`` starts
MAX_JOBS = 256


# ---- one point: the work every scheduler runs ------------------------------------------------------------------
def evaluate_point(network, values: dict[str, str], fixed: dict[str, str] | None = None,
                   batch: int | None = None, input_shape: tuple[int, ...] | None = None) -> SweepPoint:
    """The totals of ``network`` (a :class:`~convcalc.spec.loader.Network`) with the swept ``values`` and the
    ``fixed`` vars set (var → value as typed), or the :class:`SpecError` a serial sweep raises there: prefixed
    ``at VAR=VALUE:`` only when the swept values are its cause. Picklable in and out, so any scheduler can run it
    (``client.map`` in dask.distributed)."""
    fixed = dict(fixed or {})
    try:
        totals = _totals(network, {**fixed, **values}, batch, input_shape)
    except SpecError as err:
        raise _at_point(err, values, lambda: _totals(network, fixed, batch, input_shape)) from None
    return SweepPoint(dict(values), *totals)


def evaluate_points(network, chunk: Iterable[dict[str, str]], fixed: dict[str, str] | None = None,
                    batch: int | None = None, input_shape: tuple[int, ...] | None = None) -> list[SweepPoint]:
    """:func:`evaluate_point` over a chunk of points, in order (one task per chunk: a scheduler's cost per task
    is well above the few milliseconds a point takes); the first failing point raises, as in a serial sweep."""
    points, error = _run_chunk(network, chunk, fixed, batch, input_shape)
    if error is not None:
        raise error
    return points


def _totals(network, values: dict[str, str], batch: int | None,
            input_shape: tuple[int, ...] | None = None) -> tuple[int, int, int, int, int]:
    from ..cost.analysis import analyze
    from ..spec.loader import parse_override

    report = analyze(network.expand(dict(parse_override(f"{k}={v}") for k, v in values.items()),
                                    input_shape=input_shape, batch=batch))
    t = report.totals
    return t.params, t.macs, t.flops, t.activation_bytes, report.peak_activation_bytes


def _run_chunk(network, chunk: Iterable[dict[str, str]], fixed: dict[str, str] | None, batch: int | None,
               input_shape: tuple[int, ...] | None = None) -> tuple[list[SweepPoint], SpecError | None]:
    """The points of ``chunk`` up to its first error, and that error (None when every point ran)."""
    points = []
    for values in chunk:
        try:
            points.append(evaluate_point(network, values, fixed, batch, input_shape))
        except SpecError as err:
            return points, err
    return points, None


# ---- the grid ----------------------------------------------------------------------------------------------------
def grid_points(axes: dict[str, list[str]]) -> Iterator[dict[str, str]]:
    """The points of the product of ``axes`` (var → values), the last var varying fastest, one at a time."""
    names = list(axes)
    return (dict(zip(names, combo)) for combo in itertools.product(*axes.values()))


def grid_chunks(axes: dict[str, list[str]], size: int) -> Iterator[list[dict[str, str]]]:
    """:func:`grid_points` in consecutive lists of ``size`` points (the last one shorter), e.g. one task each."""
    points = grid_points(axes)
    while chunk := list(itertools.islice(points, size)):
        yield chunk


def grid_size(axes: dict[str, list[str]]) -> int:
    return math.prod(len(v) for v in axes.values())


@dataclass
class SweepPlan:
    """A checked sweep before it runs: the parsed network, the swept vars with their values, the fixed vars, the
    batch and input shape given (``--batch``, ``--input``)."""

    network: object
    axes: dict[str, list[str]]
    fixed: dict[str, str]
    batch: int | None = None
    input_shape: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        return grid_size(self.axes)


def plan(spec, axes: dict[str, list[str]], fixed: dict[str, str] | None = None, batch: int | None = None,
         limit: int = MAX_SWEEP_POINTS, input_shape: tuple[int, ...] | None = None) -> SweepPlan:
    """Load ``spec`` (a path, a shipped config name, or an already loaded Network) and check that every var it
    is given exists and the grid has at most ``limit`` points."""
    from ..spec.loader import Network, load

    network = spec if isinstance(spec, Network) else load(spec)
    fixed = dict(fixed or {})
    for name in [*axes, *fixed]:
        if name not in network.vars:
            from ..errors import did_you_mean

            raise SpecError(f"--set {name}: no var named `{name}` in {network.source}", None,
                            did_you_mean(name, list(network.vars)) if network.vars else "the spec declares no `vars:`")
    size = grid_size(axes)
    if size > limit:
        counts = " × ".join(f"{len(v):,} values of `{k}`" for k, v in axes.items())
        hint = ("give --set fewer values at a time, or stream the points with --format jsonl (up to "
                f"{MAX_STREAM_POINTS:,})" if limit < MAX_STREAM_POINTS else "give --set fewer values at a time")
        raise SpecError(f"--set: the sweep has {size:,} points ({counts}), more than {limit:,}", None, hint)
    return SweepPlan(network, dict(axes), fixed, batch, input_shape)


def sweep(spec, axes: dict[str, list[str]], fixed: dict[str, str] | None = None, batch: int | None = None,
          jobs: int | str = 1, input_shape: tuple[int, ...] | None = None, progress=None) -> Sweep:
    """Analyse ``spec`` at every point of the product of ``axes`` (var → values), with ``fixed`` vars set, in
    ``jobs`` processes; at most :data:`MAX_SWEEP_POINTS` points, all kept. ``progress``: an object with
    ``expect(total)`` and ``advance(n, label)`` (:class:`convcalc.render.progress.Progress`), moved per point."""
    checked = plan(spec, axes, fixed, batch, input_shape=input_shape)
    return Sweep(checked.network.name, checked.network.source, checked.axes, checked.fixed,
                 list(counted(checked, run_points(checked, jobs), progress)))


def counted(checked: SweepPlan, points: Iterator[SweepPoint], progress=None) -> Iterator[SweepPoint]:
    """``points`` as they come, each reported to ``progress`` (see :func:`sweep`), when given."""
    if progress is None:
        yield from points
        return
    progress.expect(checked.size)
    for point in points:
        progress.advance(1, " ".join(f"{k}={v}" for k, v in point.values.items()))
        yield point


def stream_points(spec, axes: dict[str, list[str]], fixed: dict[str, str] | None = None, batch: int | None = None,
                  jobs: int | str = 1,
                  input_shape: tuple[int, ...] | None = None) -> tuple[SweepPlan, Iterator[SweepPoint]]:
    """The checked plan and an iterator over its points in grid order, computed as they are asked for (in
    ``jobs`` processes, a few chunks ahead): memory stays flat in the number of points, up to
    :data:`MAX_STREAM_POINTS`. The first failing point raises its :class:`SpecError` when reached."""
    checked = plan(spec, axes, fixed, batch, limit=MAX_STREAM_POINTS, input_shape=input_shape)
    return checked, run_points(checked, jobs)


def worker_count(jobs: int | str) -> int:
    """``--jobs``: a number of processes (1 to :data:`MAX_JOBS`), or ``auto`` for one per CPU this process may
    use (its affinity mask, e.g. a container's limit)."""
    if jobs == "auto":
        from .parallel import available_cpus

        return min(MAX_JOBS, available_cpus())
    if not isinstance(jobs, int) or jobs < 1:
        raise SpecError(f"--jobs {shorten(str(jobs))}: must be ≥ 1", None, "write e.g. --jobs 2 or --jobs auto")
    if jobs > MAX_JOBS:
        raise SpecError(f"--jobs {jobs:,}: more than {MAX_JOBS} processes", None,
                        "use --jobs auto for one process per CPU")
    return jobs


def run_points(checked: SweepPlan, jobs: int | str = 1) -> Iterator[SweepPoint]:
    """The points of ``checked`` in grid order: here when ``jobs`` is 1, else in ``jobs`` worker processes
    (``"auto"``: one per CPU; :func:`worker_count`)."""
    jobs = worker_count(jobs)
    return _serial(checked) if jobs == 1 else _parallel(checked, jobs)


def _serial(checked: SweepPlan) -> Iterator[SweepPoint]:
    for values in grid_points(checked.axes):
        yield evaluate_point(checked.network, values, checked.fixed, checked.batch, checked.input_shape)


def _parallel(checked: SweepPlan, jobs: int) -> Iterator[SweepPoint]:
    """Chunks of consecutive points in ``jobs`` processes (fewer for a grid of fewer chunks), read back in grid
    order; a chunk stops at its first error and returns it with the points before it, so a failing point raises
    after exactly the points a serial run yields first."""
    from .parallel import chunk_size, ordered_map

    size = chunk_size(checked.size, jobs)
    workers = min(jobs, -(-checked.size // size))
    for points, error in ordered_map(_run_chunk, checked.network, grid_chunks(checked.axes, size),
                                     (checked.fixed, checked.batch, checked.input_shape), workers):
        yield from points
        if error is not None:
            raise error


def sweep_dict(result: Sweep) -> dict:
    return {
        "version": 1, "name": result.name, "source": result.source, "vars": result.axes, "fixed": result.fixed,
        "points": [point_dict(p) for p in result.points],
        "exponents": {"params": result.exponents("params"), "macs": result.exponents("macs")},
    }


def point_dict(point: SweepPoint) -> dict:
    """A point as the JSON document lists it (``points``)."""
    return {"vars": point.values, "params": point.params, "macs": point.macs, "flops": point.flops,
            "activation_bytes": point.activation_bytes, "peak_activation_bytes": point.peak_activation_bytes}


def _at_point(err: SpecError, values: dict[str, str], run_unswept) -> SpecError:
    """The error of a sweep point, prefixed ``at VAR=VALUE:`` only when it comes from the swept values: when the
    spec fails the same way at its own values of the swept vars, the values are not the cause, and are not named."""
    if values:
        try:
            run_unswept()
        except SpecError as same:
            if (same.message, same.mark, same.hint) == (err.message, err.mark, err.hint):
                return err
        where = ", ".join(f"{k}={shorten(v)}" for k, v in values.items())
        return SpecError(f"at {where}: {err.message}", err.mark, err.hint)
    return err
