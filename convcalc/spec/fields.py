"""Typed fields of a layer kind: the YAML keys a ``type:`` accepts, how they are checked and normalised.

A layer class lists its fields as class attributes (``out = Int(min=1)``). The spec reader calls
:meth:`Field.coerce` on each value the user wrote, after expressions are evaluated, and stores the normalised
value on the graph node. Only parsing lives here; no cost formulas.

Conventions, stated once:

* **per-axis values** (kernel, stride, dilation, …) are an int for every axis or a list with one int per spatial
  axis, in the order of the input's spatial axes (L; H, W; D, H, W). Dilation 1 means no dilation.
* **padding** is an int, a per-axis list, a list of per-axis ``[before, after]`` pairs, or one of the words
  ``valid`` (no padding), ``same`` (TensorFlow's rule: output = ceil(input / stride), any odd excess goes *after*)
  and ``full`` (MATLAB's: k_eff − 1 on each side).
"""

from __future__ import annotations

import re
from fractions import Fraction
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

from ..errors import Mark, SpecError, did_you_mean
from ..limits import number_text, shorten, within
from .yamlio import YBool, YList

REQUIRED = object()
PADDING_WORDS = ("valid", "same", "full")
#: the JSON Schema of an expression (docs/spec.md, "Numbers and expressions"): text, at most MAX_CHARS long
EXPRESSION = {"$ref": "#/definitions/expression"}


def _any_of(*schemas) -> dict:
    return {"anyOf": list(schemas)}


def _integer(minimum=None) -> dict:
    return {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}


def _per_axis(one: dict) -> dict:
    """One value for every axis, or a list of one per spatial axis (1 to 3)."""
    return _any_of(one, {"type": "array", "minItems": 1, "maxItems": 3, "items": one})


def describe(value) -> str:
    """A value as the user wrote it, for an error message: ``the YAML boolean `yes` ``, ``nothing (null)``, …

    Cheap whatever the value: a long text is shortened, a big number shown by its size, and a list by its first
    items and length (a YAML alias bomb is a list of 10⁹ leaves that share a few nodes)."""
    if isinstance(value, (YBool, bool)):
        return f"the YAML boolean `{getattr(value, 'word', str(value).lower())}`"
    if isinstance(value, str):
        return f"the text `{shorten(value)}`"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)) and len(value) > _SHOWN_ITEMS:
        return f"a list of {len(value):,} items"
    return _plain(value, 0)


_SHOWN_ITEMS = 8  # items of a list that a message shows
_SHOWN_DEPTH = 3  # levels of nested lists that a message shows


def _plain(value, depth: int) -> str:
    """An item of a list as YAML would show it (no Python reprs such as ``Fraction(1, 10)``)."""
    if isinstance(value, (YBool, bool)):
        return getattr(value, "word", str(value).lower())
    if value is None:
        return "null"
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return number_text(value.numerator)
        return f"{float(value):g}" if within(value) else number_text(value)
    if isinstance(value, int):
        return number_text(value)
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, (list, tuple)):
        if depth >= _SHOWN_DEPTH:
            return "[…]"
        items = [_plain(v, depth + 1) for v in value[:_SHOWN_ITEMS]]
        if len(value) > _SHOWN_ITEMS:
            items.append(f"… ({len(value):,} items)")
        return "[" + ", ".join(items) + "]"
    return shorten(str(value))


#: a per-axis value written as one piece of text: `3x3`, `3×3`, `3, 3`, `3 3`, `(1, 2)`, `2.0x2.0`
_AXES_PATTERN = r"[(\[]?\s*\d+(?:\.\d+)?(?:(?:\s*[x×,]\s*|\s+)\d+(?:\.\d+)?){1,2}\s*,?\s*[)\]]?"
#: every character the pattern can match but whitespace: a text with any other (`4 * mid`) is no such value
_AXES_CHARS = frozenset("0123456789.x×,()[]")


