"""A fast reader for the plain YAML that specs are written in, with exactly PyYAML's values and marks.

Most specs use a small part of YAML: block mappings and block sequences indented with spaces, one-line flow
collections (``{type: conv, out: 64}``, ``[3, 224, 224]``), plain scalars, quoted strings without escapes, and
comments. :func:`read` reads that part in one pass over the lines, with no PyYAML node, event or mark object per
value (the costs that made PyYAML's libyaml-backed composer most of the time of a 10,000-layer spec), and without
importing PyYAML at all (a tenth of a second of start-up saved on every run is a third of ``analyze``'s).

It gives up — returns None, and :func:`convcalc.spec.yamlio.load_yaml` reads the text with PyYAML as before —
on anything else: an anchor, alias or tag, a block scalar (``|``, ``>``), a quoted string with an escape or over
several lines, a plain scalar over several lines, a flow collection over several lines, a complex or quoted key, a
merge key, an empty value, a duplicate key, a tab, a carriage return, a byte-order mark, a document marker, a
non-printable character, nesting deeper than :data:`MAX_DEPTH` — and on any value the scalar rules refuse. So it
never reports an error itself: every error, with its position, comes from the one reader that always has.

The line of a layer as specs write it (``- {type: conv, name: u0.conv, out: 64, inputs: [a, b]}``, one blank after
each ``:`` and ``,``) takes a quicker path still: one regular expression checks the line and str methods split it,
and the marks of its keys, values and list items are worked out from the line only when asked for (an error
message asks; the mapping's own mark is kept, every layer needs it).

Its results are the same objects PyYAML's path builds (:class:`~convcalc.spec.yamlio.YMap`,
:class:`~convcalc.spec.yamlio.YList`, the same scalars) with the same marks: a collection's mark is its first key
or ``-`` (block) or its bracket (flow), a scalar's its first character (its quote, when quoted), as libyaml marks
them. The implicit types of plain scalars are PyYAML's YAML 1.1 resolvers, copied below (``yaml/resolver.py``,
unchanged since PyYAML 3.x). tests/spec/test_fastyaml.py checks values and every mark against PyYAML on the shipped
configs, the docs' examples and generated documents.

The module is long because it is one reader: block and flow collections, scalars and their types, and the line
rules that decide what it leaves to PyYAML, which only make sense side by side.
"""

from __future__ import annotations

import re
from sys import intern

from ..errors import Mark, SpecError
from .yamlvalues import YBool, YList, YMap, _rebuilt_list, _rebuilt_map, scalar_value

#: collections inside collections at most on this path (deeper documents are read by PyYAML, which has the limit)
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _BOOL, _NULL = _CORE + "str", _CORE + "int", _CORE + "bool", _CORE + "null"
#: the longest key read here (YAML allows an implicit key of at most 1,024 characters; PyYAML checks that)
_KEY_CHARS = 1000
#: the implicit tags a value may take here; any other (merge `<<`, value `=`) is left to PyYAML's path
_VALUE_TAGS = {_STR, _INT, _BOOL, _NULL, _CORE + "float", _CORE + "timestamp"}

