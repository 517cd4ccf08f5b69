"""Rendering the results of ``convcalc check``: table (default), JSON, JUnit XML, GitHub workflow commands and
Markdown. The data are :class:`convcalc.budgets.results.CheckRun` dataclasses; nothing here decides pass or fail.

Each failure reads the same in every format: the actual value, the limit, how far past the limit in %, and the
layers that contribute most (:func:`failure_message`). What a result says is its budget's own answer (the methods
of :class:`convcalc.budgets.kinds.Budget`); nothing here asks which kind a budget is.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from typing import Any, Callable, TextIO

from ..budgets.results import BudgetResult, CheckRun, Contributor, SpecCheck, Status
from ..budgets.text import amount, percent, share_text
from ..errors import SpecError
from ..numbers import json_number

FORMATS = ("table", "json", "junit", "github", "markdown")
#: a word and an icon for each status
_STATUS_WORD = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP", Status.ERROR: "ERROR",
                Status.SKIPPED: "SKIP"}
_MD_STATUS = {Status.PASS: "✅", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.ERROR: "⛔", Status.SKIPPED: "⏭️"}
_STATUS_COLOUR = {Status.PASS: "green", Status.FAIL: "red"}  # any other status: yellow


# ---- one line per result ---------------------------------------------------------------------------------------
def failure_message(result: BudgetResult) -> str:
    """One line: actual, limit, excess %, top contributing layers (or why the budget was skipped)."""
    if result.status is Status.SKIP:
        return f"{result.budget.label}: skipped, {result.note}"
    return result.budget.failure_message(result)


def pass_message(result: BudgetResult) -> str:
    return result.budget.pass_message(result)


def message(result: BudgetResult) -> str:
    return failure_message(result) if result.status is not Status.PASS else pass_message(result)


def location(check: SpecCheck, result: BudgetResult) -> tuple[str, int]:
    """Where a budget was written: (file, line); line 0 when it came from a command-line flag."""
    mark = result.budget.mark
    if mark is not None:
        return mark.file, mark.line
    return check.file, 0


def error_text(error: SpecError) -> str:
    return str(error)


def summary_line(run: CheckRun) -> str:
    n = len(run.specs)
    parts = [f"{run.count(Status.PASS)} within budget", f"{run.count(Status.FAIL)} over budget",
             f"{run.count(Status.ERROR)} bad input"]
    if run.count(Status.SKIPPED):
        parts.append(f"{run.count(Status.SKIPPED)} skipped")
    return f"Checked {n} spec{'s' if n != 1 else ''}: {', '.join(parts)}. Exit code {run.exit_code}."


def _headline(check: SpecCheck) -> str:
    title = f"{check.name} ({check.file})" if check.name else check.file
    if check.status is Status.ERROR:
        return f"{title}: bad input"
    if check.status is Status.SKIPPED:
        return f"{title}: skipped ({check.skipped})"
    failed = sum(1 for r in check.results if r.failed)
    if failed:
        return f"{title}: {failed} of {len(check.results)} budgets exceeded"
    return f"{title}: within all {len(check.results)} budgets"


# ---- table -------------------------------------------------------------------------------------------------------
def write_table(run: CheckRun, out: TextIO) -> None:
    """Plain text, one block per spec, then the summary. Coloured status words on a terminal."""
    colour = out.isatty() and not os.environ.get("NO_COLOR")
    paint = _painter(colour)
    for check in run.specs:
        out.write(paint(_headline(check), "bold") + "\n")
        if check.error is not None:
            out.write(f"  {paint('ERROR', 'red')} {error_text(check.error)}\n")
        cells = [(r, r.budget.label, table_value(r), _where(check, r)) for r in check.results]
        label_width = max((len(c[1]) for c in cells), default=0)
        value_width = max((len(c[2]) for c in cells), default=0)
        for result, label, value, where in cells:
            word = paint(_STATUS_WORD[result.status], _STATUS_COLOUR.get(result.status, "yellow"))
            out.write(f"  {word}  {label.ljust(label_width)}  {value.ljust(value_width)}  {where}".rstrip() + "\n")
            detail = table_detail(result)
            if detail:
                out.write(f"        {detail}\n")
        for warning in check.warnings:
            out.write(f"  warning: {warning}\n")
        out.write("\n")
    out.write(paint(summary_line(run), "bold") + "\n")


def table_value(result: BudgetResult) -> str:
    """The value column: actual value and how it stands against the limit."""
    if result.status is Status.SKIP:
        return f"skipped: {result.note}"
    return result.budget.table_value(result)


def table_detail(result: BudgetResult) -> str:
    """The second line of a failure: the layers behind it."""
    return result.budget.table_detail(result)


def _where(check: SpecCheck, result: BudgetResult) -> str:
    file, line = location(check, result)
    if line:
        return f"{file}:{line}"
    return result.budget.origin


def _painter(colour: bool) -> Callable[[str, str], str]:
    codes = {"bold": "1", "red": "31", "green": "32", "yellow": "33"}
    if not colour:
        return lambda text, style: text
    return lambda text, style: f"\x1b[{codes[style]}m{text}\x1b[0m"


# ---- JSON --------------------------------------------------------------------------------------------------------
def _num(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_num(v) for v in value]
    return json_number(value)


def _pct(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _contributor(c: Contributor) -> dict:
    return {"name": c.name, "value": c.value, "share_percent": _pct(c.share * 100) if c.share is not None else None,
            "line": c.line}


def result_dict(check: SpecCheck, result: BudgetResult) -> dict:
    budget = result.budget
    file, line = location(check, result)
    return {
        "key": budget.key, "kind": budget.kind, "quantity": budget.quantity, "label": budget.label,
        "limit_text": budget.text, "origin": budget.origin, "layers": budget.layers,
        "file": file, "line": line or None, "column": budget.mark.col if budget.mark else None,
        "status": result.status, "actual": _num(result.actual), "limit": _num(result.limit),
        "excess_percent": _pct(result.excess_percent), "used_percent": _pct(result.used_percent),
        "baseline": result.baseline, "change_percent": _pct(result.change_percent), "subject": result.subject,
        "relative": budget.relative,
        "contributors": [_contributor(c) for c in result.contributors],
        "offenders": [_contributor(c) for c in result.offenders],
        "message": message(result), "note": result.note,
    }


def run_dict(run: CheckRun) -> dict:
    specs = []
    for check in run.specs:
        error = None
        if check.error is not None:
            mark = check.error.mark
            error = {"message": error_text(check.error), "file": mark.file if mark else None,
                     "line": mark.line if mark else None, "column": mark.col if mark else None}
        specs.append({"spec": check.spec, "file": check.file, "name": check.name, "status": check.status,
                      "exit_code": check.exit_code, "error": error, "skipped": check.skipped or None,
                      "warnings": list(check.warnings),
                      "budgets": [result_dict(check, r) for r in check.results]})
    summary = {"specs": len(run.specs), "pass": run.count(Status.PASS), "fail": run.count(Status.FAIL),
               "error": run.count(Status.ERROR), "skipped": run.count(Status.SKIPPED)}
    return {"version": 1, "exit_code": run.exit_code, "summary": summary, "specs": specs}


def write_json(run: CheckRun, out: TextIO) -> None:
    out.write(json.dumps(run_dict(run), indent=2, ensure_ascii=False) + "\n")


# ---- JUnit XML ---------------------------------------------------------------------------------------------------
def junit_xml(run: CheckRun) -> str:
    """JUnit XML: a testsuite per spec and a testcase per budget, with ``<failure>`` for a budget exceeded,
    ``<skipped>`` for a budget that could not be checked and ``<error>`` for a spec that is bad input."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="convcalc check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for check in run.specs:
        suite = ET.SubElement(root, "testsuite", name=check.name or check.spec, file=check.file)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = f"convcalc.check.{check.name or check.spec}"
        if check.error is not None:
            case = ET.SubElement(suite, "testcase", classname=classname, name="load and analyse the spec",
                                 file=check.error.mark.file if check.error.mark else check.file)
            if check.error.mark:
                case.set("line", str(check.error.mark.line))
            error = ET.SubElement(case, "error", message=error_text(check.error), type="SpecError")
            error.text = error_text(check.error)
            counts["tests"] += 1
            counts["errors"] += 1
        if check.skipped:
            case = ET.SubElement(suite, "testcase", classname=classname, name="budgets", file=check.file)
            ET.SubElement(case, "skipped", message=check.skipped)
            counts["tests"] += 1
            counts["skipped"] += 1
        for result in check.results:
            file, line = location(check, result)
            case = ET.SubElement(suite, "testcase", classname=classname, name=result.budget.label, file=file)
            if line:
                case.set("line", str(line))
            counts["tests"] += 1
            if result.status is Status.FAIL:
                failure = ET.SubElement(case, "failure", message=failure_message(result), type="BudgetExceeded")
                failure.text = _failure_details(check, result)
                counts["failures"] += 1
            elif result.status is Status.SKIP:
                ET.SubElement(case, "skipped", message=result.note)
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "system-out").text = pass_message(result)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _failure_details(check: SpecCheck, result: BudgetResult) -> str:
    q = result.budget.quantity
    lines = [failure_message(result), f"budget set by {result.budget.origin}"
             + (f" at {result.budget.mark}" if result.budget.mark else "")]
    for c in result.offenders:
        lines.append(f"  over: {c.name} {amount(q, c.value)} ({check.file}:{c.line})")
    if not result.offenders:
        for c in result.contributors:
            lines.append(f"  {c.name} {amount(q, c.value)}{share_text(c)} ({check.file}:{c.line})")
    return "\n".join(lines)