class Field:
    """One YAML key of a layer kind."""

    type_name = "value"

    def __init__(self, default: Any = REQUIRED, doc: str = ""):
        self.default = default
        self.doc = doc
        self.name = ""
        #: no default: the key must be written (an attribute, not a property: read for every absent key of a layer)
        self.required = default is REQUIRED

    def __set_name__(self, owner, name):
        self.name = name

    def coerce(self, value: Any, mark: Mark, evaluate: Callable[[str, Mark], Any]) -> Any:
        raise NotImplementedError

    def value_schema(self) -> dict:
        """The JSON Schema of one value of this field as the spec writes it (``convcalc schema``,
        :mod:`convcalc.schema`): what :meth:`coerce` accepts, expressions included. Every field type answers it;
        a new one without an answer is an error of ``convcalc schema``, never an unchecked key."""
        raise NotImplementedError(f"{type(self).__name__} declares no JSON Schema (add value_schema())")

    def json_schema(self) -> dict:
        """:meth:`value_schema` with the field's doc and JSON-representable default, for editors."""
        schema = dict(self.value_schema())
        if self.doc:
            schema["description"] = self.doc
        default = plain_value(self.default) if not self.required and self.default is not None else None
        if isinstance(default, Fraction):  # eps 1e-5: the nearest double, as JSON writes numbers
            default = float(default)
        if isinstance(default, (bool, int, str, list, float)):
            schema["default"] = default
        return schema

    # helpers -----------------------------------------------------------------------------------------------
    def _fail(self, what: str, mark: Mark, hint: str):
        raise SpecError(f"`{self.name}` {what}", mark, hint)

    def _describe(self, value) -> str:
        return describe(value)

    def _not_axes_text(self, value, mark: Mark) -> None:
        """Refuse a per-axis value written as text (``3x3``, ``3, 3``, ``(2.0, 2.0)``), with the list to write
        instead: YAML reads it as one string, which is no number nor expression."""
        if isinstance(value, str) and all(ch in _AXES_CHARS or ch.isspace() for ch in value):
            # compiled only for such a text (an expression never is one): 0.2 ms at start-up (re caches it)
            match = re.fullmatch(_AXES_PATTERN, value.strip())
            if match:
                numbers = re.findall(r"\d+(?:\.\d+)?", value)
                self._fail(f"is the text `{shorten(value.strip())}`, not a number or a list", mark,
                           f"write one value per spatial axis as a YAML list: `[{', '.join(numbers)}]`")

    def _number(self, value, mark: Mark, evaluate, *, integral: bool):
        if isinstance(value, YBool) or isinstance(value, bool):
            word = getattr(value, "word", str(value).lower())
            self._fail(f"expects a number, got the YAML boolean `{word}`", mark,
                       "YAML reads yes/no/on/off/true/false as booleans; write a number"
                       + (f" (quote it as '{word}' if it is an expression)" if word not in ("true", "false") else ""))
        if isinstance(value, str):
            value = evaluate(value, mark)
            if isinstance(value, bool):
                self._fail(f"expression gave the boolean {str(value).lower()}", mark,
                           "the expression must give a number; YAML reads yes/no/on/off/true/false as booleans, so "
                           "check the vars and block arguments it uses")
        if not isinstance(value, (int, Fraction)):
            self._fail(f"expects {'a whole number' if integral else 'a number'}, got {self._describe(value)}",
                       mark, "write a number or an expression in quotes")
        if integral and type(value) is not int:  # (an int is no Fraction: skips an ABC isinstance check)
            if isinstance(value, Fraction):
                if value.denominator != 1:
                    exact = f"{float(value):g} ({value})" if len(str(value)) <= 24 else repr(float(value))
                    self._fail(f"must be a whole number, got {exact}", mark,
                               "wrap the expression in int(), round(), ceil(), floor() or make_divisible()")
                value = int(value)
        return value


class Int(Field):
    type_name = "int"

    def value_schema(self):
        return _any_of(_integer(self.min), EXPRESSION)

    def __init__(self, default: Any = REQUIRED, min: int | None = None, doc: str = ""):
        super().__init__(default, doc)
        self.min = min

    def coerce(self, value, mark, evaluate):
        if type(value) is not int:  # a plain int (most values) is already what _number returns
            value = self._number(value, mark, evaluate, integral=True)
        if self.min is not None and value < self.min:
            self._fail(f"must be at least {self.min}, got {value}", mark, f"use a value ≥ {self.min}")
        return value


