"""The one emitter per format (convcalc/render/emitters.py) on small hand-built documents, expected text written out."""

from __future__ import annotations

import io

import pytest

from convcalc.render.emitters import (EMITTERS, emit, write_csv, write_github, write_json, write_markdown, write_text,
                                      write_xml)
from convcalc.render.model import (ALIGNED, LEFT, RIGHT, Annotation, Document, Json, Line, Picture, Span, Table,
                                   columns)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def sample() -> Table:
    table = Table(columns(("name", "Name", LEFT), ("n", "Count", RIGHT)), "Two | rows")
    table.add(["a|b", "7"])
    table.add(["x", "12"], "warn")
    table.add(["Total", ""], "total")
    return table


def text(doc: Document, out=None) -> str:
    out = out or io.StringIO()
    write_text(doc, out)
    return out.getvalue()


def test_text_table_with_a_rule_above_the_total():
    assert text(Document([sample(), Line("a note")])) == (
        "Two | rows\n"
        "┏━━━━━━━┳━━━━━━━┓\n"
        "┃ Name  ┃ Count ┃\n"
        "┡━━━━━━━╇━━━━━━━┩\n"
        "│ a|b   │     7 │\n"
        "│ x     │    12 │\n"
        "├───────┼───────┤\n"
        "│ Total │       │\n"
        "└───────┴───────┘\n"
        "a note\n")


def test_a_total_first_row_gets_no_rule_and_wide_characters_take_two_cells():
    table = Table(columns(("k", "K", LEFT)))
    table.add(["全"], "total")
    table.add(["ab"])
    assert text(Document([table])) == "┏━━━━┓\n┃ K  ┃\n┡━━━━┩\n│ 全 │\n│ ab │\n└────┘\n"


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    doc = Document([sample(), Line("careful", "warn")])
    coloured = text(doc, Terminal())
    assert "\x1b[1mTwo | rows" in coloured and "\x1b[33mcareful" in coloured
    assert "\x1b[" not in text(doc)  # piped
    assert text(Document(doc.blocks, plain=True), Terminal()) == text(doc)  # verify's plain text
    monkeypatch.setenv("NO_COLOR", "1")
    assert text(doc, Terminal()) == text(doc)


