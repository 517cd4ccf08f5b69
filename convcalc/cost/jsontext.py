"""JSON text written apart and joined into an indented document, byte for byte what ``json.dumps`` writes.

A report's JSON (docs/json.md) indents its top level and writes each layer on one line: 4 MB of text for 10,000
layers. An indented ``json.dumps`` runs in pure Python (seconds for 10k layers), so the report writes its big
values itself (:func:`convcalc.cost.report.layers_pieces`, :func:`convcalc.cost.rollup.groups_json`) and
:func:`spliced_pieces` joins them into json's dump of the rest.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # noqa: F401 (json's escaping of a string, C: for the writers)


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


def spliced_pieces(data: dict, indent, spliced: dict) -> list[str]:
    """The pieces of ``json.dumps(data, indent=indent, ensure_ascii=False)`` where the top-level values of the keys in
    ``spliced`` are given as text (key → the pieces of its value's JSON, written for nesting level 1). Joined, the
    pieces are the document; written one by one, they spare a copy of it, and a big ASCII piece encodes to UTF-8
    as a copy, ten times faster than inside one string with a non-ASCII character anywhere."""
    tokens = {key: f"\x00convcalc-{key}\x00" for key in spliced}  # json writes \x00 as \u0000: no value holds it
    text = json.dumps({key: tokens.get(key, value) for key, value in data.items()}, indent=indent,
                      ensure_ascii=False)
    pieces = []
    for key in [key for key in data if key in tokens]:  # in the document's order
        head, _, text = text.partition(json.dumps(tokens[key]))
        pieces += (head, *spliced[key])
    pieces.append(text)
    return pieces