class Number(Field):
    type_name = "number"

    def value_schema(self):
        number = {"type": "number"}
        if self.min is not None:
            number["minimum"] = float(self.min) if isinstance(self.min, Fraction) else self.min
        if self.below is not None:
            number["exclusiveMaximum"] = float(self.below) if isinstance(self.below, Fraction) else self.below
        return _any_of(number, EXPRESSION)

    def __init__(self, default: Any = REQUIRED, min: Any = None, below: Any = None, doc: str = ""):
        super().__init__(default, doc)
        self.min, self.below = min, below

    def coerce(self, value, mark, evaluate):
        value = self._number(value, mark, evaluate, integral=False)
        if self.min is not None and value < self.min:
            self._fail(f"must be at least {self.min}, got {float(value):g}", mark, f"use a value ≥ {self.min}")
        if self.below is not None and value >= self.below:
            self._fail(f"must be below {self.below}, got {float(value):g}", mark, f"use a value < {self.below}")
        return value


class Bool(Field):
    type_name = "bool"

    def value_schema(self):
        return _any_of({"type": "boolean"}, EXPRESSION)

    def coerce(self, value, mark, evaluate):
        if isinstance(value, str):
            value = evaluate(value, mark)
        if isinstance(value, (YBool, bool)):
            return bool(value)
        self._fail(f"expects true or false, got {self._describe(value)}", mark, "write true or false")


class Choice(Field):
    type_name = "choice"

    def value_schema(self):
        return {"enum": list(self.choices)}

    def __init__(self, choices, default: Any = REQUIRED, doc: str = ""):
        super().__init__(default, doc)
        self.choices = tuple(choices)

    def coerce(self, value, mark, evaluate):
        word = value.word if isinstance(value, YBool) else value
        if not isinstance(word, str) or word not in self.choices:
            hint = did_you_mean(str(word), self.choices) if isinstance(word, str) else \
                "expected one of: " + ", ".join(f"`{c}`" for c in self.choices)
            self._fail(f"is {self._describe(value)}, which is not a valid choice", mark, hint)
        return word


class Text(Field):
    type_name = "text"

    def value_schema(self):
        return _any_of({"type": "string"}, {"type": "boolean"})  # YAML 1.1 reads `on`, `no`, … as booleans

    def coerce(self, value, mark, evaluate):
        if isinstance(value, YBool):
            return value.word
        if not isinstance(value, str):
            self._fail(f"expects text, got {self._describe(value)}", mark, "write a name")
        return value


def _items(value, mark: Mark):
    marks = [value.mark_of(i) for i in range(len(value))] if isinstance(value, YList) else [mark] * len(value)
    return list(zip(value, marks))


class Axes(Field):
    """An int for every spatial axis, or a list with one int per axis. Normalised to int or tuple of ints."""

    type_name = "int or per-axis list"

    def value_schema(self):
        return _per_axis(_any_of(_integer(self.min), EXPRESSION))

    def __init__(self, default: Any = REQUIRED, min: int = 1, doc: str = ""):
        super().__init__(default, doc)
        self.min = min

    def coerce(self, value, mark, evaluate):
        if type(value) is int:  # one plain int for every axis (most values): no text, no list to check
            return self._one(value, mark, evaluate)
        if self.name == "padding" and isinstance(value, str) and value.strip() in PADDING_WORDS:  # pooling
            self._fail(f"cannot be `{value.strip()}` on this kind: it takes an int or a per-axis list", mark,
                       "PyTorch's pooling pads both sides alike; write the number, e.g. `padding: 1`")
        self._not_axes_text(value, mark)
        if isinstance(value, list):
            if not 1 <= len(value) <= 3:
                self._fail(f"has {len(value)} values", mark, "give one value per spatial axis (1 to 3 values)")
            return tuple(self._one(item, item_mark, evaluate) for item, item_mark in _items(value, mark))
        return self._one(value, mark, evaluate)

    def _one(self, value, mark, evaluate):
        if type(value) is not int:
            value = self._number(value, mark, evaluate, integral=True)
        if value < self.min:
            self._fail(f"must be at least {self.min}, got {value}", mark, f"use values ≥ {self.min}")
        return value


