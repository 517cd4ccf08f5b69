"""Safe YAML loading that remembers where every value came from.

PyYAML (with libyaml when available) composes the node tree; we build the values ourselves so that

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
from fractions import Fraction
from typing import Any

from ..errors import Mark, SpecError
from ..limits import check_literal_digits, check_number, decimal_value, shorten

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = _CORE + "str", _CORE + "int", _CORE + "float"
_MAP, _SEQ, _MERGE = {_CORE + "map"}, {_CORE + "seq"}, _CORE + "merge"
_TEXT_TAGS = (_CORE + "binary", "!")


def _resolve(marks, key, file: str) -> Mark:
    """``marks[key]`` as a :class:`Mark`. The loader stores PyYAML's own (0-based) marks and converts one only when
    it is asked for (a spec has one per key and value, and most are never looked at), then keeps the result: a
    repeated block asks for the same marks once per repetition."""
    raw = marks[key]
    if not isinstance(raw, Mark):  # PyYAML's mark, or (line, column) from convcalc.spec.fastyaml; both 0-based
        raw = marks[key] = Mark(file, raw[0] + 1, raw[1] + 1) if type(raw) is tuple else \
            Mark(file, raw.line + 1, raw.column + 1)
    return raw


def _read_only(self, *args, **kwargs):
    raise TypeError(f"a spec read by convcalc is read-only (its expansion is reused while it is unchanged); "
                    f"copy it to change it: {'dict' if isinstance(self, dict) else 'list'}(value)")


class YMap(dict):
    """A mapping with the marks of itself, its keys and its values. Read-only once built, like :class:`YList`: a
    parsed spec cannot change under the expansions remembered for it (:meth:`convcalc.spec.loader.Network.expand`)."""

    mark: Mark
    key_marks: dict
    value_marks: dict

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def mark_of(self, key) -> Mark:
        return _resolve(self.value_marks, key, self.mark.file) if key in self.value_marks else self.mark

    def key_mark(self, key) -> Mark:
        return _resolve(self.key_marks, key, self.mark.file) if key in self.key_marks else self.mark

    def __reduce__(self):  # pickle rebuilds it without __setitem__, which a read-only mapping refuses
        return _rebuilt_map, (dict(self), self.__dict__)


class YList(list):
    """A sequence with the marks of itself and of each item. Read-only once built."""

    mark: Mark
    item_marks: list

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = sort = \
        reverse = _read_only

    def mark_of(self, index: int) -> Mark:
        return _resolve(self.item_marks, index, self.mark.file) if index < len(self.item_marks) else self.mark

    def __reduce__(self):  # pickle rebuilds it without append, which a read-only list refuses
        return _rebuilt_list, (list(self), self.__dict__)


def _rebuilt_map(items: dict, attributes: dict) -> YMap:
    mapping = YMap()
    dict.update(mapping, items)
    mapping.__dict__.update(attributes)
    return mapping


def _rebuilt_list(items: list, attributes: dict) -> YList:
    sequence = YList()
    list.extend(sequence, items)
    sequence.__dict__.update(attributes)
    return sequence


class YDate(str):
    """An unquoted YAML timestamp (``2001-12-14``), kept as its text; expressions refuse it."""


class YBool(int):
    """A YAML boolean that remembers its spelling (``yes``, ``on``, ``true`` …). Compares equal to 0/1."""

    word: str

    def __new__(cls, value: bool, word: str):
        obj = super().__new__(cls, bool(value))
        obj.word = word
        return obj

    def __getnewargs__(self):  # pickle (sweeps send a parsed spec to worker processes) keeps the spelling
        return bool(self), self.word

    def __repr__(self) -> str:
        return "true" if self else "false"

    def __bool__(self) -> bool:
        return int(self) != 0


def mark_dict(data: dict, mark: Mark) -> YMap:
    """Wrap a plain dict (from the Python API) so the loader can treat it like parsed YAML."""
    if isinstance(data, YMap):
        return data
    out = YMap({key: _mark_plain(value, mark) for key, value in data.items()})
    out.mark, out.key_marks, out.value_marks = mark, {}, {}
    return out


def _mark_plain(value, mark: Mark):
    if isinstance(value, dict):
        return mark_dict(value, mark)
    if isinstance(value, (list, tuple)):
        out = YList(_mark_plain(v, mark) for v in value)
        out.mark, out.item_marks = mark, []
        return out
    if isinstance(value, bool):
        return YBool(value, "true" if value else "false")
    if isinstance(value, float):
        if value - value != 0:
            raise SpecError(f"{value} is not a finite number", mark, "use a finite number")
        return check_number(Fraction(repr(value)), mark, "the number")
    if isinstance(value, int):
        return check_number(value, mark, "the integer")
    return value


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
            else:
                key = self.build(key_node)
                if isinstance(key, (YMap, YList)):
                    raise SpecError("a mapping key must be a plain value", _mark(key_node, self.filename),
                                    "use a name as the key")
                if isinstance(key, YBool):
                    key = key.word  # `on:`/`yes:` as a key means the word, not a boolean
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
        if tag not in _SCALAR_TAGS:
            self._check_tag(node, set())
        return scalar_value(tag, text, _mark(node, self.filename))


_SCALAR_TAGS = {_INT, _FLOAT, _CORE + "timestamp", _CORE + "bool", _CORE + "null"}


def scalar_value(tag: str, text: str, mark: Mark):
    """The value of a scalar of one of the YAML core schema's tags (str, int, float, bool, null, timestamp), as
    convcalc reads it; ``mark`` is where it was written (for the error of a number out of bounds)."""
    if tag == _STR:
        return text
    if tag == _INT:
        if text.isascii() and text.isdigit() and (len(text) == 1 or text[0] != "0") and len(text) <= 100:
            return int(text)
        if _yaml11_only(text):
            return text
        return _parse_int(text, mark)
    if tag == _FLOAT:
        if _yaml11_only(text):
            return text
        return _parse_float(text, mark)
    if tag == _CORE + "timestamp":
        return YDate(text)
    if tag == _CORE + "bool":
        return YBool(text.lower() in ("yes", "true", "on", "y"), text)
    if tag == _CORE + "null":
        return None
    raise ValueError(f"not a core-schema scalar tag: {tag}")


def _yaml11_only(text: str) -> bool:
    """A number only YAML 1.1 reads as one, and not as a person would: sexagesimal ``1:30`` (90) or a leading-zero
    octal ``010`` (8). ``0x``, ``0o`` and ``0b`` prefixes mean what they say and stay numbers."""
    digits = text.replace("_", "").lstrip("+-")
    return ":" in digits or (len(digits) > 1 and digits[0] == "0" and digits[1].isdigit())


_BASES = {"0b": 2, "0x": 16, "0o": 8}


def _parse_int(text: str, mark: Mark) -> int:
    """A YAML integer (decimal, ``0x``, ``0o``, ``0b``; ``_`` separators), within the bound of
    :mod:`convcalc.limits`: its digits are counted before it is converted."""
    cleaned = text.replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("+-")
    base = _BASES.get(cleaned[:2].lower(), 10)
    digits = cleaned[2:] if base != 10 else cleaned
    check_literal_digits(digits, base, text, mark, "the integer")
    try:
        value = sign * int(digits, base)
    except ValueError:
        raise SpecError(f"cannot read `{shorten(text)}` as an integer", mark, "write a plain whole number") from None
    return check_number(value, mark, "the integer")


def _parse_float(text: str, mark: Mark):
    cleaned = text.replace("_", "").lower()
    if cleaned.lstrip("+-") in (".inf", ".nan"):
        raise SpecError(f"`{text}` is not a finite number", mark, "use a finite number")
    try:
        return decimal_value(cleaned, mark)
    except ValueError:
        raise SpecError(f"cannot read `{shorten(text)}` as a number", mark, "write a plain decimal number") from None
