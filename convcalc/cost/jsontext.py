"""JSON text a column of values at a time: for each value exactly what ``json.dumps(value, ensure_ascii=False)``
writes, but built by C loops (``map``, ``repr``, ``str %``) over a whole column instead of one encoder call a value.

A report's JSON writes each layer on one line (docs/json.md): 4 MB of text for 10,000 layers, which one
``json.dumps`` call per layer spends ~3 µs a layer on. The values are nearly always exact ints, strings and lists of
them, whose JSON a C loop over the column writes (``repr`` of a list of ints is its JSON); a column with any other
value is written by the encoder, value by value, so the text is the same whatever the values.
"""

from __future__ import annotations

import json
from itertools import chain
from json.encoder import encode_basestring

_BOOLS = {True: "true", False: "false"}


def compact_encoder():
    """``json.dumps(obj, ensure_ascii=False)`` for one object after another. ``JSONEncoder.encode`` builds a new C
    encoder on every call, a quarter of the time for a small dict; this builds CPython's once (the same one, with
    the same settings) and falls back to the public API where the C accelerator is missing."""
    from json.encoder import c_make_encoder

    if c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False).encode
    # markers=None skips the circular-reference check: report values are trees of plain values
    encoder = c_make_encoder(None, json.JSONEncoder().default, encode_basestring, None, ": ", ", ", False, False,
                             True)
    return lambda obj: "".join(encoder(obj, 0))


def plain(text: str) -> bool:
    """Whether ``repr`` writes each string joined in ``text`` as its JSON with ``'`` for ``"``: nothing repr escapes
    (every character printable) and nothing JSON escapes (JSON escapes ``"``, ``\\`` and control characters only,
    and none of them is printable but the two), and no quote that would make repr pick ``"``."""
    return text.isprintable() and "'" not in text and '"' not in text and "\\" not in text


def texts(values, encode=None) -> list:
    """The compact JSON of each of ``values`` (a list or tuple), as ``encode`` (default: ``json.dumps(value,
    ensure_ascii=False)``) writes it. ``type(v) is int`` rather than isinstance: bool and int subclasses (whose JSON
    differs from their ``repr``) go to ``encode``."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return list(map(int.__repr__, values))
    if kinds <= {str}:
        return list(map(encode_basestring, values))
    if kinds == {list}:
        items = list(chain.from_iterable(values))
        item_kinds = set(map(type, items))
        if item_kinds <= {int}:
            return list(map(list.__repr__, values))
        if item_kinds <= {str} and plain("".join(items)):
            return [text.replace("'", '"') for text in map(list.__repr__, values)]
    if kinds == {bool}:
        return list(map(_BOOLS.__getitem__, values))
    if encode is None:
        encode = compact_encoder()
        if kinds == {dict}:  # mostly empty (a layer's `details`)
            return [encode(value) if value else "{}" for value in values]
    return list(map(encode, values))


def columns(objects, names) -> list[tuple]:
    """The attributes ``names`` of every object, one tuple per name (each as long as ``objects``)."""
    if not objects:
        return [()] * len(names)
    if len(names) == 1:
        return [tuple(getattr(o, names[0]) for o in objects)]
    from operator import attrgetter

    return list(zip(*map(attrgetter(*names), objects)))  # one C call a object, then a transpose


def fill(template: str, text_columns: list) -> list[str]:
    """``template % row`` for each row of the columns (each a sequence of texts), in C."""
    return list(map(template.__mod__, zip(*text_columns)))


def percent_escaped(text: str) -> str:
    """``text`` as it stands in a %-template."""
    return text.replace("%", "%%")


def records_text(keys, text_columns, indent: str, level: int) -> str:
    """``json.dumps(records, indent=…)``'s text for a list of flat records (every value a scalar: one line each) at
    nesting ``level`` of a document indented by ``indent``, from the keys and the JSON of each column."""
    if not text_columns or not text_columns[0]:
        return "[]"
    outer, inner = "\n" + indent * (level + 1), "\n" + indent * (level + 2)
    body = ("," + inner).join(f"{percent_escaped(encode_basestring(key))}: %s" for key in keys)
    template = f"{{{inner}{body}{outer}}}"
    return f"[{outer}" + ("," + outer).join(fill(template, text_columns)) + f"\n{indent * level}]"


def scalar(column) -> bool:
    """Whether every value of a column is a JSON scalar (indented JSON writes it on one line, as compact JSON)."""
    return set(map(type, column)) <= {int, str, float, bool, type(None)}


def dumps_spliced(data: dict, indent, spliced: dict) -> str:
    """``json.dumps(data, indent=indent, ensure_ascii=False)`` where the top-level values of the keys in ``spliced``
    are given as text (key → the JSON text of its value, written for nesting level 1): json's indented dump runs in
    pure Python, so the big values are written apart and joined in. Returns one string (one copy of the text)."""
    tokens = {key: f"\x00convcalc-{key}\x00" for key in spliced}
    text = json.dumps({key: tokens.get(key, value) for key, value in data.items()}, indent=indent,
                      ensure_ascii=False)
    pieces = []
    for key in [key for key in data if key in tokens]:  # in the document's order
        head, _, text = text.partition(json.dumps(tokens[key]))
        pieces += (head, spliced[key])
    pieces.append(text)
    return "".join(pieces)