class Padding(Field):
    """Padding: int, per-axis list, per-axis [before, after] pairs, or valid/same/full."""

    type_name = "padding"

    def value_schema(self):
        one = _any_of(_integer(self._least), EXPRESSION)
        pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": one}
        words = [{"enum": list(PADDING_WORDS)}] if self._words else []
        return _any_of(*words, one, {"type": "array", "minItems": 1, "maxItems": 3, "items": _any_of(one, pair)})

    _least, _words = 0, True  # PadWidths (convcalc/layers/resample.py): negative numbers crop, no words

    def coerce(self, value, mark, evaluate):
        if type(value) is int:  # one plain int (most values)
            return self._one(value, mark, evaluate)
        if isinstance(value, str) and value in PADDING_WORDS:
            return value
        self._not_axes_text(value, mark)
        if isinstance(value, list):
            if not 1 <= len(value) <= 3:
                self._fail(f"has {len(value)} entries", mark,
                           "give one entry per spatial axis: an int, or a [before, after] pair")
            out = []
            for item, item_mark in _items(value, mark):
                if isinstance(item, list):
                    if len(item) != 2:
                        self._fail(f"pair {describe(item)} has {len(item):,} values", item_mark,
                                   "write each asymmetric padding as [before, after]")
                    out.append(tuple(self._one(v, m, evaluate) for v, m in _items(item, item_mark)))
                else:
                    out.append(self._one(item, item_mark, evaluate))
            return tuple(out)
        if isinstance(value, str):
            try:
                evaluated = evaluate(value, mark) if value.strip() else value
            except SpecError as err:
                if value.strip().isidentifier() and "unknown name" in err.message:  # a misspelt word: `samee`
                    self._fail(f"is `{value}`, neither a padding word nor a var", mark,
                               did_you_mean(value.strip(), PADDING_WORDS)
                               + " (or an int, a per-axis list, or [before, after] pairs)")
                raise
            return self._one(evaluated, mark, evaluate)
        return self._one(value, mark, evaluate)

    def _one(self, value, mark, evaluate):
        if type(value) is not int:
            value = self._number(value, mark, evaluate, integral=True)
        if value < 0:
            self._fail(f"must not be negative, got {value}", mark, "use a padding ≥ 0")
        return value


class Size(Axes):
    """An output size: int or per-axis list (for adaptive pooling and upsample)."""

    type_name = "size"


class ScaleField(Field):
    """A positive number or per-axis list of numbers (upsample scale factor)."""

    type_name = "number or per-axis list"

    def value_schema(self):
        return _per_axis(_any_of({"type": "number", "exclusiveMinimum": 0}, EXPRESSION))

    def coerce(self, value, mark, evaluate):
        self._not_axes_text(value, mark)
        if isinstance(value, list):
            return tuple(self._one(item, m, evaluate) for item, m in _items(value, mark))
        return self._one(value, mark, evaluate)

    def _one(self, value, mark, evaluate):
        value = self._number(value, mark, evaluate, integral=False)
        if value <= 0:
            self._fail(f"must be positive, got {float(value):g}", mark, "use a scale factor > 0")
        return value


def fields_of(cls) -> Mapping[str, Field]:
    """The fields of a layer class, in declaration order (base classes first)."""
    out: dict[str, Field] = {}
    for klass in reversed(cls.__mro__):
        for key, value in vars(klass).items():
            if isinstance(value, Field):
                out[key] = value
            elif key in out:  # a subclass removes an inherited field by setting it to None
                del out[key]
    return out


# ---- back to YAML ----------------------------------------------------------------------------------------
def plain_value(value):
    """A normalised field value as plain YAML data: tuples → lists, whole Fractions → ints (other Fractions stay,
    for :func:`convcalc.compare.yamlwrite.yaml_scalar`), a list of sub-layers ``(kind, fields)`` → ``{type: kind, **fields}`` mappings."""
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], dict) for v in value):
        return [{"type": kind, **plain_value(fields)} for kind, fields in value]
    if isinstance(value, tuple) or isinstance(value, list):
        return [plain_value(v) for v in value]
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else value
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, bool):
        return bool(value)
    return value



def same_value(a, b) -> bool:
    """Whether two normalised field values are equal (a value equal to a default is left out of a written spec)."""
    try:
        return type(a) is type(b) and a == b or (isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction))
                                                  and not isinstance(a, bool) and a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False
