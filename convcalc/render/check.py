"""Rendering the results of ``convcalc check``: table (default), JSON, JUnit XML, GitHub workflow commands and
Markdown. The data are :class:`convcalc.budgets.results.CheckRun` dataclasses; nothing here decides pass or fail.
:class:`CheckView` builds each format on the table model (:mod:`convcalc.render.model`) and
:func:`convcalc.render.emitters.emit` writes it, as for every command: the table as aligned lines with the status
words coloured on a terminal, Markdown as tables and lines, JSON as it is, JUnit as an XML element tree, GitHub as
annotations and lines.

Each failure reads the same in every format: the actual value, the limit, how far past the limit in %, and the
layers that contribute most (:func:`failure_message`). What a result says is its budget's own answer (the methods
of :class:`convcalc.budgets.kinds.Budget`); nothing here asks which kind a budget is.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..budgets.results import NOT_A_SPEC, BudgetResult, CheckRun, Contributor, SpecCheck, Status
from ..budgets.text import amount, percent, share_text
from ..errors import SpecError, every_error
from ..numbers import json_number
from .emitters import md_escape
from .model import ALIGNED, LEFT, RIGHT, Annotation, Document, Json, Line, Span, Table, columns

#: a word, its role on a terminal and an icon for each status
_STATUS_WORD = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP", Status.ERROR: "ERROR",
                Status.SKIPPED: "SKIP"}
_STATUS_ROLE = {Status.PASS: "ok", Status.FAIL: "error"}  # any other status: warn (yellow)
_MD_STATUS = {Status.PASS: "✅", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.ERROR: "⛔", Status.SKIPPED: "⏭️"}


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
    """``Checked 3 specs: 2 within budget, 1 over budget, 0 bad input, 1 skipped (no budgets). Exit code 1.``; the
    files that are not specs at all (--skip-unbudgeted) are counted apart, not as specs."""
    others = sum(1 for s in run.specs if s.skipped == NOT_A_SPEC)
    n = len(run.specs) - others
    parts = [f"{run.count(Status.PASS)} within budget", f"{run.count(Status.FAIL)} over budget",
             f"{run.count(Status.ERROR)} bad input"]
    unbudgeted = run.count(Status.SKIPPED) - others
    if unbudgeted:
        parts.append(f"{unbudgeted} skipped (no budgets)")
    files = (f" ({others} other file skipped: not a convcalc spec)" if others == 1 else
             f" ({others} other files skipped: not convcalc specs)" if others else "")
    return f"Checked {n} spec{'s' if n != 1 else ''}{files}: {', '.join(parts)}. Exit code {run.exit_code}."


def _headline(check: SpecCheck) -> str:
    title = f"{check.name} ({check.file})" if check.name else check.file
    if check.status is Status.ERROR:
        return f"{title}: bad input"
    if check.status is Status.SKIPPED:
        return f"{title}: skipped ({check.skipped})"
    failed = sum(1 for r in check.results if r.failed)
    skipped = sum(1 for r in check.results if r.status is Status.SKIP)
    checked = len(check.results) - skipped
    aside = f", {skipped} skipped" if skipped else ""  # a max_increase without --baseline: not within anything
    if failed:
        return f"{title}: {failed} of {checked} budget{'s' if checked != 1 else ''} exceeded{aside}"
    if checked == 0:
        return f"{title}: no budget checked{aside}"
    if checked == 1:
        return f"{title}: within its budget{aside}"
    return f"{title}: within {'all ' if not skipped else ''}{checked} budgets{aside}"


# ---- table -------------------------------------------------------------------------------------------------------
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


def _status_word(status: Status) -> Span:
    return Span(_STATUS_WORD[status], _STATUS_ROLE.get(status, "warn"))


#: on a narrow terminal the Where column gives way first and long budget labels shorten in the middle; detail lines
#: wrap (`convcalc check --help` and README.md say the same)
DROP_ORDER = ("where",)


def _results_table(check: SpecCheck) -> Table:
    """A line per budget — status, label, value, where — aligned, each failure's detail under it."""
    table = Table(columns(("status", "", LEFT), ("budget", "Budget", LEFT), ("value", "Value", LEFT),
                          ("where", "Where", LEFT)), style=ALIGNED, drop=DROP_ORDER, shrink={"budget": 24})
    for result in check.results:
        table.add([_status_word(result.status), result.budget.label, table_value(result), _where(check, result)])
        detail = table_detail(result)
        if detail:
            table.add(["", detail])  # from the second column on, in no column's width
    return table


