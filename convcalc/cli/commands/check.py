"""``convcalc check``: model budgets in CI (docs/check.md). Loads budgets, checks every spec, renders, exits
with the worst exit code."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..common import overrides, user_errors
from ..params import BATCH_OPT, INPUT_OPT, SET_OPT
from ...errors import SpecError


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    junit = "junit"
    github = "github"
    markdown = "markdown"


def check(
    specs: List[str] = typer.Argument(..., metavar="SPEC...", help="Spec files or shipped config names; several are checked in turn "
                                                "with a summary at the end."),
    budgets: Optional[str] = typer.Option(None, "--budgets", help="A YAML budgets file (docs/check.md)."),
    max_: Optional[List[str]] = typer.Option(None, "--max", help="A budget KEY=VALUE, e.g. params=5M, macs=600M, "
                                                                 "peak_activation_bytes=8MiB, layer_max.macs=200M "
                                                                 "(repeatable)."),
    min_rf: Optional[str] = typer.Option(None, "--min-rf", help="Minimum receptive field of the final layer: 224 "
                                                                "(every axis) or 224x160 (per axis)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="A `convcalc analyze --format json` report, or "
                                                                    "a directory of NAME.json reports, to compare "
                                                                    "against."),
    max_increase: Optional[List[str]] = typer.Option(None, "--max-increase",
                                                     help="Allowed growth over the baseline: KEY=PCT% (e.g. "
                                                          "macs=2%) or KEY=AMOUNT (repeatable)."),
    format: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f", help="Output format."),
    summary: Optional[str] = typer.Option(None, "--summary", envvar="GITHUB_STEP_SUMMARY",
                                          help="Append a Markdown report to this file (default: "
                                               "$GITHUB_STEP_SUMMARY when set)."),
    skip_unbudgeted: bool = typer.Option(False, "--skip-unbudgeted",
                                         help="Skip files that are not convcalc specs or have no budgets "
                                              "(for pre-commit hooks) instead of failing with exit code 2."),
    batch: Optional[int] = BATCH_OPT,
    input: Optional[str] = INPUT_OPT,
    set: Optional[List[str]] = SET_OPT,
):
    """Check specs against model budgets: params, MACs, FLOPs, memory, per-layer maxima, receptive field.

    \b
    Budgets come from the spec's `budgets:` section, then --budgets FILE, then --max and --min-rf (a later
    source overrides the same budget). --baseline with --max-increase gates regressions.
    See docs/check.md.

    \b
    Exit codes (the worst over all specs):
      0  every budget is met
      1  a budget is exceeded
      2  bad input: a spec, budgets file, baseline or option is invalid
    """
    with user_errors():
        from ...budgets.evaluate import check as check_all
        from ...render.check import markdown, render_check

        try:
            options = _options(specs, budgets, max_, min_rf, baseline, max_increase, skip_unbudgeted,
                               batch, input, set)
        except SpecError as err:
            if format is CheckFormat.github:
                _annotate(err)
            raise
        run = check_all(specs, options)
        for spec_check in run.specs:
            if spec_check.error is not None:
                _print_error(spec_check.error)
            for warning in spec_check.warnings:
                print(f"warning: {spec_check.name}: {warning}", file=sys.stderr)
        render_check(run, format.value, sys.stdout)
        if summary:
            try:
                with open(summary, "a", encoding="utf-8") as stream:
                    stream.write(markdown(run) + "\n")
            except OSError as exc:
                print(f"warning: cannot append the summary to {summary}: {exc}", file=sys.stderr)
    raise typer.Exit(run.exit_code)


def _options(specs, budgets, max_, min_rf, baseline, max_increase, skip_unbudgeted, batch, input, sets):
    """The run-wide options; any problem here is bad input for every spec (exit 2 before checking)."""
    from ...budgets.evaluate import CheckOptions
    from ...budgets.parse import load_budgets_file, parse_cli_increase, parse_cli_max, parse_cli_min_rf
    from ...spec.loader import parse_input_override

    increases = parse_cli_increase(max_increase)
    flags = parse_cli_max(max_) + parse_cli_min_rf(min_rf) + increases
    if increases and not baseline:
        raise SpecError("--max-increase needs --baseline", None,
                        "create one with `convcalc analyze SPEC --format json > baseline.json`")
    if baseline:
        path = Path(baseline)
        if not path.exists():
            raise SpecError(f"--baseline {baseline}: no such file or directory", None, "check the path")
        if path.is_file() and len(specs) > 1:
            raise SpecError(f"--baseline {baseline} is one report but {len(specs)} specs are checked", None,
                            "pass a directory holding NAME.json for each spec (NAME = the spec's file stem)")
    budgets_file = load_budgets_file(budgets) if budgets else None
    shape = parse_input_override(input) if input is not None else None
    return CheckOptions(overrides(sets), shape, batch, budgets_file, flags, baseline, skip_unbudgeted)


def _print_error(err: SpecError) -> None:
    from ..common import no_color as _no_color

    red = sys.stderr.isatty() and not _no_color()
    print(f"\x1b[31merror:\x1b[0m {err}" if red else f"error: {err}", file=sys.stderr)


def _annotate(err: SpecError) -> None:
    from ...render.check import workflow_command

    mark = err.mark
    print(workflow_command("error", str(err), mark.file if mark else None, mark.line if mark else 0,
                           mark.col if mark else 0, "convcalc check: bad input"))
