"""`convcalc schema`: a JSON Schema of the spec format (docs/spec.md), for editors and CI.

Generated, never written by hand, so that it cannot drift from what the reader accepts:

* the top-level keys, a block's keys, a layer's structural keys and a block call's keys are the reader's own
  tuples (:data:`convcalc.spec.loader.TOP_KEYS`, ``BLOCK_KEYS``, :data:`convcalc.spec.expand.STRUCTURAL`,
  ``BLOCK_CALL``): a key added there and not described here is an error of :func:`spec_schema`;
* every layer kind is one definition built from its registered class: its fields (the YAML keys), each field's
  :meth:`~convcalc.spec.fields.Field.json_schema` (types, minimums, choices, expressions, defaults), its required
  keys, its summary;
* ``defaults:`` takes every field name (flat) and every kind with its own fields (per kind).

What a schema cannot see is left open rather than guessed: a block call's arguments (they depend on the block),
a layer whose ``type:`` is a block argument or an expression, the ``budgets:`` section (docs/check.md). Required
fields are required only in a spec without ``defaults:`` (a default may give them), and a field under ``repeat:``
may be a list with one value per repetition. Inside a block every field may also be a block argument's name.
The package ships the generated file (``convcalc/spec.schema.json``; a test checks it equals this output).
"""

from __future__ import annotations

import json

from .cost.conventions import DTYPE_BYTES
from .layers import REGISTRY
from .spec.expand import BLOCK_CALL, STRUCTURAL
from .spec.expr import MAX_CHARS
from .spec.fields import EXPRESSION, REQUIRED
from .spec.loader import BLOCK_KEYS, MAX_NAME_CHARS, TOP_KEYS

#: where the shipped copy lives, next to this module (package data)
SHIPPED_FILE = "spec.schema.json"
_WORDS = ("top", "block")  # a top-level layer reads vars (numbers, booleans); a block's also its arguments' words
_NAMES = {"type": "string", "minLength": 1}
_INPUTS = {"anyOf": [_NAMES, {"type": "array", "minItems": 1, "items": _NAMES}]}
_CONDITION = {"anyOf": [{"type": "boolean"}, EXPRESSION]}
_REPEAT = {"anyOf": [{"type": "integer", "minimum": 0}, EXPRESSION]}
_ARGUMENT = {"type": ["number", "integer", "boolean", "string", "array", "null"]}

#: each structural key of a layer item (convcalc/spec/expand.py: STRUCTURAL), as docs/spec.md "A layer" describes it
STRUCTURAL_SCHEMAS = {
    "type": None,  # per kind (below)
    "name": {"type": ["string", "integer"], "minLength": 1,  # YAML's `name: 7` is the name `7`
             "description": "unique among its siblings; `input` is reserved"},
    "inputs": dict(_INPUTS, description="earlier layers (or block inputs) this one reads; default: the previous"),
    "repeat": dict(_REPEAT, description="repeat N times; a list of N values gives one value per repetition"),
    "when": {"anyOf": [_CONDITION, {"type": "array", "items": _CONDITION}],
             "description": "kept when true, skipped (passing its input through) when false"},
    "trainable": {"type": "boolean", "description": "false freezes the params for `convcalc cost --train`"},
    "stage": {"type": ["string", "integer"], "minLength": 1,
              "description": "the stage `analyze --by stage` rolls this layer up into (default: its top-level name "
                             "prefix)"},
}
BLOCK_CALL_SCHEMAS = {
    "block": {"type": "string", "minLength": 1, "description": "a block defined under `blocks:`"},
    "name": STRUCTURAL_SCHEMAS["name"], "inputs": STRUCTURAL_SCHEMAS["inputs"],
    "repeat": STRUCTURAL_SCHEMAS["repeat"], "when": STRUCTURAL_SCHEMAS["when"], "stage": STRUCTURAL_SCHEMAS["stage"],
}


