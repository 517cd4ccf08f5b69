"""The values a spec is read into, whichever reader read it (convcalc/spec/yamlio.py's PyYAML path or the fast
reader, convcalc/spec/fastyaml.py): read-only mappings and lists with marks, booleans that remember their word,
dates kept as text, and the exact reading of the YAML core schema's scalars."""

from __future__ import annotations

from fractions import Fraction

from ..errors import Mark, SpecError
from ..limits import check_literal_digits, check_number, decimal_value, shorten

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = _CORE + "str", _CORE + "int", _CORE + "float"


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


SCALAR_TAGS = {_INT, _FLOAT, _CORE + "timestamp", _CORE + "bool", _CORE + "null"}


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