# ---- JSON --------------------------------------------------------------------------------------------------------
def _num(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_num(v) for v in value]
    return json_number(value)


def _pct(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _contributor(c: Contributor) -> dict:
    return {"name": c.name, "value": _num(c.value), "share_percent": _pct(c.share * 100) if c.share is not None else None,
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
        errors = [_error_dict(one) for one in every_error(check.error)] if check.error is not None else []
        specs.append({"spec": check.spec, "file": check.file, "name": check.name, "status": check.status,
                      "exit_code": check.exit_code, "error": errors[0] if errors else None, "errors": errors,
                      "skipped": check.skipped or None,
                      "warnings": list(check.warnings),
                      "budgets": [result_dict(check, r) for r in check.results]})
    summary = {"specs": len(run.specs), "pass": run.count(Status.PASS), "fail": run.count(Status.FAIL),
               "error": run.count(Status.ERROR), "skipped": run.count(Status.SKIPPED)}
    return {"version": 1, "exit_code": run.exit_code, "summary": summary, "specs": specs}


def _error_dict(error: SpecError) -> dict:
    mark = error.mark
    return {"message": error_text(error), "file": mark.file if mark else None, "line": mark.line if mark else None,
            "column": mark.col if mark else None}


# ---- JUnit XML ---------------------------------------------------------------------------------------------------
def junit_xml(run: CheckRun):
    """JUnit XML, as an ``xml.etree.ElementTree`` element: a testsuite per spec and a testcase per budget, with
    ``<failure>`` for a budget exceeded, ``<skipped>`` for a budget that could not be checked and ``<error>`` for a
    spec that is bad input."""
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
    return root


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


# ---- GitHub workflow commands ------------------------------------------------------------------------------------
def github_blocks(run: CheckRun) -> list:
    """An ``::error`` per exceeded budget at the budget's line in its YAML file; for ``layer_max`` one per layer
    line in the spec (layers of one block definition share a line and one annotation). ``::warning`` for a
    skipped budget; ``::error`` at the position of bad input. A plain summary line per spec and for the run."""
    blocks: list = []
    for check in run.specs:
        name = check.name or check.spec
        if check.error is not None:  # one annotation per problem, each at its own line
            blocks += [_bad_input(one, check.file, f"convcalc check: bad input in {name}")
                       for one in every_error(check.error)]
        for result in check.results:
            if result.status is Status.PASS:
                continue
            if result.status is Status.SKIP:
                file, line = location(check, result)
                blocks.append(Annotation("warning", f"{name}: {failure_message(result)}", file, line,
                                         title=f"convcalc check: {result.budget.label} skipped"))
                continue
            title = f"convcalc check: {name}: {result.budget.label}"
            on_layers = result.budget.layer_annotations(result, check.name)
            if on_layers:
                blocks += [Annotation("error", text, check.file, line, title=title) for line, text in on_layers]
            else:
                file, line = location(check, result)
                col = result.budget.mark.col if result.budget.mark else 0
                blocks.append(Annotation("error", f"{name}: {failure_message(result)}", file, line, col, title))
        blocks += [Annotation("warning", f"{name}: {warning}", check.file) for warning in check.warnings]
        blocks.append(Line(_headline(check), "row"))
    return blocks + [Line(summary_line(run), "row")]


def _bad_input(error: SpecError, file: str | None = None, title: str = "convcalc check: bad input") -> Annotation:
    """``::error`` at the position of bad input (in ``file`` when the error has no position)."""
    mark = error.mark
    return Annotation("error", error_text(error), mark.file if mark else file, mark.line if mark else 0,
                      mark.col if mark else 0, title)


# ---- Markdown ----------------------------------------------------------------------------------------------------
def markdown_blocks(run: CheckRun) -> list:
    """A PR comment / ``$GITHUB_STEP_SUMMARY``: an overall line, then a table of budgets per spec and the top
    contributing layers of each failure."""
    icon = "✅" if run.exit_code == 0 else "❌" if run.exit_code == 1 else "⛔"
    blocks: list = [Line(f"## {icon} convcalc check"), Line(""), Line(summary_line(run)), Line("")]
    for check in run.specs:
        blocks.append(Line(f"### {_MD_STATUS[check.status]} {md_escape(_headline(check))}"))
        if check.error is not None:
            blocks += [Line(""), Line(f"```\n{error_text(check.error)}\n```"), Line("")]
            continue
        if not check.results:
            blocks.append(Line(""))
            continue
        table = Table(columns(("status", "", LEFT), ("budget", "Budget", LEFT), ("actual", "Actual", RIGHT),
                              ("limit", "Limit", RIGHT), ("over", "Over by", RIGHT), ("where", "Where", LEFT)))
        for result in check.results:
            table.add([_MD_STATUS[result.status], result.budget.label, result.budget.cell(result.actual),
                       result.budget.cell(result.limit), percent(result.excess_percent) if result.failed else "",
                       _where(check, result)])
        details = [Line(f"- **{md_escape(r.budget.label)}**: {md_escape(failure_message(r))}")
                   for r in check.results if r.failed]
        blocks += [table] + details + ([Line("")] if details else [])
        blocks += [Line(f"> warning: {md_escape(w)}") for w in check.warnings]
    while isinstance(blocks[-1], Line) and not blocks[-1].text.strip():  # the report ends on its last character
        blocks.pop()
    if isinstance(blocks[-1], Line):
        blocks[-1] = Line(blocks[-1].text.rstrip())
    return blocks


# ---- the view ----------------------------------------------------------------------------------------------------
class CheckView:
    """A :class:`CheckRun` in each format of ``convcalc check``, for :func:`convcalc.render.emitters.emit`."""

    def __init__(self, run: CheckRun):
        self.run = run

    def table(self) -> Document:
        """One block per spec — its headline, then a line per budget (and its detail) — then the summary line.
        The status words are coloured on a terminal."""
        blocks: list = []
        for check in self.run.specs:
            blocks.append(Line(_headline(check), "title"))
            if check.error is not None:
                blocks += [Line.of("  ", Span("ERROR", "error"), " ", error_text(one))
                           for one in every_error(check.error)]
            if check.results:
                blocks.append(_results_table(check))
            blocks += [Line(f"  warning: {warning}", "row") for warning in check.warnings]
            blocks.append(Line("", "row"))
        return Document(blocks + [Line(summary_line(self.run), "title")])

    def markdown(self) -> Document:
        return Document(markdown_blocks(self.run))

    def json(self) -> Json:
        return Json(run_dict(self.run))

    def junit(self):
        return junit_xml(self.run)

    def github(self) -> Document:
        return Document(github_blocks(self.run))


class BadOptionsView:
    """Bad input found before any spec is checked (an option, the budgets file, the baseline). Its message goes to
    stderr whatever the format; on stdout only ``github`` says anything (an ``::error`` where the input was
    written), the other formats nothing."""

    def __init__(self, error: SpecError):
        self.error = error

    def github(self) -> Document:
        return Document([_bad_input(one) for one in every_error(self.error)])

    def table(self) -> None:
        return None

    markdown = json = junit = table
