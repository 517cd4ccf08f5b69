"""convcalc.budgets.evaluate: loading baselines, and checking specs and runs through the library API."""

from __future__ import annotations

import pytest

from convcalc.budgets.evaluate import check, load_baseline
from convcalc.budgets.parse import CheckOptions
from convcalc.budgets.parse import load_budgets_file, parse_cli_increase, parse_cli_max
from convcalc.budgets.results import Status
from convcalc.errors import SpecError

from .helpers import FIXTURES

TINY, NO_BUDGETS = str(FIXTURES / "tiny.yaml"), str(FIXTURES / "no_budgets.yaml")


def test_baseline_directory_and_bad_baselines(tmp_path):
    (tmp_path / "tiny.json").write_text((FIXTURES / "baseline_tiny.json").read_text())
    assert load_baseline(str(tmp_path), "tiny").name == "tiny"
    with pytest.raises(SpecError, match="no baseline for `other`"):
        load_baseline(str(tmp_path), "other")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,\n  "name": }')
    with pytest.raises(SpecError) as err:
        load_baseline(str(broken))
    assert str(err.value).startswith(f"{broken}:2:11: the baseline is not JSON")
    partial = tmp_path / "partial.json"
    partial.write_text('{"version": 1, "name": "x"}')
    with pytest.raises(SpecError, match="not a complete convcalc report"):
        load_baseline(str(partial))


def test_check_runs_every_spec_and_keeps_the_worst_exit_code():
    # --max params=5K: tiny has 5,370 params (over); no_budgets 8·3·3·3 + 8 = 224 (within)
    run = check([TINY, NO_BUDGETS], CheckOptions(flags=parse_cli_max(["params=5K"])))
    assert [(s.name, s.status, s.exit_code) for s in run.specs] == [("tiny", Status.FAIL, 1),
                                                                      ("no_budgets", Status.PASS, 0)]
    assert run.exit_code == 1 and run.count(Status.FAIL) == 1 and run.count(Status.PASS) == 1


def test_bad_input_is_kept_per_spec_and_unbudgeted_specs_can_be_skipped():
    run = check([NO_BUDGETS, TINY], CheckOptions())
    assert [s.status for s in run.specs] == [Status.ERROR, Status.PASS] and run.exit_code == 2
    assert "no budgets for `no_budgets`" in str(run.specs[0].error)
    run = check([NO_BUDGETS], CheckOptions(skip_unbudgeted=True))
    assert (run.specs[0].status, run.specs[0].skipped, run.exit_code) == (Status.SKIPPED, "no budgets", 0)


def test_a_baseline_needs_a_budget_that_compares_with_it():
    run = check([TINY], CheckOptions(baseline=str(FIXTURES / "baseline_tiny.json")))
    assert run.specs[0].status is Status.ERROR and "no `max_increase` budget applies" in str(run.specs[0].error)
    # the budgets file's max_increase for tiny: params +0% fails (5,337 → 5,370), so the whole spec fails
    run = check([TINY], CheckOptions(budgets_file=load_budgets_file(str(FIXTURES / "budgets.yaml")),
                                     baseline=str(FIXTURES / "baseline_tiny.json")))
    statuses = {r.budget.key: r.status for r in run.specs[0].results}
    assert statuses["max_increase.params"] is Status.FAIL and statuses["max_increase.macs"] is Status.PASS


def test_without_a_baseline_max_increase_is_skipped_not_failed():
    run = check([TINY], CheckOptions(flags=parse_cli_increase(["macs=0%"])))
    result = run.specs[0].results[-1]
    assert (result.budget.key, result.status, run.exit_code) == ("max_increase.macs", Status.SKIP, 0)
