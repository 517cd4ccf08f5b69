"""What ``convcalc explain`` prints: a kind's formulas worked through its example, or one layer's numbers.

Every formula comes from the kind's own counting code evaluated with the symbolic quantities of
:mod:`convcalc.layers.formula`: the printed formula, the worked arithmetic and the number are one definition. The
worked arithmetic is evaluated here once more (:func:`evaluate_worked`) and must equal the number the analysis
reports; a difference is a bug in the printer, raised as such, never shown.

The module is long because every form of `explain` (a kind, a layer, an algorithm, the conventions, the list)
shares its layout and checks here, one printer for all.
"""

from __future__ import annotations

import ast
from fractions import Fraction

from ..errors import KINDS_LISTING, SpecError, did_you_mean, shorten
from ..numbers import fmt_axes, fraction_text

#: the counts and how their lines are labelled
COUNTS = (("params", "params"), ("buffers", "buffers"), ("macs", "MACs"), ("flops", "FLOPs"))
WIDTH = 8  # the label column: "params: "
CONVENTIONS = "counting conventions: docs/flops.md (`convcalc explain --flops`); derivations: docs/variants.md"


# ---- checking the worked arithmetic ---------------------------------------------------------------------------
def evaluate_worked(text: str) -> Fraction:
    """The value of a worked formula (ints, ``·``, ``×``, ``+``, ``−``, ``/``, ``floor(…)``, ``ceil(…)``,
    parentheses), exactly."""
    plain = text.replace("·", "*").replace("×", "*").replace("−", "-").replace(",", "")
    return _value(ast.parse(plain, mode="eval").body)


def _value(node) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        ops = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
               ast.Div: lambda: left / right}
        if type(node.op) in ops:
            return ops[type(node.op)]()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("floor", "ceil") \
            and len(node.args) == 1:
        inner = _value(node.args[0])
        whole = inner.numerator // inner.denominator
        return Fraction(whole if node.func.id == "floor" or inner.denominator == 1 else whole + 1)
    raise ValueError(f"not a worked formula: {ast.dump(node)}")


def checked(term, expected, what: str) -> str:
    """The worked text of ``term``, after checking that it and the term both equal ``expected``."""
    text = term.worked() if hasattr(term, "worked") else str(term)
    value = evaluate_worked(text)
    if value != expected or getattr(term, "value", term) != expected:
        raise AssertionError(f"{what}: the worked formula {text} = {value}, the term {term!r}, but the analysis "
                             f"gives {expected}")
    return text


# ---- pieces ------------------------------------------------------------------------------------------------------
def kind_class(kind: str):
    from ..layers import REGISTRY

    if kind not in REGISTRY:
        raise SpecError(f"unknown layer kind `{kind}`", None, did_you_mean(kind, REGISTRY, KINDS_LISTING))
    return REGISTRY[kind]


def first_paragraph(cls) -> str:
    doc = (cls.__doc__ or "").strip()
    return terminal_text(" ".join(doc.split("\n\n")[0].split()))


def terminal_text(text: str) -> str:
    """A docstring's reStructuredText as a terminal shows it: ````x```` → ```x``` (the quoting of every other
    message), and a paragraph's closing ``::`` (a literal block follows in the docstring) → ``:``, or nothing
    after a space (``text ::``), as Sphinx renders them."""
    import re

    text = re.sub(r"``(.+?)``", r"`\1`", text)
    if text.endswith("::"):
        text = text[:-3].rstrip() if text.endswith(" ::") else text[:-1]
    return text


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def fmt_tuple(shape) -> str:
    shape = list(shape)
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(s) for s in shape) + ")"


def formula(term) -> str:
    """A count's formula: its symbolic form (a plain number for a constant count)."""
    return term.symbolic() if hasattr(term, "symbolic") else str(term)


def where_lines(term, indent: str, worked: bool = False, skip=("MACs",)) -> list[str]:
    """``where NAME = …`` for the named sub-terms of a formula (stages, k_eff, per-element costs), with their
    worked values when ``worked``; stages that count nothing are left out, and a note shared by several sub-terms
    is said once."""
    lines, said = [], set()
    for named in getattr(term, "definitions", lambda: [])():
        if named.name in skip or named.zero:
            continue
        text = f"{indent}where {named.name} = {named.term.symbolic()}"
        if worked and named.term.worked() != named.term.symbolic():
            text += f" = {named.term.worked()}"
            if named.term.worked() != str(named.value):
                text += f" = {named.value:,}"
        if named.note and named.note not in said:
            said.add(named.note)
            text += f"  ({named.note})"
        lines.append(text)
    return lines


