"""Every number in a shipped config's "Expected" block is checked against what `convcalc analyze` prints.

configs/README.md is the convention. A block starts at a comment line ``# Expected…:`` (optionally
``with `--set NAME=VALUE```) and takes the comment lines indented below it. Its text is read as *claims*: runs of
numbers, labels, "quoted figures", arithmetic (``+ − · / ( ) ² %``; ``×`` writes a shape) and relations
(``= ≈ < >``), cut apart by every other word and punctuation mark. A label names a row and/or a column of the
report (``conv1 MACs``, ``params``, ``linear``, ``v1.offset``); followed by a number, that number must be what
analyze prints there. Every relation must hold, exactly or (``≈``) rounded as written. A number that is neither
labelled nor in a relation fails, naming the config and line, and so does one glued to letters or hidden in code
or in a bracketed aside; a [citation] may hold only years, tables and figures. A second test edits every other
number of every block in turn and expects the check to fail.

The report is what ``convcalc analyze FILE -f json [--set NAME=VALUE]`` prints, run in-process (well under a
second for the ~40 configs). Expected numbers here are the configs' own headers; the checker's own cases at the
end are worked by hand on a tiny spec. The module is longer than most because the checker and the tests that pin
its reading of the convention belong together.
"""

from __future__ import annotations

import json
import operator
import re
import shlex
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
IDS = [path.relative_to(ROOT / "configs").as_posix() for path in CONFIGS]

#: column word → its key in a row (the table's columns, the totals line, the input shape of the title)
COLUMNS = {"params": "params", "buffers": "buffers", "MACs": "macs", "FLOPs": "flops", "output": "output_shape",
           "RF": "rf.size", "jump": "rf.jump", "input": "input"}
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
STANDALONE = re.compile(rf"(?<![A-Za-z0-9_.,]){NUMBER}")
TOKEN = re.compile(rf"""
    (?P<space>\s+) | (?P<quote>"[^"]*") | (?P<code>`[^`]*`) | (?P<cite>\[[^\]]*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:[.'\-][A-Za-z0-9_]+)*[²³]?)
  | (?P<number>{NUMBER})(?P<glued>[A-Za-z_][A-Za-z0-9_]*)?
  | (?P<sup>[{SUPERSCRIPTS}]+) | (?P<op>[-+−·/()%×]) | (?P<rel>[=≈<>]) | (?P<gap>.)
""", re.X)
#: what a citation may number: a year, tables and figures (``Tables 4, 6 and 7``), sections
CITED = re.compile(r"\b(?:19|20)\d\d\b|(?:\b(?:Tables?|Figures?|Figs?\.)\s|§)\d+(?:(?:,\s*|\s+and\s+)\d+)*\b")
CITATION = re.compile(r"\[[^\]]*\]")
ARITHMETIC = {"+": operator.add, "−": operator.sub, "-": operator.sub, "·": operator.mul, "/": operator.truediv,
              "^": operator.pow}
HEADER_LINE = re.compile(r"# Expected((?: with `--set [^`]+`)*)(?:[ ,][^:]*)?:.*")