def write_junit(run: CheckRun, out: TextIO) -> None:
    out.write(junit_xml(run))


# ---- GitHub workflow commands ------------------------------------------------------------------------------------
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, text: str, file: str | None = None, line: int = 0, col: int = 0,
                     title: str | None = None) -> str:
    """``::error file=F,line=L,col=C,title=T::text`` with GitHub's escaping."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
            if col:
                props.append(f"col={col}")
    if title:
        props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(text)}" if props else f"::{level}::{_escape_data(text)}"


def github_lines(run: CheckRun) -> list[str]:
    """An ``::error`` per exceeded budget at the budget's line in its YAML file; for ``layer_max`` one per layer
    line in the spec (layers of one block definition share a line and one annotation). ``::warning`` for a
    skipped budget; ``::error`` at the position of bad input. A plain summary line per spec and for the run."""
    lines = []
    for check in run.specs:
        name = check.name or check.spec
        if check.error is not None:
            mark = check.error.mark
            lines.append(workflow_command("error", error_text(check.error), mark.file if mark else check.file,
                                          mark.line if mark else 0, mark.col if mark else 0,
                                          f"convcalc check: bad input in {name}"))
        for result in check.results:
            if result.status is Status.PASS:
                continue
            if result.status is Status.SKIP:
                file, line = location(check, result)
                lines.append(workflow_command("warning", f"{name}: {failure_message(result)}", file, line,
                                              title=f"convcalc check: {result.budget.label} skipped"))
                continue
            title = f"convcalc check: {name}: {result.budget.label}"
            on_layers = result.budget.layer_annotations(result, check.name)
            if on_layers:
                lines += [workflow_command("error", text, check.file, line, title=title) for line, text in on_layers]
            else:
                file, line = location(check, result)
                col = result.budget.mark.col if result.budget.mark else 0
                lines.append(workflow_command("error", f"{name}: {failure_message(result)}", file, line, col, title))
        for warning in check.warnings:
            lines.append(workflow_command("warning", f"{name}: {warning}", check.file))
        lines.append(_headline(check))
    lines.append(summary_line(run))
    return lines


def write_github(run: CheckRun, out: TextIO) -> None:
    out.write("\n".join(github_lines(run)) + "\n")


# ---- Markdown ----------------------------------------------------------------------------------------------------
def markdown(run: CheckRun) -> str:
    """A PR comment / ``$GITHUB_STEP_SUMMARY``: an overall line, then a table of budgets per spec and the top
    contributing layers of each failure."""
    icon = "✅" if run.exit_code == 0 else "❌" if run.exit_code == 1 else "⛔"
    out = [f"## {icon} convcalc check", "", summary_line(run), ""]
    for check in run.specs:
        out += [f"### {_MD_STATUS[check.status]} {_md(_headline(check))}", ""]
        if check.error is not None:
            out += [f"```\n{error_text(check.error)}\n```", ""]
            continue
        if not check.results:
            continue
        out += ["| | Budget | Actual | Limit | Over by | Where |", "|---|---|---:|---:|---:|---|"]
        for result in check.results:
            actual, limit = result.budget.cell(result.actual), result.budget.cell(result.limit)
            over = percent(result.excess_percent) if result.failed else ""
            out.append(f"| {_MD_STATUS[result.status]} | {_md(result.budget.label)} | {actual} | {limit} | "
                       f"{over} | {_md(_where(check, result))} |")
        details = [f"- **{_md(r.budget.label)}**: {_md(failure_message(r))}" for r in check.results if r.failed]
        out += [""] + details + ([""] if details else [])
        out += [f"> warning: {_md(w)}" for w in check.warnings]
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def write_markdown(run: CheckRun, out: TextIO) -> None:
    out.write(markdown(run))


WRITERS: dict[str, Callable[[CheckRun, TextIO], None]] = {
    "table": write_table, "json": write_json, "junit": write_junit, "github": write_github,
    "markdown": write_markdown,
}


def render_check(run: CheckRun, fmt: str, out: TextIO) -> None:
    WRITERS[fmt](run, out)
