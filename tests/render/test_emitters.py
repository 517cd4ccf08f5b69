"""The one emitter per format (convcalc/render/emitters.py) on small hand-built documents, expected text written out."""

from __future__ import annotations

import io

import pytest

from convcalc.render.emitters import EMITTERS, emit, write_csv, write_json, write_markdown, write_text
from convcalc.render.model import LEFT, RIGHT, Document, Json, Line, Picture, Table, columns


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
    assert set(EMITTERS) == {"table", "json", "csv", "markdown"}
    with pytest.raises(AssertionError):
        Table(columns(("k", "k", LEFT))).add(["one", "two"])  # a row has one cell per column