class ClaimError(Exception):
    """A problem at one line of a config's header."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


# ---- the report -----------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def printed(path: str, sets: tuple[str, ...] = ()) -> dict:
    """What ``convcalc analyze PATH -f json --set …`` prints, parsed."""
    result = CliRunner().invoke(app, ["analyze", path, "-f", "json", *(f"--set={s}" for s in sets)])
    if result.exit_code != 0:
        raise ClaimError(0, f"`convcalc analyze` fails: {result.output.strip()}")
    return json.loads(result.stdout)


def _flat(details: dict, prefix: str = "") -> dict:
    """``details`` with nested dicts as dotted keys (``taps_per_output.min``); ``sub_rows`` are rows, not values."""
    out = {}
    for key, value in details.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif key != "sub_rows":
            out[prefix + key] = value
    return out


class Report:
    """The rows and columns of one printed report, under the names a header uses for them."""

    def __init__(self, data: dict):
        self.rows: dict[str, dict] = {"total": {**data["totals"], "input": data["input"]}}
        self.columns = dict(COLUMNS)
        self.ambiguous: set[str] = set()
        for layer in data["layers"]:
            details = _flat(layer["details"])
            self.columns.update({key: key for key in details})
            self._add(layer["name"], {**layer, "rf.size": layer["rf"]["size"], "rf.jump": layer["rf"]["jump"],
                                      **details})
            for sub in layer["details"].get("sub_rows", ()):  # the stages printed under it, `· main`
                self._add(f"{layer['name']}.{sub['name'].split(' ')[0]}", sub)
        for kind, totals in data["by_type"].items():
            self._add(kind, totals)
        self.ambiguous |= set(self.rows) & set(self.columns)

    def _add(self, name: str, row: dict) -> None:
        if name in self.rows:
            self.ambiguous.add(name)
        self.rows.setdefault(name, row)

    def role(self, word: str) -> str | None:
        """``"row"``, ``"column"``, or None for a prose word."""
        return "row" if word in self.rows else "column" if word in self.columns else None

    def value(self, row: str, column: str, line: int):
        """What the report prints at (row, column): a Fraction, or a tuple (a shape, or a value per axis)."""
        for name in (row, column):
            if name in self.ambiguous:
                raise ClaimError(line, f"`{name}` names several things in the report: reword, or rename the layer")
        key = self.columns[column]
        if key not in self.rows[row]:
            raise ClaimError(line, f"the report prints no {column} for `{row}`")
        value = self.rows[row][key]
        if isinstance(value, list):
            values = tuple(Fraction(v) for v in value)
            # RF and jump are written once when every axis agrees, as the table prints them
            return values[0] if key.startswith("rf.") and len(set(values)) == 1 else values
        try:
            return Fraction(value)
        except (TypeError, ValueError):
            raise ClaimError(line, f"{row} {column} is neither a number nor a shape: {value!r}") from None


# ---- reading a header -------------------------------------------------------------------------------------------
@dataclass
class Block:
    sets: tuple[str, ...]          # its --set NAME=VALUE options
    lines: list[tuple[int, str]]   # (line number, text to read)


@dataclass
class Token:
    kind: str  # number, sup, quote, name, op, rel, gap
    text: str
    line: int
    value: object = None  # a number's or quote's Fraction, an exponent, a name's role
    places: int = 0       # decimals as written, for ≈


def expected_blocks(text: str) -> list[Block]:
    """The Expected blocks among a config's leading comment lines."""
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#"):
            break
        if line.startswith("# Expected"):
            match = HEADER_LINE.fullmatch(line)
            if not match:
                raise ClaimError(number, "write `# Expected:`, `# Expected (note):` or "
                                         "`# Expected with `--set NAME=VALUE`:` (configs/README.md)")
            sets = tuple(option for span in re.findall(r"`([^`]+)`", match.group(1))
                         for option in shlex.split(span) if option != "--set")
            current = Block(sets, [(number, line[len("# Expected"):].replace(match.group(1), "", 1))])
            blocks.append(current)
        elif current is not None and re.match(r"#\s{2,}\S", line):
            current.lines.append((number, line[1:]))
        else:
            current = None
    return blocks


def _literal(text: str) -> tuple[Fraction, int]:
    digits = text.replace(",", "")
    return Fraction(digits), len(digits.partition(".")[2])


