"""How numbers are written, in one place: exact fractions, JSON values, counts with units, byte sizes, shapes.

Counts are exact Python integers everywhere in convcalc; receptive-field jumps and centres are exact fractions.
Everything that turns one of them into text comes from here, so a fraction reads ``3/2`` in every table, every
JSON file and every error message, and a count reads ``1,234,567`` (raw) or ``1.23 M`` (auto) everywhere.

No formatter raises on a number within the bound of :mod:`convcalc.limits` (±10^100), nor on any int at all: a
scaled value is rounded exactly (:func:`scaled_text`, never a float that overflows past 1.8·10^308), and an
integer too long to print (CPython refuses over 4,300 digits) is written by its size.
"""

from __future__ import annotations

from fractions import Fraction

#: the count units of ``--units`` (``auto`` picks K/M/G/T; ``raw`` is the exact integer)
UNITS = ("auto", "raw", "K", "M", "G")
_SCALE = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_AUTO = tuple((suffix, _SCALE[suffix]) for suffix in ("T", "G", "M", "K"))  # what ``auto`` tries, largest first
_BINARY = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def whole(value):
    """A whole :class:`~fractions.Fraction` as an ``int``; anything else unchanged."""
    if type(value) is Fraction and value.denominator == 1:
        return value.numerator
    return value


def fraction_text(value) -> str:
    """An exact number as text: ``3``, ``-3/2`` (ints, Fractions, or their text)."""
    if type(value) is int:  # most values: no Fraction made (a table writes one or two per row)
        return str(value)
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def json_number(value, sign: int = 1):
    """``sign·value`` for JSON, exactly: an int when whole, else a ``"p/q"`` string."""
    if type(value) is int:  # most values (isinstance of Fraction goes through the numbers ABCs)
        return value if sign == 1 else -value
    if isinstance(value, Fraction):
        numerator, denominator = sign * value.numerator, value.denominator
        return numerator if denominator == 1 else f"{numerator}/{denominator}"
    return value if sign == 1 else -value


def grouped(value: int) -> str:
    """An int with thousands separators: ``1,234,567``; by its size past what CPython prints."""
    if abs(value) >= _PRINTABLE:
        from .limits import number_text

        return number_text(value)
    return f"{value:,}"


_PRINTABLE = 10**4000  # CPython refuses to write an int of more than 4,300 digits


def scaled_text(value, scale: int = 1, places: int = 2) -> str:
    """``value / scale`` rounded exactly (half to even) to ``places`` decimals, with thousands separators:
    ``scaled_text(1_234_567, 10**6)`` is ``1.23``. Exact arithmetic, so it never overflows as a float would."""
    if type(value) is int and type(scale) is int and abs(value) < 10**15 * abs(scale):
        # int / int is correctly rounded, as float(Fraction(value, scale)) is (the division it does): same digits
        return f"{value / scale:,.{places}f}"
    exact = Fraction(value) / scale
    if abs(exact) < 10**15:  # a float holds it to better than the places shown: the same digits, faster
        return f"{float(exact):,.{places}f}"
    units = round(exact * 10**places)
    whole_part, fraction_part = divmod(abs(units), 10**places)
    sign = "-" if units < 0 else ""
    return f"{sign}{grouped(whole_part)}.{fraction_part:0{places}d}" if places else f"{sign}{grouped(whole_part)}"


def fmt_count(value: int, units: str = "raw") -> str:
    """An exact count with thousands separators (``raw``), in a fixed unit (K/M/G), or human (``auto``)."""
    if units == "raw":
        return grouped(value)
    if units == "auto":
        magnitude = abs(value)  # once: a table writes several counts per row
        for suffix, scale in _AUTO:
            if magnitude >= scale:
                return f"{scaled_text(value, scale)} {suffix}"
        return grouped(value)
    return f"{scaled_text(value, _SCALE[units], 3)} {units}"


def fmt_bytes(value: int, units: str = "auto", places: int = 2) -> str:
    """A byte size: exact with ``raw`` (``1,024 B``), else in binary units (``1.00 KiB``)."""
    if units == "raw":
        return f"{grouped(value)} B"
    for suffix, scale in _BINARY:
        if value >= scale:
            return f"{scaled_text(value, scale, places)} {suffix}"
    return f"{grouped(value)} B"


def fmt_shape(shape) -> str:
    """``64×56×56``; ``-`` for no shape."""
    return "×".join(str(s) for s in shape) if shape else "-"


def fmt_axes(values, fmt=str) -> str:
    """Per-axis values, once when all are equal: ``3`` or ``3×1``."""
    values = list(values)
    if values and values.count(values[0]) == len(values):  # all equal (ints and Fractions: no NaN)
        return fmt(values[0])
    return "×".join(fmt(v) for v in values)


def exact_text(value) -> str:
    """An exact value with thousands separators: ``1,622,336``; a fraction as a decimal (``1,234.5``); per-axis
    sizes as ``35×35``."""
    if isinstance(value, (tuple, list)):
        return "×".join(exact_text(v) for v in value)
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):,}" if abs(value) < 10**15 else grouped(round(value))
    return grouped(int(value))


def decimal_text(value: Fraction) -> str:
    """A number as a short decimal: ``1,500,000`` when whole, else ``1.5``."""
    if value.denominator == 1:
        return grouped(value.numerator)
    return str(float(value)) if abs(value) < 10**15 else grouped(round(value))


def percent_text(value, signed: bool = False) -> str:
    """``8.16%``; ``+0.62%`` when ``signed``; ``<0.01%`` for a tiny non-zero value; ``∞%`` for None (a share of a
    limit of 0)."""
    if value is None:
        return "∞%"
    number = Fraction(value)
    sign = "+" if signed and number > 0 else ""
    if 0 < abs(number) < Fraction(1, 100):
        return f"{sign}<0.01%" if number > 0 else "-<0.01%"
    return f"{sign}{scaled_text(number)}%"
