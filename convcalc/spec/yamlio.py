"""Safe YAML loading that remembers where every value came from.

The plain YAML most specs are written in is read by convcalc.spec.fastyaml, which builds the same values and
marks as this module without importing PyYAML. Everything else, and every error, is read here: PyYAML (with
libyaml when available) composes the node tree, and we build the values (convcalc.spec.yamlvalues) ourselves so
that

* mappings become :class:`YMap` and sequences :class:`YList`, both carrying the :class:`Mark` of themselves, of
  each key and of each value (the pattern of cfn-lint's ``decode/cfn_yaml.py``);
* a duplicate key is an error with its line and column instead of a silent overwrite;
* any tag outside the YAML core schema (``!!python/object`` and friends) is refused;
* floats become exact :class:`fractions.Fraction` values read from their decimal text, so ``0.1`` is exactly
  1/10 and no count is ever touched by binary rounding;
* booleans remember the word the user wrote, so ``out: yes`` can be reported as "the YAML boolean `yes`";
* YAML 1.1's surprising implicit numbers stay the text the user wrote: ``010`` (octal 8 in YAML 1.1) and
  ``1:30`` (sexagesimal 90) are strings, which a numeric field then reads as an expression and rejects; a date
  such as ``2001-12-14`` is a :class:`YDate`, text that never evaluates as arithmetic (it would give 1975).
"""

from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any

from ..errors import Mark, SpecError
from .yamlvalues import SCALAR_TAGS, YBool, YDate, YList, YMap, _resolve, mark_dict, scalar_value  # noqa: F401

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = _CORE + "str", _CORE + "int", _CORE + "float"
_MAP, _SEQ, _MERGE = {_CORE + "map"}, {_CORE + "seq"}, _CORE + "merge"
_TEXT_TAGS = (_CORE + "binary", "!")


def _mark(node, filename: str) -> Mark:
    return Mark(filename, node.start_mark.line + 1, node.start_mark.column + 1)