def tokens(block: Block, report: Report) -> list[Token]:
    """The block's tokens; a word the report does not name, punctuation and code become gaps."""
    out: list[Token] = []
    for line, text in block.lines:
        for match in TOKEN.finditer(text):
            kind, piece = match.lastgroup, match.group()
            if kind == "space":
                continue
            if kind in ("number", "glued"):
                if match.group("glued"):
                    raise ClaimError(line, f"`{piece}`: a number glued to letters; write it apart from the word, "
                                           "or as a \"quoted figure\"")
                out.append(Token("number", piece, line, *_literal(piece)))
            elif kind == "quote":
                found = list(STANDALONE.finditer(piece))
                if len(found) != 1:
                    raise ClaimError(line, f"a quoted figure holds exactly one number: {piece}")
                value, places = _literal(found[0].group())
                if piece[found[0].end():].lstrip().startswith("%"):
                    value, places = value / 100, places + 2
                out.append(Token("quote", piece, line, value, places))
            elif kind == "code" and STANDALONE.search(piece):
                raise ClaimError(line, f"a number in code, where no check reads it: {piece}")
            elif kind == "cite" and STANDALONE.search(CITED.sub("", piece)):
                raise ClaimError(line, f"a citation names its source by years, tables and figures only: {piece}")
            elif kind == "word" and report.role(piece):
                out.append(Token("name", piece, line, report.role(piece)))
            elif kind == "sup":
                out.append(Token("sup", piece, line, int(piece.translate(str.maketrans(SUPERSCRIPTS, "0123456789")))))
            else:
                out.append(Token(kind if kind in ("op", "rel") else "gap", piece, line))
    return _without_asides(out)


def _without_asides(toks: list[Token]) -> list[Token]:
    """Drop each bracketed aside, "( … )" holding prose and no number (innermost first)."""
    opened = None
    for i, tok in enumerate(toks):
        if tok.text == "(" and tok.kind == "op":
            opened = i
        elif tok.text == ")" and tok.kind == "op" and opened is not None:
            inside = toks[opened + 1:i]
            if any(t.kind == "gap" for t in inside):
                if any(t.kind in ("number", "quote") for t in inside):
                    raise ClaimError(tok.line, "a bracketed aside holds a number: take the number out of the "
                                               "brackets and label it, or keep the aside free of numbers")
                return _without_asides(toks[:opened] + toks[i + 1:])
            opened = None
    return toks


def claims(toks: list[Token]) -> list[list[Token]]:
    """The maximal runs of tokens between gaps."""
    runs: list[list[Token]] = [[]]
    for tok in toks:
        if tok.kind == "gap":
            runs.append([])
        else:
            runs[-1].append(tok)
    return [run for run in runs if run]


# ---- checking a claim -------------------------------------------------------------------------------------------
@dataclass
class Side:
    value: object               # a Fraction, or a tuple for a shape
    written: Token | None = None  # the figure, when the side is one written number or quote (for ≈)
    labelled: bool = False        # the side is one labelled number, a claim on its own


