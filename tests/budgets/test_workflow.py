"""The shipped GitHub workflow and pre-commit hooks work as README.md and docs/check.md say: the workflow's check
command passes on the shipped configs with the shipped budgets.yaml, the pages show the workflow as shipped, and
the documented local pre-commit hook skips what is not a budgeted spec."""

from __future__ import annotations

import glob
import os
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from convcalc.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "budgets.yml"


def _run(argv: list[str], monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return CliRunner().invoke(app, argv, env={"NO_COLOR": "1"})


def _check_step() -> str:
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["budgets"]["steps"]
    return next(step["run"] for step in steps if "convcalc check" in step.get("run", ""))


def test_the_workflows_command_passes_on_the_shipped_configs(monkeypatch):
    command = shlex.split(_check_step())
    assert command[:2] == ["convcalc", "check"] and "budgets.yaml" in command
    monkeypatch.chdir(ROOT)
    argv = [part for arg in command[1:] for part in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
    assert (ROOT / "budgets.yaml").is_file()
    result = _run(argv, monkeypatch)
    assert result.exit_code == 0, result.output[-2000:]
    shipped = len(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
    assert f"Checked {shipped} specs: {shipped} within budget, 0 over budget, 0 bad input" in result.output
    assert "::error" not in result.output


def test_the_budgets_bite():
    # resnet18's 11,689,512 params are within its 13M; its 1,814,073,344 MACs (torchvision) within 2G
    budgets = yaml.safe_load((ROOT / "budgets.yaml").read_text(encoding="utf-8"))
    assert budgets["specs"]["resnet18"] == {"params": "13M", "macs": "2G"}


def test_the_pages_show_the_workflow_as_shipped():
    shipped = WORKFLOW.read_text(encoding="utf-8")
    for page in ("README.md", "docs/check.md"):
        assert f"```yaml\n{shipped}```" in (ROOT / page).read_text(encoding="utf-8"), page


def _local_hook() -> dict:
    text = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    for fence in text.split("```yaml\n")[1:]:
        doc = yaml.safe_load(fence.split("```")[0])
        if isinstance(doc, dict) and doc.get("repos", [{}])[0].get("repo") == "local":
            return doc["repos"][0]["hooks"][0]
    raise AssertionError("docs/check.md shows no `repo: local` pre-commit hook")


def test_the_local_pre_commit_hook_runs(monkeypatch):
    hook = _local_hook()
    assert hook["entry"] == "convcalc check" and hook["language"] == "system"
    # pre-commit runs `entry args files…`: a workflow (not a spec), a spec without budgets, one within them
    files = [".github/workflows/budgets.yml", "configs/resnet18.yaml", "tests/fixtures/check/tiny.yaml"]
    result = _run(shlex.split(hook["entry"])[1:] + hook["args"] + files, monkeypatch)
    assert result.exit_code == 0, result.output


def test_the_pre_commit_rev_is_a_commit_not_a_tag():
    text = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    assert "rev: v0.1.0" not in text and "a commit SHA" in text