def label(name: str) -> str:
    """``params: `` padded to the label column, at least one space after the colon."""
    return f"{name + ':':<{WIDTH - 1}} "


def shape_formula(layer, ins, q) -> str:
    """The shape rule as a formula (from the kind's ``shape_steps``), or its ``shape_rule`` in words."""
    steps = layer.shape_steps(ins, q)
    if steps is None:
        return layer.shape_rule
    if not steps.sizes:
        return f"({formula(steps.channels)},)"
    defs = [f"{d.name} = {d.term.symbolic()}" for d in _definitions(steps.sizes[0])]
    text = f"N_out = {formula(steps.sizes[0])} per axis"
    if defs:
        text += ", " + ", ".join(defs)
    return text + f"; channels {formula(steps.channels)}"


def _definitions(term):
    return getattr(term, "definitions", lambda: [])()


# ---- convcalc explain KIND -----------------------------------------------------------------------------------------
def kind_lines(kind: str) -> list[str]:
    """What ``convcalc explain KIND`` prints: fields, the formulas (from the kind's own code, evaluated
    symbolically on its example) and the example worked through them."""
    from ..cost.analysis import analyze
    from ..layers.formula import SYMBOLIC
    from ..spec.loader import load

    cls = kind_class(kind)
    lines = [f"{kind} — {cls.summary}", "", first_paragraph(cls), "", "fields:"]
    if not cls.fields:
        lines.append("  (none)")
    for name, field in cls.fields.items():
        default = "required" if field.required else f"default {_show(field.default)}"
        doc = f" — {field.doc}" if field.doc else ""
        lines.append(f"  {name}: {field.type_name}, {default}{doc}")
    from ..layers.base import own

    example = own(cls, "example")
    if example is None:
        return lines + ["", f"no example: `{kind}` declares none, so its formulas cannot be shown", "", CONVENTIONS]
    settings = [dict(example.fields)] + [{**example.fields, **also} for also in example.also]
    variants = []
    for fields in settings:
        graph = load(example.spec(kind, **{k: v for k, v in fields.items()})).expand()
        report = analyze(graph)
        variants.append((fields, graph, report, _instance(graph, kind)))
    lines += ["", "formulas:"]
    lines += _formula_lines(cls, variants, example, SYMBOLIC)
    fields, graph, report, (layer, ins) = variants[0]
    given = ", ".join(f"{k}: {_show(v)}" for k, v in example.fields.items())
    lines += ["", f"example: input {fmt_tuple(ins[0]) if len(ins) == 1 else ', '.join(map(fmt_tuple, ins))}"
              + (f"; {given}" if given else "") + f" → output {fmt_tuple(report.layers[-1].output_shape)}"]
    lines += _worked_lines(layer, ins, report.layers[-1], report.batch, "  ")
    lines += against_standard_lines(cls, layer, ins, report.layers[-1].output_shape)
    lines += ["", CONVENTIONS]
    return lines


def against_standard_lines(cls, layer, ins, out_shape) -> list[str]:
    """The cost of the designs this kind declares for ``convcalc compare`` against the standard conv of the same
    mapping: their closed forms (the kind's own, from the papers) with the example's numbers. None for a kind with
    no design, or whose example is no conv mapping."""
    from ..layers.base import own

    designs = own(cls, "designs")
    query = layer.conv_query(ins[0], out_shape, "") if designs is not None else None
    if query is None:
        return []
    lines = []
    for design in designs():
        args = [design.default_arg] if design.default_arg is not None else design.args(query)
        if design.reference or not args:
            continue
        built = design.build(query, args[0])
        if built.reason:
            continue
        params, macs, text = design.closed_form(query, args[0], tuple(out_shape[1:]), built.layers)
        ratios = [("params and MACs", params)] if params == macs else [("params", params), ("MACs", macs)]
        said = "; ".join(f"{what} {_ratio_text(value)}" for what, value in ratios)
        lines += [f"  {design.title(args[0])}: {text}", f"{' ' * (WIDTH + 2)}{said} of the standard conv"]
    if not lines:
        return []
    kernel = "×".join(map(str, query.kernel))
    return ["", f"against a standard conv of the same mapping ({query.c_in} → {query.c_out}, {kernel}), as "
                f"`convcalc compare --layer` builds each design (bias and the kind's other fields left out):"] \
        + lines


