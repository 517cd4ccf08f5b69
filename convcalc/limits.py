"""The bounds every input meets, stated once (docs/spec.md, "Limits"), and the checks that enforce them where
values enter.

* **Numbers.** Every number convcalc reads or computes — a value in a spec, budgets file or baseline, a
  command-line option, an expression's result, and every shape, count and receptive field the analysis derives —
  is at most :data:`LIMIT` (10^100) in magnitude, and a fraction's denominator is at most 10^100. Beyond that is
  refused with the position where the number entered (:func:`check_number`) or the layer where it arose. Within it
  every operation is cheap (a 10^100 has 333 bits) and every renderer can write every value.
* **Text echoed back.** A hostile value is shown shortened: ``12345…(5000 digits)`` (:func:`shorten`, from
  :mod:`convcalc.errors`, where every message is bounded).
* **Files.** Regular files only, read with a size cap (:func:`read_file`): a FIFO, a device such as
  ``/dev/zero`` or a 50 MB spec is refused before any work.

This module imports nothing of convcalc but :mod:`convcalc.errors`, so every stage may use it.
"""

from __future__ import annotations

from fractions import Fraction

from .errors import Mark, SpecError, shorten

#: the largest magnitude of any number, and the largest denominator of a fraction
LIMIT_EXPONENT = 100
LIMIT = 10**LIMIT_EXPONENT
LIMIT_TEXT = "10^100"
#: digits a literal may have before it is even converted (10^100 has 101; leading zeros aside)
MAX_LITERAL_DIGITS = {10: LIMIT_EXPONENT + 1, 16: 84, 8: 112, 2: 333}
#: the largest exponent a decimal literal (``1e100``) may write before it is even converted
MAX_DECIMAL_EXPONENT = 1000

#: the size caps of the files convcalc reads
MAX_SPEC_BYTES = 2 * 2**20  # a spec or a budgets file: ~300× the largest shipped config, ~35,000 written-out layers
MAX_REPORT_BYTES = 64 * 2**20  # a baseline report (`convcalc analyze --format json`), one line per layer

