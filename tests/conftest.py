"""Shared test helpers."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.analysis import analyze


def analyze_layers(input_shape, *layers, batch=1, **top):
    """Analyse a spec given inline as (input shape, layer dicts) and return the report."""
    spec = {"name": "t", "input": list(input_shape), "batch": batch, "layers": list(layers), **top}
    return analyze(convcalc.load(spec))


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a file and return its path."""

    def _write(text: str, name: str = "spec.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
