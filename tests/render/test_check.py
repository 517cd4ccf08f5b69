"""The check view (convcalc/render/check.py) on the fixture runs: the model objects it builds for each format, the
status words coloured on a terminal, the spacing of the Markdown report between specs, and bad options. The whole
outputs are pinned by the golden files (test_golden.py) and the command's tests (tests/commands/test_check.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from convcalc.budgets.evaluate import check
from convcalc.budgets.parse import run_options
from convcalc.errors import Mark, SpecError
from convcalc.render.check import BadOptionsView, CheckView, run_dict
from convcalc.render.emitters import emit
from convcalc.render.model import ALIGNED, Document, Json, Line, Span, Table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"
TINY, OVER, BAD_KEY = (str(FIXTURES / f"{name}.yaml") for name in ("tiny", "over", "bad_key"))
BUDGETS = str(FIXTURES / "budgets.yaml")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def checked(*specs: str, **options):
    return check(list(specs), run_options(list(specs), options.get("budgets"), None, None, None, None, False, None,
                                          None, None))


def written(view, fmt: str, out=None) -> str:
    out = out or io.StringIO()
    emit(view, fmt, out)
    return out.getvalue()


def test_each_format_is_a_model_object():
    run = checked(OVER)
    view = CheckView(run)
    table = view.table()
    assert isinstance(table, Document)
    (results,) = [b for b in table.blocks if isinstance(b, Table)]
    assert results.style == ALIGNED
    # 7 budgets, and a detail line under 5 of the 6 failures (min_rf has none)
    assert [len(cells) for cells, _ in results.rows] == [4, 2, 4, 2, 4, 4, 2, 4, 2, 4, 2, 4]
    assert [cells[0].role for cells, _ in results.rows if isinstance(cells[0], Span)] == ["error"] * 2 + ["ok"] + [
        "error"] * 4
    assert view.json() == Json(run_dict(run))
    assert view.junit().tag == "testsuites"
    assert [type(b).__name__ for b in view.github().blocks] == ["Annotation"] * 6 + ["Line"] * 2


def test_status_words_are_coloured_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = written(CheckView(checked(OVER, BAD_KEY)), "table", Terminal())
    lines = text.splitlines()
    assert lines[0] == "\x1b[1mover (" + OVER + "): 6 of 7 budgets exceeded\x1b[0m"
    assert lines[1].startswith("  \x1b[31mFAIL\x1b[0m  params ≤ 5K  ")
    assert lines[2] == "        top layers: conv2 4.61 K (85.81%), conv1 432 (8.04%), fc 330 (6.15%)"
    assert "  \x1b[32mPASS\x1b[0m  flops ≤ 4M  " in text
    assert f"  \x1b[31mERROR\x1b[0m {BAD_KEY}:7:3: unknown budget `mac`" in text
    assert lines[-1] == "\x1b[1mChecked 2 specs: 0 within budget, 1 over budget, 1 bad input. Exit code 2.\x1b[0m"
    # piped, or with NO_COLOR: the same text without the styles
    plain = written(CheckView(checked(OVER, BAD_KEY)), "table")
    for code in ("\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[0m"):
        text = text.replace(code, "")
    assert plain == text
    monkeypatch.setenv("NO_COLOR", "1")
    assert written(CheckView(checked(OVER, BAD_KEY)), "table", Terminal()) == plain


def test_a_skipped_budget_is_yellow(monkeypatch):
    """budgets.yaml gives tiny two max_increase budgets, skipped without --baseline."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = written(CheckView(checked(TINY, budgets=BUDGETS)), "table", Terminal())
    assert "  \x1b[33mSKIP\x1b[0m  macs ≤ baseline +2%  " in text


def test_markdown_warnings_run_straight_into_the_next_spec():
    """A spec's warnings close its section; the next heading follows on the next line (two specs, the first with a
    warning), and the report ends on its last character."""
    run = checked(OVER, TINY)
    run.specs[0].warnings.append("the baseline | is old")
    text = written(CheckView(run), "markdown")
    assert "\n\n> warning: the baseline \\| is old\n### ✅ tiny (" in text
    assert text.endswith(" |\n") and not text.endswith("\n\n")


def test_markdown_of_bad_input_is_a_code_block():
    text = written(CheckView(checked(BAD_KEY, TINY)), "markdown")
    assert (f"### ⛔ bad_key ({BAD_KEY}): bad input\n\n```\n{BAD_KEY}:7:3: unknown budget `mac` — did you mean "
            f"`macs`?\n```\n\n### ✅ tiny") in text


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_bad_options_say_nothing_on_stdout_but_in_the_github_format(fmt):
    error = SpecError("`macs: 600Q`: unknown suffix `Q`", Mark("b.yaml", 3, 9), "use K, M, G or T")
    assert written(BadOptionsView(error), fmt) == ""
    assert written(BadOptionsView(error), "github") == (
        "::error file=b.yaml,line=3,col=9,title=convcalc check%3A bad input::b.yaml:3:9: `macs: 600Q`: unknown suffix "
        "`Q` — use K, M, G or T\n")
    assert written(BadOptionsView(SpecError("--max-increase needs --baseline")), "github") == (
        "::error title=convcalc check%3A bad input::--max-increase needs --baseline\n")


def test_a_line_of_pieces_keeps_the_spans_of_its_span_pieces():
    line = Line.of("a", Span("", "ok"), Span("bc", "error"), "d")  # an empty Span styles nothing
    assert (line.text, line.spans) == ("abcd", ((1, 3, "error"),))