def _top_schemas() -> dict:
    """Each top-level key (convcalc/spec/loader.py: TOP_KEYS), as docs/spec.md "Top level" describes it."""
    size = {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]}
    return {
        "name": {"type": ["string", "integer"], "minLength": 1, "maxLength": MAX_NAME_CHARS,
                 "description": "the network's name"},
        "description": {"type": "string", "description": "free text, ignored by the analysis"},
        "input": {"type": "array", "minItems": 1, "maxItems": 4, "items": size,
                  "description": "the input shape without the batch: [C], [C, L], [C, H, W] or [C, D, H, W]"},
        "batch": dict(size, description="batch size (default 1)"),
        "dtype": {"enum": list(DTYPE_BYTES), "default": "float32", "description": "element type of the memory "
                                                                                 "columns"},
        "vars": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                 "additionalProperties": {"anyOf": [{"type": "number"}, {"type": "boolean"}, EXPRESSION,
                                                    {"type": "null"}]},
                 "description": "named numbers or booleans for expressions; overridable with --set NAME=VALUE"},
        "defaults": {"$ref": "#/definitions/defaults"},
        "blocks": {"type": "object", "additionalProperties": {"$ref": "#/definitions/block"},
                   "description": "reusable, parameterised sub-graphs"},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/item.top"},
                   "description": "the layers, in order"},
        "budgets": {"type": "object", "description": "limits for `convcalc check` (docs/check.md)"},
    }


def _block_schemas() -> dict:
    """Each key of a block definition (convcalc/spec/loader.py: BLOCK_KEYS)."""
    return {
        "args": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                 "additionalProperties": _ARGUMENT,
                 "description": "its arguments and their defaults; null makes one required"},
        "inputs": dict(_INPUTS, description="the names its layers use for its inputs (default [x])"),
        "output": {"type": "string", "minLength": 1, "description": "which of its layers is its output"},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/item.block"}},
        "description": {"type": "string"},
    }


def _pick(schemas: dict, keys: tuple, what: str) -> dict:
    missing = [key for key in keys if key not in schemas]
    if missing:
        raise KeyError(f"convcalc.schema describes no {what} {missing}: add them")
    return {key: schemas[key] for key in keys if schemas[key] is not None}


def _repeated(value: dict) -> dict:
    """A field's value under `repeat: N`: one value, or a list with one value per repetition."""
    return {"anyOf": [value, {"type": "array", "items": value}]}


def _in_block(value: dict, words: str) -> dict:
    """Inside a block, a field may also name a block argument (which may hold a word or a list)."""
    return value if words == "top" else {"anyOf": [value, {"type": "string", "minLength": 1}]}


class _Values:
    """One definition per distinct field value schema (many fields share one: `stride`, `bias`, …), named after
    the first kind and field that has it: ``value.conv.kernel``."""

    def __init__(self):
        self.definitions: dict[str, dict] = {}
        self._names: dict[str, str] = {}

    def ref(self, kind: str, name: str, schema: dict) -> dict:
        text = json.dumps(schema, sort_keys=True)
        if text not in self._names:
            self._names[text] = f"value.{kind}.{name}"
            self.definitions[self._names[text]] = schema
        return {"$ref": f"#/definitions/{self._names[text]}"}


def _kind(cls, words: str, values: _Values) -> dict:
    """One kind's layer item: its type, structural keys and fields; under `repeat:` a list per field."""
    plain, repeated = {}, {}
    for name, field in cls.fields.items():
        one = values.ref(cls.kind, name, field.json_schema())
        if words != "top":
            one = values.ref(cls.kind, f"{name}.in_block", _in_block(one, words))
        plain[name], repeated[name] = one, values.ref(cls.kind, f"{name}.repeated", _repeated(one))
    structural = {key: {"$ref": f"#/definitions/structural.{key}"}
                  for key in _pick(STRUCTURAL_SCHEMAS, STRUCTURAL, "structural layer keys")}
    return {
        "description": cls.summary,
        "properties": {"type": {"const": cls.kind}, **structural, **repeated},
        "additionalProperties": False,
        "if": {"not": {"required": ["repeat"]}},
        "then": {"properties": plain},
    }


def _type(words: str) -> dict:
    kinds = {"enum": sorted(REGISTRY)}
    if words == "top":  # a var holds no word: a kind, or an expression choosing one in quotes
        other = {"type": "string", "pattern": "['\"]"}
    else:  # a block argument holding a kind, or an expression
        other = {"type": "string", "minLength": 1}
    return {"anyOf": [kinds, other], "description": "the layer kind (`convcalc explain --list`)"}