class Claim:
    """One run, ``side (relation side)*``, parsed and checked; ``context`` carries the column named last."""

    LEVELS = (("+", "−", "-"), ("·", "/"))

    def __init__(self, run: list[Token], report: Report, context: dict):
        self.run, self.report, self.context, self.at, self.quotes = run, report, context, 0, 0

    def peek(self, *texts: str, kind: str | None = None) -> Token | None:
        tok = self.run[self.at] if self.at < len(self.run) else None
        if tok is not None and (kind is None or tok.kind == kind) and (not texts or tok.text in texts):
            return tok
        return None

    def take(self) -> Token:
        self.at += 1
        return self.run[self.at - 1]

    def fail(self, message: str, line: int | None = None):
        line = line if line is not None else self.run[min(self.at, len(self.run) - 1)].line
        raise ClaimError(line, f"{message} (in `{' '.join(t.text for t in self.run)}`)")

    def check(self) -> None:
        sides, relations = [self.expression()], []
        while self.peek(kind="rel"):
            relations.append(self.take())
            sides.append(self.expression())
        if self.at != len(self.run):
            self.fail(f"cannot read `{self.run[self.at].text}` here (a label goes before its number)")
        if self.quotes and not relations:
            self.fail("a quoted figure must be related to the report (`\"4.09 GFLOPS\" ≈ MACs/10⁹`)")
        if not relations and not sides[0].labelled:
            self.fail("a number that is neither labelled nor in a relation: label it (`conv1 MACs 105,415,200`) "
                      "or write what it equals")
        for left, relation, right in zip(sides, relations, sides[1:]):
            self.relate(left, relation, right)

    def relate(self, left: Side, relation: Token, right: Side) -> None:
        a, b = left.value, right.value
        if (isinstance(a, tuple) or isinstance(b, tuple)) and not (isinstance(a, tuple) and isinstance(b, tuple)
                                                                  and relation.text == "="):
            self.fail("shapes are compared with shapes, by `=` only", relation.line)
        if relation.text == "≈":
            written = [side for side in (left, right) if side.written is not None]
            if len(written) != 1:
                self.fail("`≈` needs a written figure on exactly one side", relation.line)
            figure, computed = (left, right) if written[0] is left else (right, left)
            scale = 10 ** figure.written.places
            half_up = int(abs(computed.value) * scale + Fraction(1, 2))
            rounded = Fraction(half_up if computed.value >= 0 else -half_up, scale)
            holds, shown = rounded == figure.value, (f"{_text(computed.value)} rounds to {_text(rounded)}, "
                                                     f"not {figure.written.text}")
        else:
            holds = {"=": a == b, "<": a < b, ">": a > b}[relation.text]
            shown = f"{_text(a)} {relation.text} {_text(b)} is false"
        if not holds:
            self.fail(shown, relation.line)

    # expression := term (("+" | "−") term)*;  term := factor (("·" | "/") factor)*
    def expression(self, level: int = 0) -> Side:
        if level == len(self.LEVELS):
            return self.factor()
        first = self.expression(level + 1)
        if not self.peek(*self.LEVELS[level], kind="op"):
            return first
        value = first.value
        while self.peek(*self.LEVELS[level], kind="op"):
            op = self.take().text
            value = self.arith(value, self.expression(level + 1).value, op)
        return Side(value)

    # factor := "−" factor | atom [superscript] ["%"]
    def factor(self) -> Side:
        if self.peek("−", "-", kind="op"):
            self.take()
            return Side(self.arith(Fraction(0), self.factor().value, "−"))
        side = self.atom()
        if self.peek(kind="sup"):
            side = Side(self.arith(side.value, self.take().value, "^"))
        if self.peek("%", kind="op"):
            self.take()
            figure = side.written
            if figure is not None:  # 99.96% is written to 4 decimals of the fraction
                figure = Token(figure.kind, figure.text + "%", figure.line, figure.value, figure.places + 2)
            side = Side(self.arith(side.value, Fraction(100), "/"), figure)
        return side

    # atom := number [× number …] | quote | "(" expression ")" | label
    def atom(self) -> Side:
        tok = self.peek()
        if tok is None:
            self.fail("something is missing at the end")
        if tok.kind == "number":
            self.take()
            shape = self.shape(tok)
            return Side(shape) if shape is not None else Side(tok.value, tok)
        if tok.kind == "quote":
            self.quotes += 1
            return Side(self.take().value, tok)
        if tok.text == "(" and tok.kind == "op":
            self.take()
            inner = self.expression()
            if not self.peek(")", kind="op"):
                self.fail("`(` without `)`")
            self.take()
            return Side(inner.value)
        if tok.kind == "name":
            return self.label()
        self.fail(f"cannot read `{tok.text}` here")

    def shape(self, first: Token) -> tuple | None:
        """``N×N×…`` from its first size on: a shape, or None when no ``×`` follows."""
        sizes = [first]
        while self.peek("×", kind="op"):
            self.take()
            if not self.peek(kind="number"):
                self.fail("`×` joins sizes into a shape (3×224×224); multiply with `·`")
            sizes.append(self.take())
        if len(sizes) == 1:
            return None
        if any(size.places for size in sizes):
            self.fail("a shape has whole sizes")
        return tuple(size.value for size in sizes)

    # label := ROW [COLUMN] | COLUMN, then optionally the number (or shape) the report prints there
    def label(self) -> Side:
        first = self.take()
        row, column = ("total", first.text) if first.value == "column" else (first.text, None)
        if column is None and self.peek(kind="name") and self.peek().value == "column":
            column = self.take().text
        column = column or self.context.get("column")
        if column is None:
            self.fail(f"`{row}` alone needs a column named before it (params, MACs, …)", first.line)
        self.context["column"] = column
        actual = self.report.value(row, column, first.line)
        written = self.peek(kind="number")
        if written is None:
            return Side(actual)
        self.take()
        value = self.shape(written) or written.value
        if isinstance(actual, tuple) and not isinstance(value, tuple):
            value = (value,)  # a 1-D output written as one size
        if value != actual:
            raise ClaimError(written.line, f"the report prints {row} {column} {_text(actual)}, "
                                           f"the header says {written.text}")
        return Side(value, labelled=True)

    def arith(self, a, b, op: str):
        if isinstance(a, tuple) or isinstance(b, tuple):
            self.fail("a shape is not a number: multiply with `·`, write shapes with `×`")
        if op == "/" and b == 0:
            self.fail("division by zero")
        return ARITHMETIC[op](Fraction(a), b)


