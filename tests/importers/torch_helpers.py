"""Helpers for the torch frontend tests: import a module built in a test, and analyse an import.

Test files import this only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import itertools
import sys
import types

import pytest

import convcalc
from convcalc.importers.torch_read import read
from convcalc.layers import REGISTRY

from .handmade import spec_of

#: a module the tests put their builders in, so that read() can name them as `package.module:callable`
CASES = "convcalc_torch_test_cases"
_counter = itertools.count()


def target_of(builder) -> str:
    """Register ``builder`` (a callable giving an nn.Module) and return a target naming it."""
    module = sys.modules.setdefault(CASES, types.ModuleType(CASES))
    name = f"case{next(_counter)}"
    setattr(module, name, builder)
    return f"{CASES}:{name}"


def imported(builder, input_shape, **options):
    """``read`` of a model built by ``builder`` (a class or a function), on the meta device like any import."""
    return read(target_of(builder), options.pop("kwargs", {}), tuple(input_shape), **options)


def layer(model, name):
    found = [l for l in model.layers if l.name == name]
    assert found, f"no layer {name!r}; the layers are {[l.name for l in model.layers]}"
    return found[0]


def kinds(model) -> list:
    return [l.kind for l in model.layers]


def analyse(model):
    """convcalc's report of the import; skipped while a kind it uses is not registered yet (it lands from another
    branch)."""
    missing = sorted({l.kind for l in model.layers} - set(REGISTRY))
    if missing:
        pytest.skip(f"layer kinds not registered on this branch yet: {', '.join(missing)}")
    return convcalc.analyze(convcalc.load(spec_of(model)))


def torch_counts(model):
    """(params, buffers) as torch counts them; buffers without batch norm's num_batches_tracked."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    return params, buffers
