"""Parameter sweeps: the Cartesian product of ``--set NAME=v1,v2,…`` values, analysed one point at a time, and how
each count scales with each var.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

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


MAX_SWEEP_POINTS = 1000


def sweep(spec: str, axes: dict[str, list[str]], fixed: dict[str, str] | None = None,
          batch: int | None = None) -> Sweep:
    """Analyse ``spec`` at every point of the product of ``axes`` (var → values), with ``fixed`` vars set."""
    from ..cost.analysis import analyze
    from ..spec.loader import load, parse_override

    network = load(spec)
    fixed = dict(fixed or {})
    for name in [*axes, *fixed]:
        if name not in network.vars:
            from ..errors import did_you_mean

            raise SpecError(f"--set {name}: no var named `{name}` in {network.source}", None,
                            did_you_mean(name, list(network.vars)) if network.vars else "the spec declares no `vars:`")
    size = math.prod(len(v) for v in axes.values()) if axes else 1
    if size > MAX_SWEEP_POINTS:
        counts = " × ".join(f"{len(v):,} values of `{k}`" for k, v in axes.items())
        raise SpecError(f"--set: the sweep has {size:,} points ({counts}), more than {MAX_SWEEP_POINTS:,}", None,
                        "give --set fewer values at a time")

    def run(values: dict):
        overrides = dict(parse_override(f"{k}={v}") for k, v in {**fixed, **values}.items())
        return analyze(network.expand(overrides, batch=batch))

    points = []
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo))
        try:
            report = run(values)
        except SpecError as err:
            raise _at_point(err, values, lambda: run({})) from None
        t = report.totals
        points.append(SweepPoint(values, t.params, t.macs, t.flops, t.activation_bytes,
                                 report.peak_activation_bytes))
    return Sweep(network.name, network.source, dict(axes), fixed, points)


def sweep_dict(result: Sweep) -> dict:
    return {
        "version": 1, "name": result.name, "source": result.source, "vars": result.axes, "fixed": result.fixed,
        "points": [{"vars": p.values, "params": p.params, "macs": p.macs, "flops": p.flops,
                    "activation_bytes": p.activation_bytes, "peak_activation_bytes": p.peak_activation_bytes}
                   for p in result.points],
        "exponents": {"params": result.exponents("params"), "macs": result.exponents("macs")},
    }




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
