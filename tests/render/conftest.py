"""Golden files: ``python -m pytest tests/render --regen-golden`` (or ``CONVCALC_REGEN_GOLDEN=1 python -m pytest``)
rewrites tests/render/golden/ from the current output; without it, a missing or different file fails."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="rewrite tests/render/golden/ from the current output instead of comparing")


@pytest.fixture
def regen_golden(request) -> bool:
    return bool(request.config.getoption("--regen-golden", default=False) or os.environ.get("CONVCALC_REGEN_GOLDEN"))