def load_yaml(text: str, filename: str) -> Any:
    """Parse ``text`` into YMap/YList/scalars. Raises :class:`SpecError` for syntax errors and unsafe input."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        return _load_yaml(text, filename)
    finally:
        sys.setrecursionlimit(limit)


def _load_yaml(text: str, filename: str) -> Any:
    if os.environ.get(YAML_ENV) not in ("python", "libyaml"):
        from .fastyaml import read

        value = read(text, filename)
        if value is not None:
            return value
    import yaml

    pure = not issubclass(_loader_class(yaml), getattr(yaml, "CSafeLoader", ()))
    deepest = _deepest(text, filename) if pure else None
    if deepest is not None:  # refused before PyYAML's pure-Python scanner, whose cost grows with depth × tokens
        raise SpecError(f"the YAML nests more than {MAX_NESTING:,} levels deep", deepest,
                        "no spec needs that many; flatten the lists or mappings")
    try:
        loader = _loader_class(yaml)(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is not None:
            _check_nesting(node, filename)
    except RecursionError:  # PyYAML's pure-Python composer recurses once per level, before any check of ours
        raise SpecError(f"the YAML nests more than {MAX_NESTING:,} levels deep",
                        _deepest(text, filename) or Mark(filename, 1, 1),
                        "no spec needs that many; flatten the lists or mappings") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(filename, mark.line + 1, mark.column + 1) if mark else Mark(filename, 1, 1)
        raise SpecError(f"YAML syntax error: {exc.problem or exc.context}", where,
                        "check the indentation and quoting around this position") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", Mark(filename, 1, 1), "fix the YAML syntax") from None
    if node is None:
        raise SpecError("the spec is empty", Mark(filename, 1, 1),
                        "write at least `input:` and `layers:` (see docs/spec.md)")
    builder = _Builder(filename)
    if pure:
        builder.text = text  # the pure-Python reader: its empty flow values are re-marked as libyaml marks them
        _refuse_surrogates(node, filename)
    return builder.build(node)


#: collections inside collections at most: libyaml refuses more than 1,000 levels of flow nesting itself, and the
#: pure-Python reader and the builder recurse once or more per level, so both readers stop at the same depth
MAX_NESTING = 1000
_RECURSION_LIMIT = 20 * MAX_NESTING  # frames for reading MAX_NESTING levels with PyYAML's pure-Python composer


def _check_nesting(root, filename: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_NESTING` (a walk without recursion), at its deepest node."""
    stack = [(root, 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if type(node.value) is str or id(node) in seen:  # a scalar, or an alias already walked
            continue
        seen.add(id(node))
        if depth >= MAX_NESTING:
            raise SpecError(f"the YAML nests more than {MAX_NESTING:,} levels deep", _mark(node, filename),
                            "no spec needs that many; flatten the lists or mappings")
        children = node.value if type(node).__name__ == "SequenceNode" else \
            [part for pair in node.value for part in pair]
        stack.extend((child, depth + 1) for child in children)


def _deepest(text: str, filename: str) -> Mark | None:
    """Where flow brackets first nest :data:`MAX_NESTING` deep (outside quotes and comments, as libyaml counts its
    flow levels), or None when none is that deep."""
    depth, line, column, quote, comment_may_start = 0, 1, 1, "", True
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth >= MAX_NESTING:
                return Mark(filename, line, column)
        elif char in "]}":
            depth -= 1
        elif char == "#" and comment_may_start:
            quote = "\n"  # a comment runs to the end of its line
        if char == "\n":
            line, column = line + 1, 1
        else:
            column += 1
        comment_may_start = char in " \t\n"
    return None


def _refuse_surrogates(root, filename: str) -> None:
    """libyaml refuses a ``\\uD800``…``\\uDFFF`` escape (a UTF-16 surrogate, no character by itself, and not
    joined with its pair); the pure-Python reader keeps it as a lone surrogate, which no encoder can write. Refuse it
    on both paths alike."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if type(node.value) is not str:
            if id(node) not in seen:
                seen.add(id(node))
                stack.extend(node.value if type(node).__name__ == "SequenceNode" else
                             [part for pair in node.value for part in pair])
            continue
        value = node.value
        if any("\ud800" <= char <= "\udfff" for char in value):
            raise SpecError("YAML syntax error: found invalid Unicode character escape code (a UTF-16 surrogate, "
                            "`\\uD800`…`\\uDFFF`)", _mark(node, filename),
                            "write the character itself, or its `\\U0001F600` escape")


#: set to ``python`` to read YAML with PyYAML's pure-Python parser even where libyaml's C parser is available, or to
#: ``libyaml`` for libyaml's alone (the error tests run on every path: tests/spec/test_yaml_paths.py); anything else,
#: or unset, reads with convcalc.spec.fastyaml and, for what it leaves, libyaml when present
YAML_ENV = "CONVCALC_YAML"
_LOADERS: dict = {}
_MEMO_LIMIT = 200_000  # plain scalars remembered at most (a 100,000-layer spec has about that many distinct words)


def _loader_class(yaml):
    """PyYAML's safe loader (libyaml's C parser and composer when available and not turned off with
    ``CONVCALC_YAML=python``) with a cheaper resolver. Same tags, same schema:

    * implicit-tag resolution is memoised per plain scalar's text: a spec repeats the same few words and numbers
      (`conv`, `3`, `true`) thousands of times, and PyYAML tries its regular expressions on every occurrence;
    * a quoted or explicitly tagged scalar is a string and a collection is a map or a seq, as PyYAML's resolver
      decides when no path resolvers are registered (convcalc registers none), without its general walk;
    * the per-node path-resolver bookkeeping (``descend_resolver``/``ascend_resolver``) is skipped for the same
      reason: with no path resolvers PyYAML's own versions return at once, after an attribute check per node.
    """
    base = yaml.SafeLoader if os.environ.get(YAML_ENV) == "python" else getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = _LOADERS.get(base)
    if loader is None:
        loader = _LOADERS[base] = _make_loader(yaml, base)
    return loader


def _make_loader(yaml, base):
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode
    general = base.resolve
    str_tag, seq_tag, map_tag = base.DEFAULT_SCALAR_TAG, base.DEFAULT_SEQUENCE_TAG, base.DEFAULT_MAPPING_TAG
    plain: dict = {}  # text of a plain scalar → its implicit tag

    class Loader(base):
        def resolve(self, kind, value, implicit):
            if kind is scalar:
                if not implicit[0]:  # quoted, or tagged `!`: never an implicit int/bool/null…
                    return str_tag
                tag = plain.get(value)
                if tag is None:
                    if len(plain) >= _MEMO_LIMIT:
                        plain.clear()
                    tag = plain[value] = general(self, kind, value, implicit)
                return tag
            return seq_tag if kind is sequence else map_tag

        def descend_resolver(self, current_node, current_index):
            pass

        def ascend_resolver(self):
            pass

    if base.yaml_path_resolvers:  # someone registered path resolvers on PyYAML's classes: keep PyYAML's walk
        return base
    return Loader


class _Builder:
    #: the YAML text when it was read by PyYAML's pure-Python parser, else None (see :meth:`_empty_flow_value`)
    text: str | None = None

    def __init__(self, filename: str):
        self.filename = filename
        self.memo: dict[int, Any] = {}  # aliases share one value, so an alias bomb costs nothing
        self.building: set[int] = set()  # collections being built: an alias to one of them is a cycle

    def build(self, node):
        if type(node.value) is str:  # a scalar node: most nodes; immutable values, so an alias needs no memo
            return self._scalar(node)
        key = id(node)
        value = self.memo.get(key)
        if value is None:
            if key in self.building:
                # the alias shares the anchored node, so the position is the anchor's (PyYAML keeps no other)
                raise SpecError("this anchored collection contains an alias to itself", _mark(node, self.filename),
                                "an alias (`*name`) can only repeat an anchored value defined before and outside it")
            self.building.add(key)
            kind = type(node).__name__
            value = self.memo[key] = self._mapping(node) if kind == "MappingNode" else self._sequence(node)
            self.building.discard(key)
        return value

    def _check_tag(self, node, allowed):
        if node.tag not in allowed:
            raise SpecError(f"YAML tag `{node.tag}` is not allowed", _mark(node, self.filename),
                            "convcalc reads plain (safe) YAML only; remove the tag")

    def _mapping(self, node) -> YMap:
        if node.tag not in _MAP:
            self._check_tag(node, _MAP)
        values: dict = {}
        key_marks: dict = {}  # PyYAML's marks, converted by key_mark()/mark_of() when needed
        value_marks: dict = {}
        merged: list[YMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _STR:  # a plain key (almost all): no need for the general path
                key = key_node.value
            elif key_node.tag == _MERGE:
                source = self.build(value_node)
                sources = source if isinstance(source, list) else [source]
                for item in sources:
                    if not isinstance(item, YMap):
                        raise SpecError("`<<` must merge a mapping", _mark(value_node, self.filename),
                                        "use `<<: *anchor` with an anchored mapping")
                    merged.append(item)
                continue
            elif key_node.tag in SCALAR_TAGS and type(key_node.value) is str:
                # A key is a name: `on:`, `1.0:`, `0x10:`, `~:` or `2026-01-01:` means the text written, not a
                # boolean, number, null or date (a spec named `1_0` is not 10), so messages quote it as written.
                # Only an empty key (`&block:` anchors an empty key) stays None: nothing was written.
                key = key_node.value or None
            else:
                key = self.build(key_node)
                if isinstance(key, (YMap, YList)):
                    raise SpecError("a mapping key must be a plain value", _mark(key_node, self.filename),
                                    "use a name as the key")
            if key in values:
                first = _resolve(key_marks, key, self.filename)
                raise SpecError(f"duplicate key `{key}` (first defined at line {first.line})",
                                _mark(key_node, self.filename), "remove or rename one of the two")
            text = value_node.value
            if type(text) is not str:  # a collection
                values[key] = self.build(value_node)
            elif value_node.tag == _STR:  # a plain string value (most values: `conv`, `relu`, names): no call
                values[key] = text
            elif value_node.tag == _INT and text.isdigit() and text.isascii() and len(text) <= 100 and \
                    (len(text) == 1 or text[0] != "0"):
                values[key] = int(text)  # a plain decimal (the next most), as _scalar reads it
            else:
                values[key] = self._scalar(value_node)
            key_marks[key] = key_node.start_mark
            value_marks[key] = value_node.start_mark
            if self.text is not None and text == "" and node.flow_style and value_node.style is None:
                value_marks[key] = self._empty_flow_value(value_node.start_mark)
        for source in merged:  # explicit keys win over merged ones, as in YAML's merge-key spec
            for key, value in source.items():
                if key not in values:
                    values[key] = value
                    key_marks[key] = source.key_mark(key)
                    value_marks[key] = source.mark_of(key)
        out = YMap(values)
        out.mark, out.key_marks, out.value_marks = _mark(node, self.filename), key_marks, value_marks
        return out

    def _empty_flow_value(self, mark) -> Mark:
        """Where libyaml marks an empty value in a flow mapping (``{name: }``): at the next token, past blanks,
        line breaks and comments; PyYAML's pure-Python parser marks the end of the ``:`` instead. So an error about
        the value has one position whichever parser read the spec."""
        text, index, line, column = self.text, mark.index, mark.line, mark.column
        while index < len(text):
            char = text[index]
            if char in " \t":
                column += 1
            elif char == "\n" or (char == "\r" and text[index + 1:index + 2] != "\n"):
                line, column = line + 1, 0
            elif char == "\r":  # the \r of \r\n: the \n counts the break
                pass
            elif char == "#":  # a comment runs to the end of its line
                while index + 1 < len(text) and text[index + 1] not in "\r\n":
                    index += 1
            else:
                break
            index += 1
        return Mark(self.filename, line + 1, column + 1)

    def _sequence(self, node) -> YList:
        if node.tag not in _SEQ:
            self._check_tag(node, _SEQ)
        out = YList([item.value if item.tag == _STR and type(item.value) is str else self.build(item)
                     for item in node.value])
        out.mark = _mark(node, self.filename)
        out.item_marks = [item.start_mark for item in node.value]
        return out

    def _scalar(self, node):
        tag, text = node.tag, node.value
        if tag == _STR or tag in _TEXT_TAGS:
            return text
        if tag == _INT and text.isascii() and text.isdigit() and (len(text) == 1 or text[0] != "0") and \
                len(text) <= 100:
            return int(text)  # a plain decimal within the bound (docs/spec.md, "Limits"): most ints
        if tag not in SCALAR_TAGS:
            self._check_tag(node, set())
        return scalar_value(tag, text, _mark(node, self.filename))


