"""Fuzz: hostile command lines over mutated shipped configs and random specs (tests/fuzz_cases.py), run
in-process through the CLI. Whatever the input: exit code 0, 1 or 2, never a traceback, each run within the time
budget, and every error line has a position (``FILE:LINE:COL:``) or names the option it is about (``--layer``).

420 cases here (~12 s); ``benchmarks/fuzz.py --n 20000`` runs the same generator longer, in
subprocesses with a memory cap."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_cases import COMMANDS, TIME_BUDGET, classify, describe, make_case, run_case

FAILING = ("error-unplaced", "traceback", "memory")


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(rng=st.randoms(use_true_random=False))
def test_no_traceback_no_hang_and_every_error_placed(command, rng):
    case = make_case(rng, command)
    with tempfile.TemporaryDirectory() as folder:
        outcome = run_case(case, Path(folder))
    outcome_class = classify(outcome)
    assert outcome_class not in FAILING, f"{outcome_class}:\n{describe(case, outcome)}"
    assert outcome.seconds < TIME_BUDGET, f"{outcome.seconds:.1f} s:\n{describe(case, outcome)}"


def test_the_classes_of_the_fuzzer():
    """The classifier itself, on hand-made outcomes."""
    from fuzz_cases import Outcome

    assert classify(Outcome(0, "ok")) == "ok"
    assert classify(Outcome(1, "FAIL")) == "ok"
    assert classify(Outcome(2, "error: a.yaml:3:5: bad — fix")) == "error-position"
    assert classify(Outcome(2, "error: --batch 0: must be ≥ 1 — fix")) == "error-option"
    assert classify(Outcome(2, "error: something — fix")) == "error-unplaced"
    assert classify(Outcome(2, "")) == "error-unplaced"
    assert classify(Outcome(1, "Traceback (most recent call last):\n  ...")) == "traceback"
    assert classify(Outcome(3, "")) == "traceback"
    assert classify(Outcome(None, "", ValueError("x"))) == "traceback"
    assert classify(Outcome(None, "", MemoryError())) == "memory"