def _ratio_text(value: Fraction) -> str:
    """``13/36 ≈ 0.361 (×2.77 fewer)``."""
    text = f"{value.numerator}/{value.denominator} ≈ {float(value):.3g}" if value.denominator != 1 else str(value)
    return text + (f" (×{float(1 / value):.3g} fewer)" if 0 < value < 1 else "")


def _instance(graph, kind):
    """The kind's layer in an example graph (the last node), built, with its input shapes."""
    from ..cost.analysis import analyze
    from ..layers import REGISTRY

    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    node = graph.nodes[-1]
    return REGISTRY[node.kind](node), [shapes[name] for name in node.inputs]


def _formula_lines(cls, variants, example, q) -> list[str]:
    """One line per quantity; where the example's ``also`` settings give a different formula, one line per
    setting, each labelled with the fields that differ."""
    varied = list(dict.fromkeys(key for also in example.also for key in also))
    lines = []

    def label_of(fields):
        return ", ".join(f"{key}: {_show(fields.get(key, cls.fields[key].default))}" for key in varied)

    def emit(name, entries):
        seen = {}
        for text, term, fields in entries:
            seen.setdefault(text, (term, fields))
        said: set[str] = set()
        for index, (text, (term, fields)) in enumerate(seen.items()):
            tag = f"    ({label_of(fields)})" if len(seen) > 1 else ""
            lines.append(f"  {label(name) if index == 0 else ' ' * WIDTH}{text}{tag}")
            if term is not None:  # a definition said under an earlier setting is not repeated
                wheres = [line for line in where_lines(term, "  " + " " * WIDTH) if line not in said]
                said.update(wheres)
                lines.extend(wheres)

    emit("shape", [(shape_formula(layer, ins, q), None, fields) for fields, _, _, (layer, ins) in variants])
    for key, name in COUNTS:
        entries = []
        for fields, _, _, (layer, ins) in variants:
            term = getattr(layer.counts(ins, q), key)
            entries.append((formula(term), term, fields))
        if key == "buffers" and all(text == "0" for text, _, _ in entries):
            continue
        emit(name, entries)
    emit("RF", [(layer.rf_rule, None, fields) for fields, _, _, (layer, ins) in variants])
    return lines


def _worked_lines(layer, ins, row, batch: int, indent: str) -> list[str]:
    """The counts of one layer with its numbers: ``params = 6·(4/2)·3·3 + 6 = 114``, checked against ``row``."""
    from ..layers.formula import SYMBOLIC

    lines = []
    steps = layer.shape_steps(ins, SYMBOLIC)
    if steps is not None and steps.sizes:
        for axis, (size, expected) in enumerate(zip(steps.sizes, row.output_shape[1:])):
            text = checked(size, expected, f"{layer.kind} shape axis {axis}")
            lines.append(f"{indent}{label('shape') if axis == 0 else ' ' * WIDTH}axis {axis}: {text} = {expected}")
    counts = layer.counts(ins, SYMBOLIC)
    for key, name in COUNTS:
        expected = getattr(row, key) if key in ("params", "buffers") else getattr(row, key) // batch
        term = getattr(counts, key)
        if key == "buffers" and expected == 0:
            continue
        text = checked(term, expected, f"{layer.kind} {key}")
        shown = f"{text} = {expected:,}" if text != str(expected) else f"{expected:,}"
        lines.append(f"{indent}{label(name)}{shown}")
    return lines


