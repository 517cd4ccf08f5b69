"""Helpers shared by the cost-model tests (tests/ is on sys.path: ``from spec_helpers import ...``)."""

from __future__ import annotations

import convcalc
from convcalc.cost.analysis import analyze


def analyze_layers(input_shape, *layers, batch=1, **top):
    """Analyse a spec given inline as (input shape, layer dicts) and return the report."""
    spec = {"name": "t", "input": list(input_shape), "batch": batch, "layers": list(layers), **top}
    return analyze(convcalc.load(spec))


def one(input_shape, layer, batch=1, **top):
    """The report of a one-layer network's layer."""
    return analyze_layers(input_shape, layer, batch=batch, **top).layers[0]
