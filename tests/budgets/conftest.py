"""The fixture network of the budgets tests, analysed once (its numbers are worked out in helpers.py)."""

from __future__ import annotations

import pytest

import convcalc

from .helpers import FIXTURES


@pytest.fixture(scope="module")
def tiny():
    return convcalc.analyze(convcalc.load(str(FIXTURES / "tiny.yaml")))