# ---- convcalc explain SPEC --layer NAME --------------------------------------------------------------------------
def layer_lines(graph, report, name: str) -> list[str]:
    """What ``convcalc explain SPEC --layer NAME`` prints: each formula, the layer's numbers substituted, and the
    values the analysis reports (the substituted arithmetic is evaluated and checked against them)."""
    from ..layers import REGISTRY
    from ..layers.formula import SYMBOLIC

    nodes = {node.name: node for node in graph.nodes}
    if name not in nodes:
        hint = did_you_mean(name, nodes, f"`convcalc analyze {graph.source}` lists the layer names")
        raise SpecError(f"--layer `{shorten(name)}`: no layer of that name in {graph.name}", None, hint)
    node = nodes[name]
    row = next(layer for layer in report.layers if layer.name == name)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    ins = [shapes[i] for i in node.inputs]
    layer = REGISTRY[node.kind](node)
    batch = report.batch
    pad = " " * WIDTH
    lines = [f"layer `{name}` ({node.kind}): {layer.summary}",
             f"input {', '.join(fmt_tuple(s) for s in ins)} → output {fmt_tuple(row.output_shape)}"
             + (f", batch {batch}" if batch != 1 else ""), ""]
    lines += [f"{label('shape')}{shape_formula(layer, ins, SYMBOLIC)}"]
    steps = layer.shape_steps(ins, SYMBOLIC)
    for axis, size in enumerate(steps.sizes if steps is not None else []):
        expected = row.output_shape[1 + axis]
        lines += [f"{pad}axis {axis}: {checked(size, expected, f'{node.kind} shape axis {axis}')} = {expected}"]
    lines += [f"{pad}= {fmt_tuple(row.output_shape)}"]
    counts = layer.counts(ins, SYMBOLIC)
    for key, name in COUNTS:
        value = getattr(row, key)
        per_sample = value if key in ("params", "buffers") else value // batch
        term = getattr(counts, key)
        if key == "buffers" and per_sample == 0:
            continue
        text = checked(term, per_sample, f"{node.kind} {key}")
        lines += [f"{label(name)}{formula(term)}"]
        lines += where_lines(term, pad, worked=True)
        if text != str(per_sample):
            lines += [f"{pad}= {text}"]
        total = f"{per_sample:,}"
        if key not in ("params", "buffers") and batch != 1:
            total += f" per sample × batch {batch} = {value:,}"
        lines += [f"{pad}= {total}"]
    if sub_rows := row.details.get("sub_rows"):
        lines += ["", "stages (per sample):"]
        for sub in sub_rows:
            lines += [f"  {sub['name']:<14} {sub['type']:<16} {fmt_tuple(sub['output_shape']):<16} "
                      f"params {sub['params']:,}  MACs {sub['macs']:,}  FLOPs {sub['flops']:,}"]
    rf = row.rf
    lines += ["", f"{label('RF')}{layer.rf_rule}"]
    lines += [f"{pad}{step}" for step in layer.rf_steps([_field(graph, report, i) for i in node.inputs], ins)]
    lines += [f"{pad}= size {_axes(rf.size)}, jump {_axes(rf.jump)}, start {_axes(rf.start)}"
              + (" (position-dependent)" if rf.position_dependent else "")]
    for warning in row.warnings:
        lines.append(f"warning: {warning}")
    return lines


def _field(graph, report, name):
    """The receptive field of a layer's input, rebuilt from the report (identity at the network input)."""
    from ..cost.rf import ReceptiveField

    if name == graph.input_name:
        return ReceptiveField.identity(len(graph.input_shape) - 1)
    rf = next(layer.rf for layer in report.layers if layer.name == name)
    return ReceptiveField(tuple(rf.size), tuple(rf.jump), tuple(rf.center), rf.position_dependent)


def _axes(values) -> str:
    return fmt_axes(values, fraction_text)


# ---- convcalc explain --list / --flops -----------------------------------------------------------------------------
def list_lines() -> list[str]:
    from ..layers import REGISTRY

    width = max(len(kind) for kind in REGISTRY)
    return [f"{kind:<{width}}  {REGISTRY[kind].summary}" for kind in sorted(REGISTRY)]


def flops_lines() -> list[str]:
    from ..cost.conventions import FLOPS_DEFINITION, FLOPS_PER_ELEMENT, MACS_DEFINITION

    from ..cost.conventions import BACKWARD_FLOPS_DEFINITION, BACKWARD_FLOPS_PER_ELEMENT

    width = max(len(op) for op in FLOPS_PER_ELEMENT)
    lines = [MACS_DEFINITION, FLOPS_DEFINITION, ""]
    lines += [f"{op:<{width}}  {cost}  {what}" for op, (cost, what) in FLOPS_PER_ELEMENT.items()]
    width = max(len(op) for op in BACKWARD_FLOPS_PER_ELEMENT)
    lines += ["", BACKWARD_FLOPS_DEFINITION, ""]
    return lines + [f"{op:<{width}}  {cost:>2}  {what}" for op, (cost, what) in BACKWARD_FLOPS_PER_ELEMENT.items()]


def installed_doc(name: str) -> str:
    """The text of ``docs/NAME``, installed as package data (``convcalc.docs``) or read from the checkout."""
    import os

    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the convcalc package
    for directory in (os.path.join(here, "docs"), os.path.join(os.path.dirname(here), "docs")):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as stream:
                return stream.read()
    raise SpecError(f"docs/{name} is not installed with this copy of convcalc", None,
                    "reinstall convcalc (`pip install .`), or read docs/flops.md in its repository")