def _text(value) -> str:
    if isinstance(value, tuple):
        return "×".join(_text(v) for v in value)
    value = Fraction(value)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{value.numerator}/{value.denominator} (≈ {float(value):.6g})"


def check_block(path: Path, block: Block) -> list[ClaimError]:
    """The claims of one block that do not hold or cannot be read."""
    try:
        report = Report(printed(str(path), block.sets))
        runs = claims(tokens(block, report))
    except ClaimError as err:
        return [ClaimError(err.line or block.lines[0][0], str(err))]
    context: dict = {}
    found = []
    for run in runs:
        if not any(tok.kind in ("number", "quote") for tok in run):
            # prose: checks nothing, but a column it names is the column of the row labels after it
            context.update(column=next((t.text for t in reversed(run) if t.value == "column"),
                                       context.get("column")))
            continue
        try:
            Claim(run, report, context).check()
        except ClaimError as err:
            found.append(err)
    return found


def problems(path: Path, text: str | None = None) -> list[str]:
    """Every failing claim of a config (read from ``text`` if given), as ``configs/NAME.yaml:LINE: message``."""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        blocks = expected_blocks(path.read_text(encoding="utf-8") if text is None else text)
    except ClaimError as err:
        return [f"{where}:{err.line}: {err}"]
    if not blocks:
        return [f"{where}:1: no `# Expected` block in the header (configs/README.md)"]
    return [f"{where}:{err.line}: {err}" for block in blocks for err in check_block(path, block)]


# ---- the shipped configs ----------------------------------------------------------------------------------------
def test_the_shipped_configs_are_all_here():
    assert {"resnet50.yaml", "alexnet_bvlc.yaml", "variants/deformable.yaml"} <= set(IDS) and len(IDS) >= 39


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
def test_every_expected_number_is_what_analyze_prints(path):
    found = problems(path)
    assert not found, "\n".join(found)


WRITTEN_NUMBER = re.compile(rf"{STANDALONE.pattern}(?![A-Za-z0-9_])|(?<![A-Za-z_])[{SUPERSCRIPTS}]+")


def _edits(number: str):
    """A few edits of one written number: the last digit moved by one, a 9 put before it, the last digit dropped;
    an exponent swapped."""
    if number[0] in SUPERSCRIPTS:
        yield "³" if number == "²" else "²"
        return
    yield number[:-1] + str((int(number[-1]) + 1) % 10)
    yield "9" + number
    if len(number) > 1 and number[-2].isdigit():
        yield number[:-1]


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
def test_no_expected_number_goes_unread(path):
    """Edit any number of an Expected block (a count, an operand, an exponent, a --set value, a quoted figure) and
    the check above fails."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    unread = []
    for block in expected_blocks(text):
        for number, _ in block.lines:
            line = lines[number - 1]
            cited = [span.span() for span in CITATION.finditer(line)]
            for match in WRITTEN_NUMBER.finditer(line):
                if any(start <= match.start() < end for start, end in cited):
                    continue  # a year or a table number of a source: by design, nothing checks it
                edited = (line[:match.start()] + edit + line[match.end():] for edit in _edits(match.group()))
                if not any(problems(path, "".join(lines[:number - 1] + [e] + lines[number:])) for e in edited):
                    unread.append(f"{path.relative_to(ROOT)}:{number}: `{match.group()}` can change unnoticed")
    assert not unread, "\n".join(unread)


# ---- the checker, on a tiny spec --------------------------------------------------------------------------------
TINY = """\
input: [1, 5, 5]
vars: {width: 2}
layers:
  - {type: conv, name: c1, out: width, kernel: 3}
  - {type: relu}
