"""``convcalc check``: model budgets in CI (docs/check.md). Loads budgets, checks every spec, renders, returns
the worst exit code."""

from __future__ import annotations

import sys

from ...errors import SpecError
from ..common import report_error


def check(specs: list[str], budgets: str | None = None, max_: list[str] | None = None, min_rf: str | None = None,
          baseline: str | None = None, max_increase: list[str] | None = None, format: str = "table",
          summary: str | None = None, skip_unbudgeted: bool = False, batch: int | None = None,
          input: str | None = None, sets: list[str] | None = None, allow_unsupported: bool = False,
          device: str | None = None, width: int | None = None, wide: bool = False,
          convention: str = "torchvision", with_bugs: bool = False) -> int:
    """Check specs against model budgets.

    Budgets of params, MACs, FLOPs, memory, per-layer maxima and the receptive field.

    \b
    Budgets come from the spec's `budgets:` section, then --budgets FILE, then --max and --min-rf (a later
    source overrides the same budget). --baseline with --max-increase gates regressions.
    See docs/check.md.

    \b
    Exit codes (the worst over all specs):
      0  every budget is met
      1  a budget is exceeded
      2  bad input: a spec, budgets file, baseline or option is invalid

    \b
    Examples:
      convcalc check resnet50 --max params=30M --max macs=5G
      convcalc check mobilenet_v2 --min-rf 224
      convcalc check configs/*.yaml --budgets budgets.yaml --format github
      convcalc check net.yaml --baseline main.json --max-increase macs=2%
      convcalc check resnet50 --max macs=4.2G --convention fvcore
    """
    from ...budgets.evaluate import check as check_all
    from ...budgets.parse import run_options
    from ...render.check import BadOptionsView, CheckView
    from ...render.emitters import emit
    from ...render.width import resolve_width, write_message

    try:
        options = run_options(specs, budgets, max_, min_rf, baseline, max_increase, skip_unbudgeted, batch, input,
                              sets, allow_unsupported, device, convention, with_bugs)
    except SpecError as err:
        emit(BadOptionsView(err), format)  # an annotation in the github format; then the error, on stderr
        raise
    run = check_all(specs, options)
    for spec_check in run.specs:
        if spec_check.error is not None:
            report_error(spec_check.error)
        for warning in spec_check.warnings:
            write_message(f"{spec_check.name}: {warning}", sys.stderr, "warning: ")
    view = CheckView(run)
    emit(view, format, width=resolve_width(width, wide))
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as stream:
                emit(view, "markdown", stream)
                stream.write("\n")  # a blank line before the next step's summary
        except OSError as exc:
            write_message(f"cannot append the summary to {summary}: {exc}", sys.stderr, "warning: ")
    return run.exit_code