#: trial division (:func:`divisors`) stops here: at most 2^21 steps (about 0.2 s), exact up to 2^42
DIVISOR_SEARCH = 1 << 21


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` ≥ 1, ascending, found in pairs (d, n / d) by trial division up to √n, and at most
    :data:`DIVISOR_SEARCH` steps: exact for n ≤ DIVISOR_SEARCH², beyond only the pairs with d ≤ DIVISOR_SEARCH (a
    number of 10^20 — a channel count, a kernel span — cannot be factored by trying every candidate). Callers that
    word a message from the list say so past that bound."""
    from math import isqrt

    small = [d for d in range(1, min(isqrt(n), DIVISOR_SEARCH) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def within(value) -> bool:
    """Whether an int or Fraction is inside the bound: magnitude ≤ 10^100, denominator ≤ 10^100."""
    if type(value) is int:
        return -LIMIT <= value <= LIMIT
    if isinstance(value, Fraction):
        return value.denominator <= LIMIT and -LIMIT * value.denominator <= value.numerator <= LIMIT * value.denominator
    if isinstance(value, int):  # bool and YBool
        return True
    return True  # not a number: another check says what is wrong with it


def beyond_text(value) -> str:
    """``value`` and why it is outside the bound, for a message: ``9.9999e+149 (150 digits), beyond ±10^100``."""
    if isinstance(value, Fraction) and value.denominator > LIMIT:
        return f"{number_text(value)}, finer than 10^-{LIMIT_EXPONENT} (a denominator above {LIMIT_TEXT})"
    return f"{number_text(value)}, beyond ±{LIMIT_TEXT}"


def check_number(value, mark: Mark | None, what: str, hint: str | None = None):
    """``value`` unchanged when within the bound, else a :class:`SpecError` at ``mark`` about ``what``."""
    if within(value):
        return value
    raise SpecError(f"{what} is {beyond_text(value)}", mark,
                    hint or f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\")")


def digit_count(value: int) -> int:
    """The number of decimal digits of ``|value|``, without converting it to text (CPython refuses > 4,300)."""
    value = abs(value)
    if value < 10**18:
        return len(str(value))
    estimate = int(value.bit_length() * 0.30102999566398120)  # log10(2); exact or one short
    return estimate + 1 if value >= 10**estimate else estimate


def number_text(value) -> str:
    """An int or Fraction for a message: exact when short (``1,234``, ``3/2``), else its first digits and size
    (``9.9999e+4999 (5000 digits)``). Never raises, never costs more than a few big-number divisions."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return number_text(value.numerator)
        if digit_count(value.numerator) + digit_count(value.denominator) <= 40:
            return f"{value.numerator}/{value.denominator}"
        return f"{number_text(value.numerator)}/{number_text(value.denominator)}"
    if not isinstance(value, int):
        return shorten(str(value))
    digits = digit_count(value)
    if digits <= 30:
        return str(int(value))
    lead = abs(value) // 10 ** (digits - 5)
    sign = "-" if value < 0 else ""
    return f"{sign}{str(lead)[0]}.{str(lead)[1:]}e+{digits - 1} ({digits:,} digits)"


def check_literal_digits(digits: str, base: int, text: str, mark: Mark | None, what: str) -> None:
    """Refuse a numeric literal with more digits than any number within the bound has, before converting it
    (CPython's int() refuses over 4,300 decimal digits, and a million hex digits would be read whole)."""
    significant = digits.lstrip("0")
    if len(significant) > MAX_LITERAL_DIGITS[base]:
        raise SpecError(f"{what} {shorten(text)} is beyond ±{LIMIT_TEXT}", mark,
                        f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\")")


def whole_number(text: str, what: str, mark: Mark | None = None, shown: str | None = None) -> int:
    """A decimal integer written on the command line or in a file (``224``, ``-3``), within the bound: its
    digits are counted before conversion. :class:`ValueError` for text that is not an integer (the caller says
    what it expected); :class:`SpecError` naming ``what`` (and echoing ``shown``, the whole option) beyond it."""
    digits = text.strip()
    check_literal_digits(digits.lstrip("+-"), 10, shown if shown is not None else digits, mark, what)
    return check_number(int(digits, 10), mark, what)


def decimal_value(text: str, mark: Mark | None = None, what: str = "the number") -> Fraction:
    """A decimal literal (``0.1``, ``2.5e-3``, ``1_000``) as the exact fraction it writes, within the bound.
    Raises :class:`SpecError` for one beyond it (checked on the text first, so ``1e999999999`` costs nothing)
    and :class:`ValueError` for text that is not a decimal number."""
    cleaned = text.replace("_", "").strip()
    mantissa, _, exponent = cleaned.lower().partition("e")
    if exponent:
        exponent_digits = exponent.lstrip("+-")
        if not exponent_digits.isdigit():
            raise ValueError(f"`{shorten(text)}` is not a decimal number")
        if len(exponent_digits.lstrip("0")) > 4 or int(exponent_digits) > MAX_DECIMAL_EXPONENT:
            why = f"finer than 10^-{LIMIT_EXPONENT}" if exponent.startswith("-") else f"beyond ±{LIMIT_TEXT}"
            raise SpecError(f"{what} {shorten(text)} is {why}", mark,
                            f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\")")
    digits = mantissa.lstrip("+-").replace(".", "")
    if len(digits.lstrip("0")) > 2 * LIMIT_EXPONENT + 2:  # more digits than a number within the bound can have
        raise SpecError(f"{what} {shorten(text)} has more digits than numbers within ±{LIMIT_TEXT} have", mark,
                        f"convcalc works with numbers up to {LIMIT_TEXT}, to at most 100 decimal places")
    value = Fraction(cleaned)  # ValueError for text that is not a number
    return check_number(value, mark, what)


def read_file(path: str, what: str, max_bytes: int = MAX_SPEC_BYTES, hint: str = "check the path") -> str:
    """The UTF-8 text of the regular file ``path``, read with a size cap. A FIFO, a device, a directory or a
    file over ``max_bytes`` is a :class:`SpecError` before anything is read: opening is non-blocking (a FIFO
    with no writer would wait forever) and the size is checked on the open file and again while reading
    (``/dev/zero`` and growing files report no size). ``what`` names the file in messages (``the budgets file``)."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise SpecError(f"cannot read {what} {shorten(path, 200)}: {exc.strerror or exc.__class__.__name__}", None,
                        hint) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise SpecError(f"{what} {shorten(path, 200)} is {kind}", None,
                            f"{hint}: convcalc reads regular files only (not pipes or devices)")
        if info.st_size > max_bytes:
            raise _too_big(path, what, info.st_size, max_bytes)
        data = b""
        while len(data) <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) > max_bytes:
            raise _too_big(path, what, None, max_bytes)
    except OSError as exc:
        raise SpecError(f"cannot read {what} {shorten(path, 200)}: {exc.strerror or exc.__class__.__name__}", None,
                        hint) from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{what} {shorten(path, 200)} is not UTF-8 text (byte {exc.start})", None, hint) from None


def _too_big(path: str, what: str, size: int | None, max_bytes: int) -> SpecError:
    got = f" ({size:,} bytes)" if size is not None else ""
    return SpecError(f"{what} {shorten(path, 200)} is larger than the limit of {max_bytes:,} bytes{got}", None,
                     "convcalc reads files up to that size (docs/spec.md, \"Limits\"); split the spec with blocks "
                     "and `repeat:`")


def layer_beyond(node, what: str, values) -> None:
    """Refuse a number beyond the bound that a layer derived (its output shape, a count, its receptive field),
    at the layer where it arose (a 400-layer stride-2 stack has an RF jump of 2^400, and keeping one per layer would
    take gigabytes). ``node`` is the graph node (its name and position)."""
    value = next(v for v in values if not within(v))
    raise SpecError(f"layer `{node.name}`: {what} reaches {beyond_text(value)}", node.mark,
                    f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\"); check the sizes, "
                    "strides and repeats up to this layer")
