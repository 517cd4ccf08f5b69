"""Fitting the terminal (convcalc/render/width.py): where the width comes from, the fitting routine on hand-made
tables and lines, and golden files of analyze, zoo, verify, compare, check and rf at 80, 120 and 200 columns
(tests/render/golden-width/, regenerated like the other golden files: ``--regen-golden`` or
``CONVCALC_REGEN_GOLDEN=1``). Every golden file has no line wider than its width, and the analyze tables' shown
columns still sum to their Total rows.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import options
from convcalc.cli.app import app
from convcalc.render.model import ALIGNED, Column, Document, Line, RIGHT, Span, Table
from convcalc.render.width import MIN_WIDTH, fit_table, resolve_width, shorten_middle, wrap_styled

from .sums import check_table
from .test_golden import CONFIGS, ROOT, check_golden, normalise
from . import widest

GOLDEN = Path(__file__).resolve().parent / "golden-width"
WIDTHS = (80, 120, 200)


class Terminal(io.StringIO):
    def isatty(self):
        return True


# ---- where the width comes from -----------------------------------------------------------------------------------
def test_a_pipe_keeps_the_full_width_whatever_COLUMNS_says():
    assert resolve_width(out=io.StringIO(), environ={"COLUMNS": "80"}) is None


def test_width_and_wide_win_over_everything():
    assert resolve_width(100, out=io.StringIO()) == 100
    assert resolve_width(100, wide=True, out=Terminal()) is None
    assert resolve_width(None, wide=True, out=Terminal(), environ={"COLUMNS": "80"}) is None


def test_a_terminal_reads_COLUMNS_then_its_size():
    assert resolve_width(out=Terminal(), environ={"COLUMNS": "93"}) == 93
    assert resolve_width(out=Terminal(), environ={"COLUMNS": "5"}) == MIN_WIDTH  # never below the narrowest
    # no COLUMNS and no file descriptor to ask: no limit rather than a guess
    assert resolve_width(out=Terminal(), environ={}) is None


def test_the_project_default_hook_comes_after_the_options():
    assert resolve_width(None, out=io.StringIO(), default_width=100) == 100
    assert resolve_width(90, out=io.StringIO(), default_width=100) == 90
    assert resolve_width(None, wide=True, out=io.StringIO(), default_width=100) is None


# ---- the fitting routine ----------------------------------------------------------------------------------------------
def test_names_shorten_in_the_middle():
    assert shorten_middle("layer1.0.downsample.0", 12) == "layer1…ple.0"  # 6 + … + 5 = 12 cells
    assert shorten_middle("  layer1.0.downsample.0", 14) == "  layer1…ple.0"  # the indent kept
    assert shorten_middle("conv1", 12) == "conv1"


def test_lines_wrap_at_word_boundaries_with_a_hanging_indent():
    text = "Units: MACs = multiply-accumulates of conv/linear layers"
    assert [t for t, _, _ in wrap_styled((text, "note", ()), 30)] == [
        "Units: MACs =", "  multiply-accumulates of", "  conv/linear layers"]


def test_a_span_follows_its_text_onto_the_next_line():
    # "  FAIL  params" with FAIL styled (2..6), wrapped at 10: "  FAIL" then "    params"
    (first, _, s1), (second, _, s2) = wrap_styled(("  FAIL  params", "row", ((2, 6, "error"),)), 10)
    assert (first, s1) == ("  FAIL", ((2, 6, "error"),))
    assert (second, s2) == ("    params", ())


def _table(drop=(), shrink=None):
    table = Table([Column("name", "Layer"), Column("macs", "MACs", RIGHT), Column("flops", "FLOPs", RIGHT),
                   Column("rf", "RF", RIGHT)], drop=drop, shrink=shrink)
    table.add(["layer1.0.downsample.0", "51,380,224", "102,760,448", "11"])
    return table


def test_a_column_drops_only_when_names_at_their_floor_do_not_fit():
    # full: 21 + 10 + 11 + 2 cells + 3·4 + 1 = 57; the name may shrink to 12 (9 cells less)
    table = _table(drop=("rf", "flops"), shrink={"name": 12})
    assert fit_table(table, 57) is table
    fitted = fit_table(table, 52)  # 5 cells too wide: the name gives them up, every column stays
    assert [c.key for c in fitted.columns] == ["name", "macs", "flops", "rf"]
    assert fitted.rows[0][0][0] == "layer1.0…ample.0"  # 8 + … + 7 = 16 cells
    assert fit_table(table, 48).rows[0][0][0] == "layer1…ple.0"  # 12 cells: its floor
    fitted = fit_table(table, 47)  # the floor is not enough: RF goes (52 wide), then the name gives up 5
    assert [c.key for c in fitted.columns] == ["name", "macs", "flops"]
    assert fitted.rows[0][0][0] == "layer1.0…ample.0"
    fitted = fit_table(table, 37)  # RF and FLOPs go (38 wide), the name gives up 1 cell
    assert [c.key for c in fitted.columns] == ["name", "macs"]
    assert fitted.rows[0][0][0] == "layer1.0.d…nsample.0"  # 10 + … + 9 = 20 cells


def test_a_table_without_an_order_shrinks_text_then_drops_from_the_right():
    fitted = fit_table(_table(), 40)
    assert [c.key for c in fitted.columns] == ["name", "macs"]


def test_an_aligned_tables_detail_line_keeps_its_text():
    table = Table([Column("status", ""), Column("budget", "Budget"), Column("where", "Where")], style=ALIGNED,
                  drop=("where",))
    table.add([Span("FAIL", "error"), "params ≤ 5K", "over.yaml:15"])
    table.add(["", "top layers: conv2 4.61 K (85.81%)"])
    fitted = fit_table(table, 20)
    assert fitted.rows == [(["FAIL", "params ≤ 5K"], "row"), (["", "top layers: conv2 4.61 K (85.81%)"], "row")]
    assert fitted.rows[0][0][0].role == "error"


def test_a_formula_breaks_after_an_operator_under_its_start():
    # 28 cells after the indent reach "… + 6·7·7 " (the last space at 29); the last space after an operator is the
    # one after "+" (23); the continuation starts under the formula, after "params: " (cell 10)
    text = "  params: 6·(4/2)·3·3 + 6·7·7 + 12 = 114"
    assert [t for t, _, _ in wrap_styled((text, "row", ()), 30, formula=True)] == [
        "  params: 6·(4/2)·3·3 +", "          6·7·7 + 12 = 114"]
    # as prose: at the last space, two in
    assert [t for t, _, _ in wrap_styled((text, "row", ()), 30)] == [
        "  params: 6·(4/2)·3·3 + 6·7·7", "    + 12 = 114"]


def test_a_line_can_hang_under_a_column_of_its_own():
    text = "add       elementwise sum of inputs (residual add)"
    assert [t for t, _, _ in wrap_styled((text, "row", ()), 32, hang=10)] == [
        "add       elementwise sum of", "          inputs (residual add)"]


def test_a_folding_table_prints_its_rows_as_lines_when_it_does_not_fit():
    from convcalc.render.width import fit_blocks

    table = Table([Column("tool", "tool"), Column("rule", "rule")], fold=True)
    table.add(["fvcore", "one fused multiply-add per flop"])
    assert fit_blocks([table], 80) == [table]  # it fits whole: a table
    assert [line.text for line in fit_blocks([table], 30)] == ["tool: fvcore", "  rule: one fused multiply-add",
                                                                "    per flop"]


def test_explain_piped_is_todays_text_and_fitted_keeps_every_word():
    piped = CliRunner().invoke(app, ["explain", "depthwise_separable"], env={"NO_COLOR": "1"}).stdout
    fitted = CliRunner().invoke(app, ["explain", "depthwise_separable", "--width", "60"],
                                env={"NO_COLOR": "1"}).stdout
    assert "MACs:   depthwise + pointwise\n" in piped and max(map(len, fitted.splitlines())) <= 60
    assert piped.split() == fitted.split()  # only the line breaks differ: nothing cut, nothing added


def test_the_text_emitter_fits_only_when_given_a_width():
    from convcalc.render.emitters import write_text

    doc = Document([_table(drop=("rf", "flops")), Line("a note long enough to need a second line here")])
    full, fitted = io.StringIO(), io.StringIO()
    write_text(doc, full)
    write_text(doc, fitted, 40)
    assert max(map(len, full.getvalue().splitlines())) == 57
    assert max(map(len, fitted.getvalue().splitlines())) <= 40


# ---- each command states its order in its --help ----------------------------------------------------------------
def _help(definitions) -> str:
    return next(d.help for d in definitions if getattr(d, "name", None) == "width")


@pytest.mark.parametrize("definitions, view, table", [
    (options.ANALYZE, "analyze", lambda m: [m.COLUMNS[k][0].header for k in m.DROP_ORDER]),
    (options.ZOO, "zoo", lambda m: [k.capitalize() for k in m.DROP_ORDER]),
    (options.RF, "rf", lambda m: [{"center": "Centre of unit 0", "padding": "P", "type": "Type", "shape": "Output",
                                   "jump": "Jump"}[k] for k in m.DROP_ORDER]),
    (options.VERIFY, "verify", lambda m: [{"executed_shape": "output (executed)", "type": "type",
                                           "executed_params": "params (executed)",
                                           "executed_macs": "MACs (executed)", "analytic_shape": "output (analytic)",
                                           "analytic_params": "params (analytic)"}[k] for k in m.DROP_ORDER]),
    (options.CHECK, "check", lambda m: [k.capitalize() for k in m.DROP_ORDER]),
])
def test_the_width_help_names_the_columns_in_the_views_drop_order(definitions, view, table):
    import importlib

    module = importlib.import_module(f"convcalc.render.{view}")
    headers, text = table(module), _help(definitions)
    positions = [text.find(h) for h in headers]
    assert -1 not in positions, (headers, text)
    assert positions == sorted(positions), (headers, text)


def test_every_command_that_prints_a_table_takes_width_and_wide():
    for name in ("ANALYZE", "ZOO", "COMPARE", "SWEEP", "RF", "COST", "DEVICE_COMMAND", "VERIFY", "CHECK", "EXPLAIN"):
        flags = {flag for d in getattr(options, name) for flag in getattr(d, "flags", ())}
        assert {"--width", "--wide"} <= flags, name


# ---- golden files at 80, 120 and 200 columns ----------------------------------------------------------------------
#: golden name → the command line (run from the repository root)
CASES = {
    "analyze-resnet50": ["analyze", "resnet50"],
    "analyze-resnet50-raw": ["analyze", "resnet50", "--units", "raw"],
    "analyze-resnet50-by-stage": ["analyze", "resnet50", "--by", "stage"],
    "analyze-resnet50-top": ["analyze", "resnet50", "--top", "10"],
    "verify-mobilenet_v2": ["verify", "mobilenet_v2"],
    "compare-resnet18-resnet50": ["compare", "resnet18", "resnet50"],
    "check-over": ["check", "tests/fixtures/check/over.yaml"],
    "rf-mobilenet_v2": ["rf", "mobilenet_v2"],
    "explain-depthwise_separable": ["explain", "depthwise_separable"],
    "explain-winograd": ["explain", "winograd"],
    "explain-resnet18-conv1": ["explain", "resnet18", "--layer", "conv1"],
    "device-show-a100": ["device", "show", "convcalc/devices/a100.yaml"],  # the path as given: in no checkout's
    "cost-resnet18-train": ["cost", "resnet18", "--train"],
    "verify-resnet18-train": ["verify", "resnet18", "--input", "3x64x64", "--train"],
}
EXIT_CODES = {"check-over": 1}


def _run(args: list[str], width: int, exit_code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--width", str(width)], env={"NO_COLOR": "1"})
    assert result.exit_code == exit_code, result.output
    text = normalise(result.stdout)
    return re.sub(r"executed in \d+\.\d+ s", "executed in <seconds> s", text)


def _assert_fits(text: str, width: int) -> None:
    from convcalc.render.grid import cell_len

    wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} lines wider than {width}, e.g. {wide[0]!r}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", list(CASES))
def test_golden_at_width(case, width, regen_golden, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = _run(CASES[case], width, EXIT_CODES.get(case, 0))
    _assert_fits(text, width)
    _check_golden(f"{case}.{width}.txt", text, regen_golden)


@pytest.mark.parametrize("width", WIDTHS)
def test_golden_zoo_at_width(width, regen_golden):
    """The zoo view over the same four configs as tests/render/test_golden.py (the whole zoo grows)."""
    from convcalc.render.emitters import emit
    from convcalc.render.zoo import ZooView
    from convcalc.zoo import zoo_entries

    entries = [e for e in zoo_entries(include_subfolders=True) if e.name in CONFIGS]
    out = io.StringIO()
    emit(ZooView(entries, "raw"), "table", out, width=width)
    text = normalise(out.getvalue())
    _assert_fits(text, width)
    _check_golden(f"zoo.{width}.txt", text, regen_golden)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_shown_columns_still_add_up(width):
    """Parsed back from the raw golden files: whatever columns a width kept sum to the Total row."""
    checked = check_table((GOLDEN / f"analyze-resnet50-raw.{width}.txt").read_text(encoding="utf-8"))
    # ResNet-50: 25,557,032 params and 4,089,184,256 MACs (torchvision's model table: 25.6 M, 4.09 GFLOPS)
    assert checked["params"] == 25_557_032
    assert checked["macs"] == 4_089_184_256


def test_at_200_columns_analyze_keeps_every_default_column():
    header = next(line for line in (GOLDEN / "analyze-resnet50.200.txt").read_text(encoding="utf-8").splitlines()
                  if line.startswith("┃"))
    assert [h.strip() for h in header.strip("┃").split("┃")] == [
        "Layer", "Type", "Output", "Params", "MACs", "FLOPs", "Activations", "RF", "Jump"]


def test_wide_keeps_every_column_and_whole_names():
    result = CliRunner().invoke(app, ["analyze", "resnet50", "--wide"], env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if line.startswith(("│", "┃"))]
    assert "layer1.0.downsample.0" in result.stdout and not any("…" in row for row in rows)  # no name shortened
    assert "┃ Jump ┃" in result.stdout


def test_a_pipe_without_width_is_todays_output():
    """No --width, not a terminal: byte for byte the golden file of tests/render/test_golden.py."""
    result = CliRunner().invoke(app, ["analyze", "resnet18"], env={"NO_COLOR": "1", "COLUMNS": "80"})
    expected = (Path(__file__).resolve().parent / "golden" / "analyze" / "resnet18.txt").read_text(encoding="utf-8")
    assert normalise(result.stdout) == expected


@pytest.mark.parametrize("command", widest.COMMANDS)
def test_every_command_fits_80_columns(command):
    """The loop of benchmarks/widest_lines.py: every command and mode with a text output, within 80 columns."""
    if not widest.available(command):
        pytest.skip(f"needs {widest.NEEDS[command]}")
    result = widest.run(command, 80)
    assert result.exit_code == widest.EXIT_CODES.get(command, 0), (result.stdout, result.stderr)
    _assert_fits(result.stdout, 80)


def test_every_kinds_explanation_fits_80_columns():
    from convcalc.layers import REGISTRY

    for kind in sorted(REGISTRY):
        result = widest.run(f"explain {kind}", 80)
        assert result.exit_code == 0, (kind, result.stderr)
        _assert_fits(result.stdout, 80)


def _check_golden(name: str, text: str, regen: bool) -> None:
    check_golden(name, text, regen, GOLDEN)


def test_every_width_golden_file_is_produced_by_a_test():
    produced = {f"{case}.{w}.txt" for case in CASES for w in WIDTHS} | {f"zoo.{w}.txt" for w in WIDTHS}
    assert {p.name for p in GOLDEN.glob("*") if p.is_file()} == produced


def test_messages_wrap_on_a_terminal_and_stay_whole_elsewhere(monkeypatch):
    from convcalc.render.width import write_message

    text = "4 operators with no layer kind kept as zero-cost placeholders"
    piped = io.StringIO()
    write_message(text, piped, "warning: ")
    assert piped.getvalue() == f"warning: {text}\n"
    monkeypatch.setenv("COLUMNS", "40")
    terminal = Terminal()
    write_message(text, terminal, "\x1b[31merror:\x1b[0m ")
    # "error: 4 operators with no layer kind" is 37 cells, "… kept" would be 42: the break; the colour codes stay
    # around the label
    assert terminal.getvalue() == ("\x1b[31merror:\x1b[0m 4 operators with no layer kind\n"
                                   "  kept as zero-cost placeholders\n")


def test_cell_len_counts_wide_characters_twice_and_its_shortcut_is_exact():
    """The shortcut (no character at or above U+0378) holds for every code point below it, as unicodedata says."""
    import unicodedata

    from convcalc.render.grid import _FIRST_WIDE, _NARROW, cell_len

    assert all(unicodedata.east_asian_width(chr(c)) not in "WF" for c in range(ord(_FIRST_WIDE)))
    assert unicodedata.east_asian_width(_FIRST_WIDE) in "WF"
    assert all(unicodedata.east_asian_width(chr(c)) not in "WF" and value is None for c, value in _NARROW.items())
    assert cell_len("64×56×56") == 8 and cell_len("· a") == 3 and cell_len("") == 0
    assert cell_len("█▏ 12.5%") == 8 and cell_len("层 conv") == 7 and cell_len("ｆ×") == 3
    assert cell_len("↳ — 层") == 6 and cell_len("…") == 1