def test_a_picture_is_drawn_for_the_output_it_goes_to(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    asked = []

    def draw(color):
        asked.append(color)
        return ["[]  []"]

    doc = Document([Line("before", "row"), Picture(draw), Line("after", "row")])
    assert text(doc) == "before\n[]  []\nafter\n"
    text(doc, Terminal())
    assert asked == [False, True]


def test_markdown_headings_cells_totals_and_spacing():
    doc = Document([sample(), Line("note one"), Line("note two"), Table(columns(("v", "V", RIGHT)))], heading=4)
    out = io.StringIO()
    write_markdown(doc, out)
    assert out.getvalue() == (
        "#### Two | rows\n"   # a heading is no table row: its `|` stays
        "\n"
        "| Name | Count |\n"
        "|---|---:|\n"
        "| a\\|b | 7 |\n"
        "| x | 12 |\n"
        "| **Total** |  |\n"  # bold, except an empty cell
        "\n"
        "note one\n"
        "note two\n"          # consecutive lines: no blank line between them
        "\n"
        "| V |\n"             # an untitled table: no heading
        "|---:|\n")


def test_csv_writes_the_keys_and_exact_values():
    table = Table(columns(("name", "Name", LEFT), ("macs", "MACs", RIGHT)))
    table.add(["conv, 1", 4_089_184_256])
    out = io.StringIO()
    write_csv(table, out)
    assert out.getvalue() == 'name,macs\n"conv, 1",4089184256\n'


def test_json_as_is_or_ascii_or_already_encoded():
    for doc, expected in ((Json({"a": "×"}), '{\n  "a": "×"\n}\n'), (Json({"a": "×"}, ascii=True),
                                                                      '{\n  "a": "\\u00d7"\n}\n'),
                          (Json(text='{"a": 1}'), '{"a": 1}\n')):
        out = io.StringIO()
        write_json(doc, out)
        assert out.getvalue() == expected


def test_emit_asks_the_view_for_the_format():
    class View:
        def table(self):
            return Document([Line("t", "row")])

        def csv(self):
            return Table(columns(("k", "k", LEFT)))

    out = io.StringIO()
    emit(View(), "table", out)
    emit(View(), "csv", out)
    assert out.getvalue() == "t\nk\n"
    assert set(EMITTERS) == {"table", "json", "jsonl", "csv", "markdown", "junit", "github"}
    with pytest.raises(AssertionError):
        Table(columns(("k", "k", LEFT))).add(["one", "two"])  # a row has one cell per column
    with pytest.raises(AssertionError):
        Table(columns(("k", "k", LEFT), ("v", "v", LEFT))).add(["one"])  # short rows: aligned tables only


def test_a_view_with_nothing_to_say_in_a_format_writes_nothing():
    class Quiet:
        def json(self):
            return None

    out = io.StringIO()
    emit(Quiet(), "json", out)
    assert out.getvalue() == ""


# ---- aligned tables and spans -----------------------------------------------------------------------------------
def aligned() -> Table:
    table = Table(columns(("status", "", LEFT), ("name", "Name", LEFT), ("n", "Count", RIGHT), ("where", "", LEFT)),
                  "Block", style=ALIGNED)
    table.add([Span("FAIL", "error"), "全部", "7", "a.yaml:3"])
    table.add(["", "a detail longer than every column"])  # runs on from the second column, in no width
    table.add([Span("PASS", "ok"), "abc", "1,024", ""])   # its trailing spaces are trimmed
    return table


def test_an_aligned_table_pads_cells_by_terminal_cells_without_borders():
    assert text(Document([aligned(), Line("end", "row")])) == (
        "Block\n"
        "  FAIL  全部      7  a.yaml:3\n"    # 全部 takes four cells, like `abc` plus one
        "        a detail longer than every column\n"
        "  PASS  abc   1,024\n"
        "end\n")


def test_spans_are_styled_apart_from_their_line_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    line = Line.of("  ", Span("ERROR", "error"), " bad input")
    assert (line.text, line.role, line.spans) == ("  ERROR bad input", "row", ((2, 7, "error"),))
    coloured = text(Document([aligned(), line]), Terminal())
    assert coloured == (
        "\x1b[1mBlock\x1b[0m\n"
        "  \x1b[31mFAIL\x1b[0m  全部      7  a.yaml:3\n"
        "        a detail longer than every column\n"
        "  \x1b[32mPASS\x1b[0m  abc   1,024\n"
        "  \x1b[31mERROR\x1b[0m bad input\n")
    assert text(Document([aligned(), line])) == text(Document([aligned(), line]), Terminal()).replace(
        "\x1b[1m", "").replace("\x1b[31m", "").replace("\x1b[32m", "").replace("\x1b[0m", "")


def test_markdown_writes_an_aligned_table_as_any_table_and_an_empty_header_as_a_bare_cell():
    out = io.StringIO()
    write_markdown(Document([aligned()], heading=2), out)
    assert out.getvalue() == (
        "## Block\n"
        "\n"
        "| | Name | Count | |\n"
        "|---|---|---:|---|\n"
        "| FAIL | 全部 | 7 | a.yaml:3 |\n"
        "|  | a detail longer than every column |\n"
        "| PASS | abc | 1,024 |  |\n")


# ---- XML and GitHub workflow commands ---------------------------------------------------------------------------
def test_xml_is_declared_and_indented():
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="a & b")
    ET.SubElement(ET.SubElement(root, "testsuite"), "testcase", name="x < 1")
    out = io.StringIO()
    write_xml(root, out)
    assert out.getvalue() == ('<?xml version="1.0" encoding="UTF-8"?>\n'
                              '<testsuites name="a &amp; b">\n'
                              '  <testsuite>\n'
                              '    <testcase name="x &lt; 1" />\n'
                              '  </testsuite>\n'
                              '</testsuites>\n')


def test_github_workflow_commands_are_escaped_and_lines_written_as_they_are():
    out = io.StringIO()
    write_github(Document([
        Annotation("error", "50% over\nnext line", "dir/a,b.yaml", 3, 5, "check: a"),
        Annotation("warning", "no line", "a.yaml", 0, 5),   # a column needs a line
        Annotation("error", "nowhere"),
        Line("Checked 1 spec.", "row"),
    ]), out)
    assert out.getvalue() == (
        "::error file=dir/a%2Cb.yaml,line=3,col=5,title=check%3A a::50%25 over%0Anext line\n"
        "::warning file=a.yaml::no line\n"
        "::error::nowhere\n"
        "Checked 1 spec.\n")


def test_jsonl_writes_each_record_on_its_line_and_flushes_it_as_it_comes():
    from convcalc.render.model import JsonLines

    class Out(io.StringIO):
        def __init__(self):
            super().__init__()
            self.flushed = []

        def flush(self):
            self.flushed.append(self.getvalue().count("\n"))

    out = Out()
    emit(type("View", (), {"jsonl": lambda self: JsonLines(iter([{"a": 1, "b": "é"}, {"n": 10**30}]))})(), "jsonl",
         out)
    assert out.getvalue() == '{"a":1,"b":"é"}\n{"n":1000000000000000000000000000000}\n'
    assert out.flushed == [1, 2]