def _item(words: str, strict: bool) -> dict:
    """A layer or a block call; ``strict``: a kind's required fields are required (a spec without defaults:)."""
    dispatch = []
    for kind, cls in sorted(REGISTRY.items()):
        then: dict = {"$ref": f"#/definitions/kind.{words}.{kind}"}
        required = [name for name, field in cls.fields.items() if field.default is REQUIRED]
        if strict and required:
            then = {"allOf": [then, {"required": required}]}
        dispatch.append({"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": then})
    layer = {"type": "object", "required": ["type"], "properties": {"type": _type(words)}, "allOf": dispatch}
    call = {"type": "object", "required": ["block"],
            "properties": _pick(BLOCK_CALL_SCHEMAS, BLOCK_CALL, "block call keys"),
            "additionalProperties": _ARGUMENT}  # the block's arguments
    return {"type": "object", "if": {"required": ["block"]}, "then": call, "else": layer}


def _defaults(values: _Values) -> dict:
    """`defaults:`: a field name (flat, for every kind with that field) or a kind with a mapping of its fields."""
    flat: dict[str, list] = {}
    for kind, cls in sorted(REGISTRY.items()):
        for name, field in cls.fields.items():
            schema = values.ref(kind, name, field.value_schema())
            if schema not in flat.setdefault(name, []):
                flat[name].append(schema)
    per_kind = {kind: {"type": "object", "additionalProperties": False, "description": cls.summary,
                       "properties": {name: values.ref(kind, name, field.json_schema())
                                      for name, field in cls.fields.items()}}
                for kind, cls in sorted(REGISTRY.items())}
    both = set(flat) & set(per_kind)
    if both:
        raise KeyError(f"field names that are also kinds make `defaults:` ambiguous: {sorted(both)}")
    return {"type": "object", "additionalProperties": False,
            "description": "field values for every layer that has the field (flat), or per kind",
            "properties": {**{name: schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
                              for name, schemas in sorted(flat.items())}, **per_kind}}


def spec_schema() -> dict:
    """The JSON Schema (draft-07) of a convcalc spec."""
    values = _Values()
    definitions = {
        "expression": {"type": "string", "minLength": 1, "maxLength": MAX_CHARS,
                       "description": "an expression over vars, block arguments, in_channels, in_size, in_rank and "
                                      "index (docs/spec.md, \"Numbers and expressions\")"},
        "defaults": _defaults(values),
        "block": {"type": "object", "required": ["layers"], "additionalProperties": False,
                  "properties": _pick(_block_schemas(), BLOCK_KEYS, "block keys")},
        **{f"structural.{key}": schema for key, schema in
           _pick(STRUCTURAL_SCHEMAS, STRUCTURAL, "structural layer keys").items()},
    }
    for words in _WORDS:
        definitions[f"item.{words}"] = _item(words, strict=False)
        definitions[f"item.{words}.strict"] = _item(words, strict=True)
        for kind, cls in sorted(REGISTRY.items()):
            definitions[f"kind.{words}.{kind}"] = _kind(cls, words, values)
    definitions.update(sorted(values.definitions.items()))
    strict_items = {"items": {"$ref": "#/definitions/item.top.strict"}}
    strict_blocks = {"additionalProperties": {"properties": {"layers": {"items": {
        "$ref": "#/definitions/item.block.strict"}}}}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "convcalc spec",
        "description": "A network for convcalc (docs/spec.md). Generated by `convcalc schema`.",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": _pick(_top_schemas(), TOP_KEYS, "top-level keys"),
        # without `defaults:` nothing can give a required field: require it on the layer
        "if": {"not": {"required": ["defaults"]}},
        "then": {"properties": {"layers": strict_items, "blocks": strict_blocks}},
        "definitions": definitions,
    }


def schema_text() -> str:
    """The schema as `convcalc schema` prints it and the package ships it: indented JSON, keys in order."""
    return json.dumps(spec_schema(), indent=1, ensure_ascii=False) + "\n"


def shipped_path() -> str:
    """The schema file installed with the package."""
    import os

    return os.path.join(os.path.dirname(os.path.realpath(__file__)), SHIPPED_FILE)
