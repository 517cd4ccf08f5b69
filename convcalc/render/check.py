"""Rendering the results of ``convcalc check``: table (default), JSON, JUnit XML, GitHub workflow commands and
Markdown. The data are :class:`convcalc.budgets.CheckRun` dataclasses; nothing here decides pass or fail.

Each failure reads the same in every format: the actual value, the limit, how far past the limit in %, and the
layers that contribute most (:func:`failure_message`).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from typing import Any, Callable, TextIO

from ..budgets.core import BYTE_QUANTITIES, BudgetResult, CheckRun, Contributor, SpecCheck
from ..errors import SpecError
from ..numbers import fmt_bytes, fmt_count
from ..numbers import json_number

FORMATS = ("table", "json", "junit", "github", "markdown")
#: the value most worth showing per status, and a word for it
_STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "error": "ERROR", "skipped": "SKIP"}
_MD_STATUS = {"pass": "✅", "fail": "❌", "skip": "⏭️", "error": "⛔", "skipped": "⏭️"}


# ---- numbers -----------------------------------------------------------------------------------------------------
def exact(value: Any) -> str:
    """An exact value: ``1,622,336``; a fraction as a decimal (``1,234.5``); per-axis sizes as ``35×35``."""
    if isinstance(value, (tuple, list)):
        return "×".join(exact(v) for v in value)
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):,}"
    return f"{int(value):,}"


def amount(quantity: str, value: Any) -> str:
    """A value with its human form: ``1,622,336 (1.62 M)``, ``196,904 B (192.29 KiB)``, ``35×35``."""
    if quantity == "rf" or isinstance(value, (tuple, list)):
        return exact(value)
    if quantity in BYTE_QUANTITIES:
        human = fmt_bytes(float(value)) if value >= 1024 else ""
        return f"{exact(value)} B" + (f" ({human})" if human else "")
    human = fmt_count(float(value), "auto") if value >= 1000 else ""
    return exact(value) + (f" ({human})" if human else "")


def short(quantity: str, value: Any) -> str:
    """A compact human value for tables: ``1.62 M``, ``192.29 KiB``, ``35×35``."""
    if quantity == "rf" or isinstance(value, (tuple, list)):
        return exact(value)
    if quantity in BYTE_QUANTITIES:
        return fmt_bytes(float(value)) if value >= 1024 else f"{exact(value)} B"
    return fmt_count(float(value), "auto") if value >= 1000 else exact(value)


def percent(value: Fraction | None, signed: bool = False) -> str:
    if value is None:
        return "∞%"
    number = float(value)
    sign = "+" if signed and number > 0 else ""
    if 0 < abs(number) < 0.01:
        return f"{sign}<0.01%" if number > 0 else "-<0.01%"
    return f"{sign}{number:,.2f}%"


def limit_text(quantity: str, text: str, value: Any) -> str:
    """The limit as written, with its exact value when that reads differently: ``5K (= 5,000)``."""
    unit = " B" if quantity in BYTE_QUANTITIES else ""
    full = exact(value) + unit
    return text if text == exact(value) else f"{text} (= {full})"


def _layer_list(quantity: str, layers: list[Contributor], signed: bool = False) -> str:
    """``conv2 1.18 M (72.71%), conv1 442.37 K (27.27%)``; shares are of the total (or of the increase)."""
    parts = []
    for c in layers:
        share = f" ({percent(c.share * 100)})" if c.share is not None else ""
        value = ("+" if signed else "") + short(quantity, c.value)
        parts.append(f"{c.name} {value}{share}")
    return ", ".join(parts)


# ---- one line per result ---------------------------------------------------------------------------------------
def failure_message(result: BudgetResult) -> str:
    """One line: actual, limit, excess %, top contributing layers."""
    budget, q = result.budget, result.budget.quantity
    if result.status == "skip":
        return f"{budget.label}: skipped, {result.note}"
    if budget.kind == "min_rf":
        axes = [f"axis {i}: {got} < {want}" for i, (got, want) in enumerate(zip(result.actual, result.limit))
                if got < want]
        return (f"min_rf: the receptive field of `{result.subject}` is {exact(result.actual)}, below the limit "
                f"{exact(result.limit)} by {percent(result.excess_percent)} ({', '.join(axes)})")
    if budget.kind == "max_increase":
        return (f"{q} rose from {amount(q, result.baseline)} to {amount(q, result.actual)} "
                f"({percent(result.change_percent, signed=True)}), over the allowed +{budget.text} "
                f"(= {amount(q, result.limit)}) by {percent(result.excess_percent)}"
                + _top("top increases", q, result.contributors, signed=True))
    if budget.kind == "layer_max":
        count = len(result.offenders)
        over = f"{count} layer{'s' if count != 1 else ''} over the limit"
        return (f"layer_max.{q}: `{result.subject}` has {amount(q, result.actual)}, over the limit "
                f"{limit_text(q, budget.text, budget.limit)} by {percent(result.excess_percent)}; {over}: "
                + _layer_list(q, result.offenders[:3]) + (", …" if count > 3 else ""))
    return (f"{q} {amount(q, result.actual)} is over the limit {limit_text(q, budget.text, budget.limit)} by "
            f"{percent(result.excess_percent)}" + _top(_top_title(q), q, result.contributors))


def _top_title(quantity: str) -> str:
    return "live at the peak" if quantity == "peak_activation_bytes" else "top layers"


def _top(title: str, quantity: str, layers: list[Contributor], signed: bool = False) -> str:
    return f"; {title}: {_layer_list(quantity, layers, signed)}" if layers else ""


def pass_message(result: BudgetResult) -> str:
    budget, q = result.budget, result.budget.quantity
    if budget.kind == "min_rf":
        return f"min_rf: `{result.subject}` sees {exact(result.actual)} (limit {exact(result.limit)})"
    used = f", {percent(result.used_percent)} of the limit" if result.used_percent is not None else ""
    if budget.kind == "max_increase":
        return (f"{q} {amount(q, result.actual)} vs baseline {amount(q, result.baseline)} "
                f"({percent(result.change_percent, signed=True)}; allowed +{budget.text})")
    if budget.kind == "layer_max":
        return f"layer_max.{q}: largest is `{result.subject}` with {amount(q, result.actual)}{used}"
    return f"{q} {amount(q, result.actual)}{used}"


def message(result: BudgetResult) -> str:
    return failure_message(result) if result.status != "pass" else pass_message(result)


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
    parts = [f"{run.count('pass')} within budget", f"{run.count('fail')} over budget",
             f"{run.count('error')} bad input"]
    if run.count("skipped"):
        parts.append(f"{run.count('skipped')} skipped")
    return f"Checked {n} spec{'s' if n != 1 else ''}: {', '.join(parts)}. Exit code {run.exit_code}."


def _headline(check: SpecCheck) -> str:
    title = f"{check.name} ({check.file})" if check.name else check.file
    if check.status == "error":
        return f"{title}: bad input"
    if check.status == "skipped":
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
            word = _STATUS_WORD[result.status]
            word = paint(word, {"PASS": "green", "FAIL": "red"}.get(word, "yellow"))
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
    budget, q = result.budget, result.budget.quantity
    if result.status == "skip":
        return f"skipped: {result.note}"
    if budget.kind == "min_rf":
        state = f"{percent(result.excess_percent)} short" if result.failed else "ok"
        return f"{exact(result.actual)} at `{result.subject}`, {state}"
    value = amount(q, result.actual)
    if budget.kind == "layer_max":
        value = f"`{result.subject}` {value}"
    if budget.kind == "max_increase":
        value += f", {percent(result.change_percent, signed=True)} vs baseline {short(q, result.baseline)}"
    if result.failed:
        return f"{value}, {percent(result.excess_percent)} over"
    return value + (f", {percent(result.used_percent)} of the limit" if result.used_percent is not None else "")


def table_detail(result: BudgetResult) -> str:
    """The second line of a failure: the layers behind it."""
    if not result.failed:
        return ""
    q = result.budget.quantity
    if result.budget.kind == "layer_max":
        count = len(result.offenders)
        more = f" and {count - 5} more" if count > 5 else ""
        return f"{count} layer{'s' if count != 1 else ''} over: {_layer_list(q, result.offenders[:5])}{more}"
    if result.budget.kind == "max_increase":
        return f"top increases: {_layer_list(q, result.contributors, signed=True)}" if result.contributors else ""
    if result.contributors:
        return f"{_top_title(q)}: {_layer_list(q, result.contributors)}"
    return ""


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
    summary = {"specs": len(run.specs), "pass": run.count("pass"), "fail": run.count("fail"),
               "error": run.count("error"), "skipped": run.count("skipped")}
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
            if result.status == "fail":
                failure = ET.SubElement(case, "failure", message=failure_message(result), type="BudgetExceeded")
                failure.text = _failure_details(check, result)
                counts["failures"] += 1
            elif result.status == "skip":
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
            share = f" ({percent(c.share * 100)})" if c.share is not None else ""
            lines.append(f"  {c.name} {amount(q, c.value)}{share} ({check.file}:{c.line})")
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
            if result.status == "pass":
                continue
            if result.status == "skip":
                file, line = location(check, result)
                lines.append(workflow_command("warning", f"{name}: {failure_message(result)}", file, line,
                                              title=f"convcalc check: {result.budget.label} skipped"))
                continue
            title = f"convcalc check: {name}: {result.budget.label}"
            if result.budget.kind == "layer_max":
                lines += _layer_annotations(check, result, title)
            else:
                file, line = location(check, result)
                col = result.budget.mark.col if result.budget.mark else 0
                lines.append(workflow_command("error", f"{name}: {failure_message(result)}", file, line, col, title))
        for warning in check.warnings:
            lines.append(workflow_command("warning", f"{name}: {warning}", check.file))
        lines.append(_headline(check))
    lines.append(summary_line(run))
    return lines


def _layer_annotations(check: SpecCheck, result: BudgetResult, title: str) -> list[str]:
    q, budget = result.budget.quantity, result.budget
    groups: dict[int, list[Contributor]] = {}
    for c in result.offenders:
        groups.setdefault(c.line, []).append(c)
    lines = []
    for line, layers in groups.items():
        worst = layers[0]
        excess = Fraction(worst.value - budget.limit) * 100 / budget.limit if budget.limit else None
        rule = f"layer_max.{q} ≤ {limit_text(q, budget.text, budget.limit)}"
        if len(layers) == 1:
            text = f"{check.name}: `{worst.name}` has {amount(q, worst.value)}, {percent(excess)} over {rule}"
        else:
            names = _layer_list(q, layers[:5]) + (f" and {len(layers) - 5} more" if len(layers) > 5 else "")
            text = (f"{check.name}: {len(layers)} layers defined here exceed {rule}, the worst by "
                    f"{percent(excess)}: {names}")
        lines.append(workflow_command("error", text, check.file, line, title=title))
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
            q = result.budget.quantity
            actual = short(q, result.actual) if result.actual is not None else "–"
            limit = short(q, result.limit) if result.limit is not None else "–"
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