"""
# c1: 1 → 2 channels, 3×3 valid on 5×5: output 2×3×3; params 2·9 + 2 = 20; MACs 2·3²·9 = 162; RF 3, jump 1.
# With width 4: params 4·9 + 4 = 40.


@pytest.mark.parametrize("header, error", [
    ("# Expected: params 20 = 2·9 + 2; c1 MACs 162 = 2·3²·9; c1 output 2×3×3; RF: c1 3; jump: c1 1.", None),
    ("# Expected (a note): input 1×5×5; conv params 20; relu1 output 2×3×3 = c1 output.", None),
    ("# Expected: MACs 162 (exactly); \"0.16 K\" ≈ MACs/10³; \"16.2%\" ≈ MACs/1,000; 1/3 ≈ 0.333; 3 < 4 > 2.", None),
    ("# Expected with `--set width=4`: params 40 = 4·9 + 4.", None),
    ("# Expected with `--set depth=4`: params 20.", "`convcalc analyze` fails"),
    ("# Expected:\n#   params 20 = c1 +\n#     relu1.", None),
    ("# Expected: params 21.", "the report prints total params 20, the header says 21"),
    ("# Expected: c1 MACs 162 = 2·3·9.", "162 = 54 is false"),
    ("# Expected: params 20 and 7 more.", "neither labelled nor in a relation"),
    ("# Expected: cnv1 162.", "neither labelled nor in a relation"),
    ("# Expected: 20 params.", "a label goes before its number"),
    ("# Expected: MACs 162, \"0.2 K\" in short.", "a quoted figure must be related"),
    ("# Expected: \"0.17 K\" ≈ MACs/10³.", "rounds to 4/25"),
    ("# Expected: params 20 (of 7 kinds).", "a bracketed aside holds a number"),
    ("# Expected: params 20, about 20K.", "a number glued to letters"),
    ("# Expected: `padding: 1` then params 20.", "a number in code"),
    ("# Expected [Smith 2019, Tables 4, 6 and 7, Fig. 2, §3.1]: params 20.", None),
    ("# Expected [Smith 2019, 7 layers]: params 20.", "a citation names its source by years, tables and figures"),
    ("# Expected: c1 20.", "needs a column named before it"),
    ("# Expected: c1 output 2×3×3 = 18.", "shapes are compared with shapes"),
    ("# Expected: MACs 162 = 2×81.", "shapes are compared with shapes"),
    ("# Expected: c1 RF 3 > 2 ≈ 2.", "needs a written figure on exactly one side"),
    ("# Expected: total output 2×3×3.", "prints no output for `total`"),
    ("# Expected params 20.", "write `# Expected:`"),
    ("# Expectedly: params 20.", "write `# Expected:`"),
    ("# A header without expectations.", "no `# Expected` block"),
])
def test_the_checker_reads_headers_as_documented(tmp_path, header, error):
    path = tmp_path / "tiny.yaml"
    path.write_text("# Tiny.\n" + header + "\n" + TINY, encoding="utf-8")
    found = problems(path)
    assert (found == []) if error is None else (found and error in found[0] and found[0].startswith(f"{path}:")), found


def test_a_block_ends_at_the_first_line_that_is_not_indented(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("# Tiny.\n# Expected: params 20.\n# Not part of it: 7 of 9.\n#   nor this 5.\n" + TINY)
    assert problems(path) == []
    path.write_text("# Tiny.\n# Expected: params 20,\n#   and 7 of 9.\n" + TINY)
    assert [problem.split(": ", 1)[0] for problem in problems(path)] == [f"{path}:3"] * 2
