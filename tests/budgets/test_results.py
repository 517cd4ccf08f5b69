"""convcalc.budgets.results: one status enum for budgets and specs, and the exit codes it leads to."""

from __future__ import annotations

import json

from convcalc.budgets.kinds import TotalMax
from convcalc.budgets.results import BudgetResult, CheckRun, SpecCheck, Status
from convcalc.errors import SpecError

BUDGET = TotalMax(quantity="params", limit=5_000, text="5K", origin="test")


def test_statuses_are_the_words_the_json_output_carries():
    assert [status.value for status in Status] == ["pass", "fail", "skip", "error", "skipped"]
    assert Status("skip") is Status.SKIP and Status.FAIL == "fail"
    assert f"{Status.FAIL}" == "fail" and str(Status.SKIPPED) == "skipped"
    assert json.dumps({"status": Status.ERROR}, indent=2) == '{\n  "status": "error"\n}'


def test_spec_status_and_exit_code():
    within = SpecCheck("a.yaml", results=[BudgetResult(BUDGET, Status.PASS), BudgetResult(BUDGET, Status.SKIP)])
    over = SpecCheck("b.yaml", results=[BudgetResult(BUDGET, Status.PASS), BudgetResult(BUDGET, Status.FAIL)])
    bad = SpecCheck("c.yaml", error=SpecError("unknown budget `mac`"))
    skipped = SpecCheck("d.yaml", skipped="no budgets")
    assert [(s.status, s.exit_code) for s in (within, over, bad, skipped)] == [
        (Status.PASS, 0), (Status.FAIL, 1), (Status.ERROR, 2), (Status.SKIPPED, 0)]
    assert [r.failed for r in over.results] == [False, True]
    run = CheckRun([within, over, bad, skipped, within])
    assert run.exit_code == 2  # the worst of all
    assert [run.count(status) for status in Status] == [2, 1, 0, 1, 1]
    assert CheckRun([]).exit_code == 0