def conventions_lines() -> list[str]:
    """``convcalc explain conventions``: the "Peers' conventions" section of docs/flops.md (how --convention counts
    and why), then every kind's rule under each peer, from the kinds' own ``peer_rules`` tables."""
    from ..layers import REGISTRY
    from ..layers.peers import HEADLINE, PEERS, VERSIONS, rules_of

    text = installed_doc("flops.md")
    start = text.index("## Peers' conventions")
    end = text.find("\n## ", start + 1)
    lines = text[start:end if end > 0 else None].rstrip().splitlines()
    lines += ["", "## Every kind under each peer (from the kinds' peer_rules, convcalc/layers/*.py)"]
    for peer in PEERS:
        lines += ["", f"{peer} {VERSIONS[peer]}: {HEADLINE[peer]}"]
        by_why: dict[str, list[str]] = {}
        bugs, unmapped = [], []
        for kind in sorted(REGISTRY):
            rule = rules_of(REGISTRY[kind]).get(peer)
            if rule is None:
                unmapped.append(kind)
                continue
            by_why.setdefault(rule.why, []).append(kind)
            if rule.bug is not None:
                bugs.append(f"  --with-bugs, {kind}: {rule.bug.why}")
        lines += [f"  {', '.join(kinds)}: {why}" for why, kinds in by_why.items()]
        lines += bugs
        if unmapped:
            lines.append(f"  unmapped (left out of the total, with a warning): {', '.join(unmapped)}")
    return lines


# ---- the text, fitted to the terminal -------------------------------------------------------------------------------
class ExplainView:
    """What ``convcalc explain`` prints, as a document for the text emitter: piped (``width`` None) its lines as
    they are; fitted to a width, each line wraps by what it is (:mod:`convcalc.render.width`): a formula (it works
    something out, `` = ``) after its operators, under the start of the formula; a row of aligned columns (``kind
    summary``) under its last column; prose at word boundaries, two in. With ``markdown`` (a section of the docs),
    a paragraph's lines are joined before they wrap, and a table becomes a table (its rows as lines when it does not
    fit whole)."""

    def __init__(self, lines: list[str], width: int | None = None, markdown: bool = False):
        self.lines, self.width, self.markdown = lines, width, markdown

    def table(self):
        from .model import Document, Line

        if self.width is None:
            return Document([Line(text, "row") for text in self.lines], plain=True)
        return Document(fitted_blocks(self.lines, self.markdown), plain=True)


def fitted_blocks(lines: list[str], markdown: bool = False) -> list:
    """The blocks of explain's lines, each line told how it wraps (see :class:`ExplainView`)."""
    import re

    from .model import Line

    blocks: list = []
    rows: list[str] = []
    for text in (_paragraphs(lines) if markdown else lines) + [""]:
        if markdown and text.startswith("|"):
            rows.append(text)
            continue
        if rows:
            blocks.append(_markdown_table(rows))
            rows = []
        aligned = None if markdown else re.match(r"\s*\S+ {2,}(?=\S)", text)
        blocks.append(Line(text, "row", hang=aligned.end() if aligned else None,
                           formula=" = " in text and not markdown))
    return blocks[:-1]


def _paragraphs(lines: list[str]) -> list[str]:
    """Markdown lines with each paragraph (and each list item) on one line: headings, tables and blank lines kept."""
    out: list[str] = []
    joinable = False
    for text in lines:
        starts = not text.strip() or text.startswith(("#", "|", "* ", "- ")) or text[:1].isdigit() and ". " in text[:4]
        if joinable and not starts:
            out[-1] += " " + text.strip()
            continue
        out.append(text)
        joinable = bool(text.strip()) and not text.startswith(("#", "|"))
    return out


def _markdown_table(rows: list[str]):
    """A Markdown table (``| a | b |`` rows, the second the alignment row) as a folding table."""
    import re

    from .model import LEFT, RIGHT, Column, Table

    def cells(row: str) -> list[str]:
        return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]

    header, rule, body = cells(rows[0]), cells(rows[1]) if len(rows) > 1 else [], rows[2:]
    table = Table([Column(f"c{n}", name, RIGHT if align.endswith(":") else LEFT)
                   for n, (name, align) in enumerate(zip(header, rule + ["---"] * len(header)))], fold=True)
    for row in body:
        values = cells(row)
        table.add((values + [""] * len(header))[:len(header)])
    return table
