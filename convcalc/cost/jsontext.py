"""A report's JSON text, byte for byte what ``json`` writes, for a fraction of its time (``convcalc analyze
--format json``).

The document (docs/json.md) indents its top level and writes each layer on one line: 4 MB of text for 10,000
layers. An indented ``json.dumps`` runs in pure Python (seconds for 10k layers), so the big values are written
apart and :func:`spliced_pieces` joins them into json's dump of the rest:

* the layers by :func:`layer_lines`: one f-string a layer, where ints and lists of ints are their ``repr`` and
  strings go through json's own escaping (half the time of one encoder call a layer, which encodes every key
  again); a value of any other type (checked as it goes) sends all the layers to the encoder, so the text is the
  same whatever the values (tests/cost/test_jsontext.py holds it to json's);
* the stages by :func:`convcalc.cost.rollup.groups_json`, summed in the same pass over the layers.
"""

from __future__ import annotations

import json
from itertools import chain
from json.encoder import encode_basestring  # json's escaping of a string (C)
from operator import attrgetter

from .rollup import group_sums


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


#: the fields :func:`_fast_lines` writes, in declaration order (any other list of fields: :func:`_encoded_lines`)
_FIELDS = ("name", "type", "inputs", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes", "rf",
           "warnings", "path", "line", "details", "stage")


def layer_lines(layers: list, fields: tuple, pad: str = "") -> tuple[list[str], list[list]]:
    """Each layer (a :class:`~convcalc.cost.report.LayerReport`, whose fields are ``fields``) as one line of JSON
    after ``pad``, exactly ``json.dumps(layer.to_dict(), ensure_ascii=False)``, and the layers'
    :func:`~convcalc.cost.rollup.group_sums` by stage."""
    encode = compact_encoder()
    if fields == _FIELDS:
        try:
            return _fast_lines(layers, pad, encode)
        except _NotFast:
            pass
    return _encoded_lines(layers, pad, encode), group_sums(layers, "stage")


class _NotFast(Exception):
    """A value :func:`_fast_lines` does not write (the encoder does)."""


def _fast_lines(layers: list, pad: str, encode) -> tuple[list[str], list[list]]:
    """The lines of layers, one f-string a layer: exact ints by ``format`` and lists of them by ``repr`` (their JSON),
    strings by json's own escaping; :class:`_NotFast` for any other value (checked inline: a pass of its own over
    10,000 layers costs as much as writing them)."""
    if set(map(type, chain.from_iterable(map(attrgetter("output_shape"), layers)))) - {int}:
        raise _NotFast  # one C pass: repr writes a shape as JSON only when every axis is an exact int
    rf_texts: dict[int, str] = {}  # id(RFReport) → its JSON: one field is shared by the layers that leave it as is
    # A layer mostly follows its one input and keeps its field, its shape and its block path: the previous layer's
    # text of each is reused when the value is equal (a compare costs a fifth of writing the value anew)
    last_name = last_name_text = last_rf = last_rf_text = last_shape = last_shape_text = last_path = None
    last_path_text = ""
    lines = []
    append = lines.append
    stage_key = ', "stage": '
    # the stage sums (group_sums(layers, "stage"), inlined): a second pass over 10,000 layers costs more in reading
    # them again than the sums themselves
    stages: dict[str, list] = {}
    key = sums = None
    count = total_params = total_buffers = total_macs = total_flops = total_bytes = 0
    for layer in layers:  # attribute loads: cheaper than unpacking an attrgetter's tuple
        params, buffers, macs, flops = layer.params, layer.buffers, layer.macs, layer.flops
        activation_bytes, line, inputs, shape = layer.activation_bytes, layer.line, layer.inputs, layer.output_shape
        warnings, path, details, rf, stage = layer.warnings, layer.path, layer.details, layer.rf, layer.stage
        if not (type(params) is type(buffers) is type(macs) is type(flops) is type(activation_bytes) is type(line)
                is int and type(inputs) is type(shape) is type(warnings) is type(path) is list
                and type(details) is dict):
            raise _NotFast  # `type(x) is int`: a bool or an int subclass is written otherwise
        if rf is not last_rf:
            last_rf, last_rf_text = rf, rf_texts.get(id(rf))
            if last_rf_text is None:
                last_rf_text = rf_texts[id(rf)] = _rf_text(rf, encode)
        if shape != last_shape:
            last_shape, last_shape_text = shape, repr(shape)
        try:  # a name that is not a string: TypeError
            if path != last_path:
                last_path, last_path_text = path, ", ".join(map(encode_basestring, path))
            inputs_text = last_name_text if len(inputs) == 1 and inputs[0] == last_name else \
                ", ".join(map(encode_basestring, inputs))
            name = layer.name
            last_name, last_name_text = name, encode_basestring(name)
            append(f'{pad}{{"name": {last_name_text}, "type": {encode_basestring(layer.type)}, '
                   f'"inputs": [{inputs_text}], "output_shape": {last_shape_text}, '
                   f'"params": {params}, "buffers": {buffers}, "macs": {macs}, "flops": {flops}, '
                   f'"activation_bytes": {activation_bytes}, "warnings": {encode(warnings) if warnings else "[]"}, '
                   f'"path": [{last_path_text}], "line": {line}, '
                   f'"details": {encode(details) if details else "{}"}'
                   f'{stage_key + encode_basestring(stage) if stage else ""}, "rf": {last_rf_text}}}')
        except TypeError:
            raise _NotFast from None
        layer_key = stage or name.split(".", 1)[0]  # rollup.stage_name
        if layer_key != key:  # a run of layers of one stage adds up in locals (as group_sums does)
            if sums is not None:
                sums[1:] = count, total_params, total_buffers, total_macs, total_flops, total_bytes
            key = layer_key
            sums = stages.get(key)
            if sums is None:
                sums = stages[key] = [key, 0, 0, 0, 0, 0, 0]
            _, count, total_params, total_buffers, total_macs, total_flops, total_bytes = sums
        count += 1
        total_params += params
        total_buffers += buffers
        total_macs += macs
        total_flops += flops
        total_bytes += activation_bytes
    if sums is not None:
        sums[1:] = count, total_params, total_buffers, total_macs, total_flops, total_bytes
    return lines, list(stages.values())


def _rf_text(rf, encode) -> str:
    """``json.dumps(rf.to_dict())``; written with ``repr`` when every value is an exact int (the common case)."""
    size, jump, start, center, flag = rf.size, rf.jump, rf.start, rf.center, rf.position_dependent
    if type(size) is type(jump) is type(start) is type(center) is list and (flag is True or flag is False) and \
            set(map(type, chain(size, jump, start, center))) <= {int}:
        return (f'{{"size": {size!r}, "jump": {jump!r}, "start": {start!r}, "center": {center!r}, '
                f'"padding": {[-s for s in start]!r}, "position_dependent": {"true" if flag else "false"}}}')
    return encode(rf.to_dict())


def _encoded_lines(layers: list, pad: str, encode) -> list[str]:
    """The lines of any layers, by the encoder: each layer's fields in declaration order but ``rf`` (``stage`` only
    when given), then its field, encoded once per shared RFReport."""
    rf_texts: dict[int, str] = {}
    lines = []
    for layer in layers:
        out, rf = layer._without_rf()
        rf_text = rf_texts.get(id(rf))
        if rf_text is None:
            rf_text = rf_texts[id(rf)] = encode(rf.to_dict())
        lines.append(f"{pad}{encode(out)[:-1]}, \"rf\": {rf_text}}}")
    return lines