# PyYAML's implicit resolvers (yaml/resolver.py), in its order, each with the first characters it is tried for;
# compiled on first use (a spec of words and plain decimals never needs them: see plain_tag)
_RESOLVER_SOURCES = [
    (_BOOL, r'''^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$''', "yYnNtTfFoO"),
    (_CORE + "float", r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$''', "-+0123456789."),
    (_INT, r'''^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$''', "-+0123456789"),
    (_CORE + "merge", r'^(?:<<)$', "<"),
    (_NULL, r'''^(?: ~
                    |null|Null|NULL
                    | )$''', "~nN"),
    (_CORE + "timestamp", r'''^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$''', "0123456789"),
    (_CORE + "value", r'^(?:=)$', "="),
    (_CORE + "yaml", r'^(?:!|&|\*)$', "!&*"),
]
_RESOLVERS: list = []
#: PyYAML's bool and null words: the only implicit tags of a plain scalar that starts with a letter or `~`
_BOOL_WORDS = frozenset("yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF".split())
_NULL_WORDS = frozenset(("~", "null", "Null", "NULL"))
#: the first characters for which a resolver other than bool and null is registered
_NUMBER_FIRSTS = frozenset("-+0123456789.<=!&*")
_PLAIN_TAGS: dict[str, str] = {}  # plain scalar text → its implicit tag (a spec repeats a few words many times)
_MEMO_LIMIT = 200_000


_DIGITS = frozenset("0123456789")


def _decimal(text: str) -> bool:
    """Whether ``text`` is ASCII decimal digits without a leading zero, or ``0``: PyYAML's ``0|[1-9][0-9_]*`` without
    underscores (``07`` is octal and ``08`` a string: left to the patterns)."""
    return text.isdigit() and text.isascii() and (text[0] != "0" or text == "0")


def plain_tag(text: str) -> str:
    """The tag PyYAML's resolver gives the plain scalar ``text`` (``3`` → int, ``yes`` → bool, ``conv`` → str)."""
    tag = _PLAIN_TAGS.get(text)
    if tag is None:
        if not text:
            tag = _NULL  # an empty plain scalar (PyYAML's resolvers for "")
        elif text[0] not in _NUMBER_FIRSTS:  # a word: only the bool and null resolvers are registered for it
            tag = _BOOL if text in _BOOL_WORDS else _NULL if text in _NULL_WORDS else _STR
        elif _decimal(text) or (text[0] in "-+" and _decimal(text[1:])):
            tag = _INT  # a plain decimal, signed or not: no float, merge or timestamp pattern matches digits alone
        elif text[0] in _DIGITS and " " in text and not (text[:4].isdigit() and text[4:5] == "-"):
            tag = _STR  # an expression (`4 * mid`): of the patterns (verbose: their blanks are not literal) only a
            # timestamp's (`2001-12-14 21:59:43`) takes a blank, after four digits and a dash
        else:
            if not _RESOLVERS:
                _RESOLVERS.extend((tag, re.compile(source, re.X), firsts)
                                  for tag, source, firsts in _RESOLVER_SOURCES)
            tag = _STR
            for candidate, pattern, firsts in _RESOLVERS:
                if text[0] in firsts and pattern.match(text):
                    tag = candidate
                    break
        if len(_PLAIN_TAGS) >= _MEMO_LIMIT:
            _PLAIN_TAGS.clear()
        _PLAIN_TAGS[text] = tag
    return tag


#: words known to be plain keys, and plain scalar texts with their values, of simple flow mappings (see
#: _Reader.simple_mapping): a spec repeats a few of each thousands of times
_SIMPLE_KEYS: dict = {}
_SIMPLE_VALUES: dict = {}
_MISSING = object()


def _remember(memo: dict, key, value) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


class _GiveUp(Exception):
    """Outside the subset this reader takes: PyYAML reads the text instead."""


#: characters this reader never reads (PyYAML's non-printable set, tabs, carriage returns, NEL, line and paragraph
#: separators, the byte-order mark): a text holding one is read by PyYAML. Written as the class of those characters,
#: the complement of [^\x0A\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\U00010000-\U0010ffff] (the
#: same code points, tests/spec/test_fastyaml.py): the negated class, astral planes included, took 3 ms to compile
_UNREAD = "[\x00-\x09\x0B-\x1F\x7F-\x9F\u2028\u2029\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]"
_ASCII_READ = bytes(range(0x20, 0x7F)) + b"\n"
_UNREAD_COMPILED: list = []  # compiled on first use (0.4 ms): most specs are ASCII, or short
#: the characters of :data:`_UNREAD` but the surrogates, for a short text that is not ASCII
_UNREAD_CHARS = frozenset(map(chr, [*range(0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF,
                                    0xFFFE, 0xFFFF]))
_SHORT = 100_000  # characters: up to this, the set of a text's characters is quicker than compiling the class


def _readable(text: str) -> bool:
    """Whether ``text`` holds none of the characters of :data:`_UNREAD`."""
    if text.isascii():  # (a flag of the string: no scan) then only the control characters but `\n` are unread
        return not text.encode("ascii").translate(None, _ASCII_READ)  # deletes what is read: nothing must be left
    if len(text) <= _SHORT:  # a spec with a `×` in a comment: its few distinct characters, each looked at once
        chars = set(text)
        return chars.isdisjoint(_UNREAD_CHARS) and not any("\ud800" <= c <= "\udfff" for c in chars)
    if not _UNREAD_COMPILED:
        _UNREAD_COMPILED.append(re.compile(_UNREAD))
    return _UNREAD_COMPILED[0].search(text) is None


#: a block key: a plain word, then `:` and a space or the end of the line
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-/]*) *:(?= |$)")
#: a plain scalar inside a flow collection, up to the next flow indicator, `:` or `#` (trailing blanks trimmed)
_FLOW_PLAIN = re.compile(r"(?:[^\s{}\[\],:#&*!|>'\"%@`?\-]|-(?=[^\s{}\[\],:#]))[^{}\[\],:#]*")
#: what makes a one-line flow mapping more than `{key: value, …}` of plain words (see _Reader.simple_mapping)
_NOT_SIMPLE = re.compile(r"[{}\[\]\"'#]")
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*")
#: the first character of a plain scalar in block context (YAML's indicators may not start one)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")

# The quick path (_Reader.quick_mapping): the line of a layer as specs write it, `{type: conv, name: u0.conv, out: 64,
# inputs: [a, b], when: stride == 1}`, one blank after each `:` and `,`, checked by one regular expression and split
# with str methods. Keys are words starting with a letter or `_` (so their tag is str, or bool for `on`; a null word
# is refused); a value, or an item of a one-line list, is a plain scalar of letters, digits, blanks inside and
# `_.-/*+()=!<>%` (no character that could end it, start a comment or need quotes), starting with a letter, a digit,
# `_` or `(`; then the end of the line, or a comment after a blank. Anything else takes the general path.
_QUICK_TEXT = r"[A-Za-z0-9_(](?:[A-Za-z0-9_.\-/ *+()=!<>%]*[A-Za-z0-9_.\-/*+()=!<>%])?"
_QUICK_KEY = r"(?!(?:null|Null|NULL):)[A-Za-z_][A-Za-z0-9_.\-/]{0,%d}" % (_KEY_CHARS - 1)
_QUICK_PAIR_TEXT = rf"{_QUICK_KEY}: (?:{_QUICK_TEXT}|\[{_QUICK_TEXT}(?:, {_QUICK_TEXT})*\])"
_QUICK = re.compile(rf"\{{{_QUICK_PAIR_TEXT}(?:, {_QUICK_PAIR_TEXT})*\}}(?: *| +#.*)")
#: a key and its value (a scalar, or a list's brackets and all) in a line _QUICK accepted; the groups start where
#: PyYAML marks them
_QUICK_PAIR = re.compile(r"([^ ,{]+): (\[[^\]]*\]|[^,}]+)")
_QUICK_LIST_ITEM = re.compile(r"[^ ,\]][^,\]]*")
_new_tuple = tuple.__new__  # Mark(…) without the named tuple's Python-level __new__ (one per layer)


class _QuickScalars(dict):
    """Text → value of the scalars _QUICK accepts: PyYAML's bool and null words from the start, then every scalar
    met (a spec repeats `conv`, `64`, `3`). Never an error: a value the rules refuse is left to PyYAML's path."""

    def __missing__(self, text: str):
        first = text[0]
        if first not in _NUMBER_FIRSTS:  # a word (or `(`): str, as the bool and null words are already here
            value = text
        elif text.isdigit() and (first != "0" or len(text) == 1) and len(text) <= 100:
            value = int(text)  # a plain decimal within the bound (most numbers), as scalar_value reads it
        else:  # 1.5, 0x1F, 2001-12-14, 4 * mid: PyYAML's resolvers decide
            tag = plain_tag(text)
            if tag not in _VALUE_TAGS:
                raise _GiveUp
            value = scalar_value(tag, text, None)  # an error (a number out of bounds) is PyYAML's path's to report
        if len(self) >= _MEMO_LIMIT:
            self.clear()
            self.update(_QUICK_WORDS)
        self[text] = value
        return value


_QUICK_WORDS = {**{word: scalar_value(_BOOL, word, None) for word in _BOOL_WORDS}, **dict.fromkeys(_NULL_WORDS)}
_QUICK_SCALARS = _QuickScalars(_QUICK_WORDS)


class _FlowMap(YMap):
    """A one-line flow mapping read by the quick path: the marks of its keys and values are worked out from its line
    when first asked for (only an error message asks, and a spec has one mapping per layer). Its own mark and line
    are slots: no instance dictionary until the marks are asked for."""

    __slots__ = ("mark", "_line")

    def __getattr__(self, name: str):
        if name != "key_marks" and name != "value_marks":
            raise AttributeError(name)
        i, column, line = self.mark.line - 1, self.mark.col - 1, self._line
        key_marks: dict = {}
        value_marks: dict = {}
        for match in _QUICK_PAIR.finditer(line, column + 1, line.index("}", column)):
            key_marks[match.group(1)] = (i, match.start(1))
            value_marks[match.group(1)] = (i, match.start(2))
        self.key_marks, self.value_marks = key_marks, value_marks
        return key_marks if name == "key_marks" else value_marks

    def mark_of(self, key) -> Mark:  # YMap's answer, without working out the others (the expansion asks for `name`)
        if key not in self:
            return self.mark
        mark = self.mark
        return _new_tuple(Mark, (mark.file, mark.line, self._key_column(key, mark.col) + len(key) + 3))

    def key_mark(self, key) -> Mark:
        if key not in self:
            return self.mark
        mark = self.mark
        return _new_tuple(Mark, (mark.file, mark.line, self._key_column(key, mark.col) + 1))

    def _key_column(self, key: str, start: int) -> int:
        """Where ``key`` is written: at ``start``, right after the `{`, or after a `, ` and before a `: ` (no value or
        list item holds either, see _QUICK)."""
        line = self._line
        if line.startswith(key, start) and line.startswith(": ", start + len(key)):
            return start
        return line.index(", " + key + ": ", start) + 2

    def __reduce__(self):  # pickled as a plain YMap, with its marks
        return _rebuilt_map, (dict(self), {"mark": self.mark, "key_marks": self.key_marks,
                                           "value_marks": self.value_marks})


class _FlowList(YList):
    """A one-line list inside a quick-path mapping: the marks of its items are worked out when first asked for."""

    __slots__ = ("mark", "_line")

    def __getattr__(self, name: str):
        if name != "item_marks":
            raise AttributeError(name)
        i, column, line = self.mark.line - 1, self.mark.col - 1, self._line
        self.item_marks = [(i, match.start())
                           for match in _QUICK_LIST_ITEM.finditer(line, column + 1, line.index("]", column))]
        return self.item_marks

    def __reduce__(self):  # pickled as a plain YList, with its marks
        return _rebuilt_list, (list(self), {"mark": self.mark, "item_marks": self.item_marks})


def read(text: str, filename: str):
    """The spec's top-level mapping as :class:`YMap` (values and marks as PyYAML's path gives them), or None when
    the text is outside the subset described above."""
    if not _readable(text):
        return None
    try:
        return _Reader(text, filename).document()
    except (_GiveUp, SpecError, RecursionError):  # a scalar the rules refuse is reported by PyYAML's path
        return None


class _Reader:
    __slots__ = ("lines", "file", "count", "depth")

    def __init__(self, text: str, filename: str):
        self.lines = text.split("\n")
        self.file = filename
        self.count = len(self.lines)
        self.depth = 0

    def document(self) -> YMap:
        i, indent = self.next_content(0)
        if i is None or indent != 0:
            raise _GiveUp
        line = self.lines[i]
        if line.startswith(("---", "...", "%", "- ", "{", "[")) or line == "-":
            raise _GiveUp
        value, i = self.mapping(i, 0)
        if i is not None:  # text left over at a smaller indent than the document: not for this reader
            raise _GiveUp
        return value

    def next_content(self, i: int):
        """The first line from ``i`` that holds more than blanks and a comment, and its indent; (None, -1) at the
        end."""
        lines, count = self.lines, self.count
        while i < count:
            line = lines[i]
            stripped = line.lstrip(" ")
            if stripped and stripped[0] != "#":
                if i and line.startswith(("---", "...")):  # a second document, or the end of the first
                    raise _GiveUp
                return i, len(line) - len(stripped)
            i += 1
        return None, -1

    def block(self, i: int, indent: int):
        """The block collection whose first line is ``i``, its content starting at column ``indent``."""
        line = self.lines[i]
        if line.startswith("-", indent) and (len(line) == indent + 1 or line[indent + 1] == " "):
            return self.sequence(i, indent)
        return self.mapping(i, indent)

    def deeper(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _GiveUp

    def mapping(self, i: int, indent: int):
        """A block mapping whose first key is at (``i``, ``indent``); returns it and the index of the next content
        line after it (None at the end)."""
        self.deeper()
        lines, file = self.lines, self.file
        values: dict = {}
        key_marks: dict = {}
        value_marks: dict = {}
        start = (i, indent)
        while True:
            line = lines[i]
            match = _KEY.match(line, indent)
            if match is None:
                raise _GiveUp
            key = match.group(1)
            tag = plain_tag(key)
            if tag != _STR and tag != _BOOL or key in values or len(key) > _KEY_CHARS:  # `on:` is the word
                raise _GiveUp
            at = match.end()
            rest = line[at:].lstrip(" ")
            key_marks[key] = (i, indent)
            if not rest or rest[0] == "#":  # the value is a block on the next lines
                j, below = self.next_content(i + 1)
                if j is None:
                    raise _GiveUp  # an empty value: PyYAML marks it
                if below > indent:
                    value_marks[key] = (j, below)
                    values[key], i = self.block(j, below)
                elif below == indent and lines[j].startswith("-", indent) and \
                        (len(lines[j]) == indent + 1 or lines[j][indent + 1] == " "):
                    value_marks[key] = (j, indent)  # a sequence at its key's indent
                    values[key], i = self.sequence(j, indent, inside_mapping=True)
                else:
                    raise _GiveUp
            else:
                column = len(line) - len(rest)
                value_marks[key] = (i, column)
                values[key], i = self.inline(line, column, i, indent)
                i, below = self.next_content(i + 1)
                if i is not None and below > indent:  # a continuation line, or a mistake: PyYAML says which
                    raise _GiveUp
            if i is None:
                break
            below = len(lines[i]) - len(lines[i].lstrip(" "))
            if below < indent:
                break
            if below > indent:
                raise _GiveUp
        out = YMap(values)
        out.mark, out.key_marks, out.value_marks = Mark(file, start[0] + 1, start[1] + 1), key_marks, value_marks
        self.depth -= 1
        return out, i

    def sequence(self, i: int, indent: int, inside_mapping: bool = False):
        """A block sequence whose first ``-`` is at (``i``, ``indent``); ``inside_mapping``: written at its key's
        indent, so it ends at the first line there that is no item."""
        self.deeper()
        lines, count = self.lines, self.count
        items: list = []
        marks: list = []
        start = (i, indent)
        dash, at = " " * indent + "- {", indent + 2  # `- {…}`: the line of a layer, most items
        quick = self.quick_mapping if self.depth + 2 <= MAX_DEPTH else None
        while True:
            line = lines[i]
            if quick is not None and line.startswith(dash) and (item := quick(line, at, i)) is not None:
                marks.append(item.mark)  # where the item is: its own mark, shared
                items.append(item)
                if i + 1 < count and lines[i + 1].startswith(dash):  # the next item, at once
                    i += 1
                    continue
                i, below = self.next_content(i + 1)
                if i is not None and below > indent:
                    raise _GiveUp
            else:
                rest = line[indent + 1:].lstrip(" ")
                column = len(line) - len(rest)
                if not rest or rest[0] == "#":  # the item is a block on the next lines
                    j, below = self.next_content(i + 1)
                    if j is None or below <= indent:
                        raise _GiveUp  # an empty item
                    marks.append((j, below))
                    item, i = self.block(j, below)
                elif _KEY.match(rest) is not None:  # `- key: value`: a mapping starting on the item's line
                    marks.append((i, column))
                    item, i = self.mapping(i, column)
                elif rest.startswith("- ") or rest == "-":
                    raise _GiveUp  # a sequence starting on the item's line
                else:
                    marks.append((i, column))
                    item, i = self.inline(line, column, i, indent)
                    i, below = self.next_content(i + 1)
                    if i is not None and below > indent:
                        raise _GiveUp
                items.append(item)
            if i is None:
                break
            line = lines[i]
            below = len(line) - len(line.lstrip(" "))
            if below < indent:
                break
            if below > indent:
                raise _GiveUp
            if not (line.startswith("-", indent) and (len(line) == indent + 1 or line[indent + 1] == " ")):
                if inside_mapping:  # the next key of the mapping that holds this sequence
                    break
                raise _GiveUp
        out = YList(items)
        out.mark, out.item_marks = Mark(self.file, start[0] + 1, start[1] + 1), marks
        self.depth -= 1
        return out, i

    def inline(self, line: str, column: int, i: int, base: int):
        """The value written from ``column`` of line ``i`` (a flow collection may go on over the next lines, each
        indented deeper than ``base``, the column of its key or item); returns it and the index of its last line."""
        first = line[column]
        if first == "{" and self.depth + 2 <= MAX_DEPTH:
            value = self.quick_mapping(line, column, i)
            if value is not None:
                return value, i
        if first == "{" or first == "[":
            value, i, end = self.flow(i, column, base)
            line = self.lines[i]
            rest = line[end:]
            stripped = rest.lstrip(" ")
            if stripped and (stripped[0] != "#" or len(stripped) == len(rest)):
                raise _GiveUp
            return value, i
        if first == '"' or first == "'":
            end = line.find(first, column + 1)
            if end < 0:
                raise _GiveUp
            body = line[column + 1:end]
            if "\\" in body and first == '"' or line.startswith(first, end + 1):  # an escape, or '' in '…'
                raise _GiveUp
            rest = line[end + 1:]
            stripped = rest.lstrip(" ")
            if stripped and (stripped[0] != "#" or len(stripped) == len(rest)):
                raise _GiveUp
            return body, i
        if first in _INDICATORS and not (first == "-" and len(line) > column + 1 and line[column + 1] not in " "):
            raise _GiveUp
        cut = line.find(" #", column)
        text = (line[column:cut] if cut >= 0 else line[column:]).rstrip(" ")
        if ": " in text or text.endswith(":"):
            raise _GiveUp
        return self.scalar(plain_tag(text), text, i, column), i

    def scalar(self, tag: str, text: str, i: int, column: int):
        if tag == _STR:
            return text
        if tag not in _VALUE_TAGS:
            raise _GiveUp
        return scalar_value(tag, text, Mark(self.file, i + 1, column + 1))

    def blanks(self, i: int, p: int, base: int):
        """The next token of a flow collection from (``i``, ``p``): past blanks, comments and line breaks (a
        continuation line must be indented deeper than ``base``). Returns (line index, column)."""
        line = self.lines[i]
        n = len(line)
        while True:
            while p < n and line[p] == " ":
                p += 1
            if p < n and not (line[p] == "#" and (p == 0 or line[p - 1] == " ")):
                return i, p
            i += 1  # the end of the line, or a comment to its end
            if i >= self.count:
                raise _GiveUp
            line = self.lines[i]
            n = len(line)
            stripped = line.lstrip(" ")
            p = n - len(stripped)
            if stripped and stripped[0] != "#" and p <= base:
                raise _GiveUp

    def flow(self, i: int, p: int, base: int):
        """The flow collection opening at (``i``, ``p``); returns it, the line and the column after its closing
        bracket."""
        line = self.lines[i]
        if line[p] == "{":
            simple = self.simple_mapping(line, p, i)
            if simple is not None:
                return simple, i, line.index("}", p) + 1
        self.deeper()
        start = Mark(self.file, i + 1, p + 1)
        if line[p] == "{":
            values: dict = {}
            key_marks: dict = {}
            value_marks: dict = {}
            i, p = self.blanks(i, p + 1, base)
            line = self.lines[i]
            if line.startswith("}", p):
                p += 1
            else:
                while True:
                    match = _FLOW_PLAIN.match(line, p)
                    if match is None:
                        raise _GiveUp
                    key = match.group().rstrip(" ")
                    tag = plain_tag(key)
                    if tag != _STR and tag != _BOOL or key in values or len(key) > _KEY_CHARS:
                        raise _GiveUp
                    end = match.end()
                    if not line.startswith(": ", end):
                        raise _GiveUp
                    key_marks[key] = (i, p)
                    i, p = self.blanks(i, end + 2, base)
                    value_marks[key] = (i, p)
                    values[key], i, p = self.flow_value(i, p, base)
                    i, p, more = self.next_item(i, p, base, "}")
                    if not more:
                        break
                    line = self.lines[i]
            out = YMap(values)
            out.mark, out.key_marks, out.value_marks = start, key_marks, value_marks
        else:
            items: list = []
            marks: list = []
            i, p = self.blanks(i, p + 1, base)
            line = self.lines[i]
            if line.startswith("]", p):
                p += 1
            else:
                while True:
                    marks.append((i, p))
                    item, i, p = self.flow_value(i, p, base)
                    items.append(item)
                    i, p, more = self.next_item(i, p, base, "]")
                    if not more:
                        break
            out = YList(items)
            out.mark, out.item_marks = start, marks
        self.depth -= 1
        return out, i, p

    def next_item(self, i: int, p: int, base: int, closing: str):
        """After an item of a flow collection: past its `,` to the next item (True), or past the ``closing``
        bracket (False); a trailing comma, or anything else, is left to PyYAML."""
        line = self.lines[i]
        if line.startswith(",", p):
            i, p = self.blanks(i, p + 1, base)
            if self.lines[i].startswith(closing, p):  # a trailing comma
                raise _GiveUp
            return i, p, True
        if line.startswith(closing, p):
            return i, p + 1, False
        raise _GiveUp

    def quick_mapping(self, line: str, p: int, i: int):
        """The flow mapping opening at ``line[p]`` when it is what a layer's line usually is (see _QUICK), to the end
        of the line; None for any other. Its values are read with one split of the line, and the marks of its keys,
        values and list items only when asked for (:class:`_FlowMap`)."""
        if _QUICK.fullmatch(line, p) is None:
            return None
        known = _QUICK_SCALARS
        close = line.find("}", p)
        if line.find("[", p, close) < 0:  # no list: keys and values alternate between ": " and ", "
            flat = line[p + 1:close].replace(": ", ", ").split(", ")
            out = _FlowMap(zip(map(intern, flat[::2]), map(known.__getitem__, flat[1::2])))  # keys shared by all
            if len(out) * 2 != len(flat):  # a duplicate key: PyYAML's path reports it
                return None
        else:
            values = {}
            at = p
            for key, text in _QUICK_PAIR.findall(line, p + 1, close):
                if key in values:  # a duplicate key: PyYAML's path reports it
                    return None
                if text[0] == "[":  # a list value: its own object, marked at its bracket
                    at = line.index("[", at + 1)
                    items = _FlowList(map(known.__getitem__, text[1:-1].split(", ")))
                    items.mark, items._line = _new_tuple(Mark, (self.file, i + 1, at + 1)), line
                    values[intern(key)] = items
                else:
                    values[intern(key)] = known[text]
            out = _FlowMap(values)
        out.mark, out._line = _new_tuple(Mark, (self.file, i + 1, p + 1)), line
        return out

    def simple_mapping(self, line: str, p: int, i: int):
        """The flow mapping opening at ``line[p]`` when it is the commonest kind, ``{key: value, …}`` on one line
        with plain words as keys and plain scalars as values (no nested collection, quote or comment): read with
        string splits, as :meth:`flow` would read it. None for any other, which :meth:`flow` then reads."""
        close = line.find("}", p)
        if close < 0:
            return None
        inner = line[p + 1:close]
        if _NOT_SIMPLE.search(inner) is not None:
            return None
        values: dict = {}
        key_marks: dict = {}
        value_marks: dict = {}
        column = p + 1
        keys, known = _SIMPLE_KEYS, _SIMPLE_VALUES
        if inner.strip(" "):
            for part in inner.split(","):
                key, colon, value = part.partition(": ")
                if not colon or ":" in value:
                    return None
                word = key.strip(" ")
                if word not in keys:  # checked once per word: a plain word whose tag is str (or bool: `on:`)
                    if _SIMPLE_KEY.fullmatch(word) is None or plain_tag(word) not in (_STR, _BOOL):
                        return None
                    _remember(keys, word, True)
                if word in values:
                    return None
                lead = len(key) - len(key.lstrip(" "))
                key_marks[word] = (i, column + lead)
                text = value.strip(" ")
                at = column + len(key) + 2 + len(value) - len(value.lstrip(" "))
                value_marks[word] = (i, at)
                item = known.get(text, _MISSING)
                if item is _MISSING:  # read once per text (values are immutable); a refused one is never kept
                    if not text or _FLOW_PLAIN.match(text) is None:
                        return None
                    item = self.scalar(plain_tag(text), text, i, at)
                    _remember(known, text, item)
                values[word] = item
                column += len(part) + 1
        out = YMap(values)
        out.mark, out.key_marks, out.value_marks = Mark(self.file, i + 1, p + 1), key_marks, value_marks
        return out

    def flow_value(self, i: int, p: int, base: int):
        """A value inside a flow collection at (``i``, ``p``); returns it and the position of the next token."""
        line = self.lines[i]
        first = line[p]
        if first == "{" or first == "[":
            value, i, p = self.flow(i, p, base)
        elif first == '"' or first == "'":
            end = line.find(first, p + 1)
            if end < 0:
                raise _GiveUp
            value = line[p + 1:end]
            if "\\" in value and first == '"' or line.startswith(first, end + 1):
                raise _GiveUp
            p = end + 1
        else:
            match = _FLOW_PLAIN.match(line, p)
            if match is None:
                raise _GiveUp
            text = match.group().rstrip(" ")
            value = self.scalar(plain_tag(text), text, i, p)
            p = match.end()
        line = self.lines[i]
        if p < len(line) and line[p] not in " #":
            return value, i, p
        i, p = self.blanks(i, p, base)
        return value, i, p


__all__ = ["read", "plain_tag", "MAX_DEPTH", "YBool"]
