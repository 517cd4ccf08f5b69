"""A small, whitelisted expression evaluator for numeric spec fields.

``"make_divisible(32 * alpha, 8)"`` is parsed into an :mod:`ast` tree and walked node by node; only the operators and
functions below are allowed, names come from the vars and block arguments in scope, and nothing is ever passed
to Python's ``eval``. Arithmetic is exact: numbers are ints or :class:`fractions.Fraction`, so ``/`` never
rounds and a width multiplier of 0.1 is exactly one tenth.

Every operation is bounded (docs/spec.md, "Limits"): an expression is at most :data:`MAX_CHARS` characters and
:data:`MAX_DEPTH` levels deep, every value it computes stays within ±10^100 (:mod:`convcalc.limits`; a power is
refused before it is computed), and ``round`` takes at most :data:`MAX_ROUND_DIGITS` digits. So no expression
costs more than a few thousand operations on numbers of a few hundred bits.

The math functions ``log``, ``log2``, ``exp``, ``sqrt`` and ``pow`` are the one place where a result may be
inexact: where the exact value is irrational they return the IEEE double Python's :mod:`math` module gives for the
argument converted to the nearest double, taken exactly as the fraction it is (so later arithmetic rounds nothing
more). Where the inputs are exact and so is the answer, it is exact: ``sqrt`` of a perfect square, ``pow`` with a
whole exponent (as ``**``), ``log(x, b)`` and ``log2(x)`` of a whole power of the base (docs/spec.md, "Math
functions").

The module is long because the evaluator is one piece: every node kind it allows, each with the checks and the
message of its own mistakes, and the memo of parsed expressions and their values (:func:`evaluate`).
"""

from __future__ import annotations

import _ast  # the node classes and the parser, without ast.py (1 ms at start-up; imported for messages only)
import math
import operator
from fractions import Fraction
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any, Mapping

from ..errors import Mark, SpecError, did_you_mean, escaped
from ..limits import LIMIT_EXPONENT, LIMIT_TEXT, beyond_text, decimal_value, number_text, shorten, within
from .yamlio import YDate

#: the longest expression, in characters, and the deepest nesting of its operations
MAX_CHARS = 1000
MAX_DEPTH = 100
#: the most digits `round(x, n)` rounds to (a fraction within the bound has at most 100 decimal places that matter)
MAX_ROUND_DIGITS = LIMIT_EXPONENT


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor``, never going more than 10% below it.

    The rule of TF-Slim / torchvision's ``_make_divisible`` (MobileNetV2, EfficientNet).
    """
    divisor = _whole(divisor, "the divisor")
    min_value = divisor if min_value is None else _whole(min_value, "min_value")
    new_value = max(min_value, int(value + Fraction(divisor, 2)) // divisor * divisor)
    if new_value < Fraction(9, 10) * value:
        new_value += divisor
    return new_value


def _whole(value, what: str, least: int = 1) -> int:
    if value != int(value) or value < least:
        raise ValueError(f"{what} must be a whole number ≥ {least}, got {value}")
    return int(value)


def _round(value, ndigits=None):
    if ndigits is None:
        return round(value)
    ndigits = _whole(ndigits, "the digits", least=0)
    if ndigits > MAX_ROUND_DIGITS:
        raise ValueError(f"the digits must be at most {MAX_ROUND_DIGITS}, got {shorten(str(ndigits))}")
    return round(Fraction(value), ndigits)


_MAX_EXPONENT = 256
_LIMIT_BITS = 333  # 10^100 < 2^333: a power whose base has b > 1 bits and exponent e ≥ 334/(b - 1) is out of bounds


class _Refused(ValueError):
    """A math function's argument outside its domain or range: what is wrong (with the numbers) and the fix."""

    def __init__(self, what: str, hint: str):
        super().__init__(what)
        self.what, self.hint = what, hint


_BOUND_HINT = f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\")"


def _bits(value: Fraction) -> int:
    """Bits of the larger of numerator and denominator, less one: |value|**e stays within 10^100 while this
    times |e| is at most :data:`_LIMIT_BITS` (a bound checked before any power is computed)."""
    return max(abs(value.numerator), value.denominator).bit_length() - 1


def _shown(value) -> str:
    """A number for a message: an int exactly, a fraction as a decimal (the exact fraction of a double is long)."""
    return number_text(value) if not isinstance(value, Fraction) else f"{float(value):.10g}"


def _whole_power(base, exponent, code: str = ""):
    """``base ** exponent`` exactly, refused before it is computed when it would pass the bound. ``code`` names
    the power in the message (`2 ** 400`); without it the caller names it."""
    if abs(exponent) > _MAX_EXPONENT:
        raise _Refused(f"exponent {_shown(exponent)} is too large", f"keep exponents within ±{_MAX_EXPONENT}")
    base = Fraction(base)
    if _bits(base) * abs(exponent) > _LIMIT_BITS:
        raise _Refused(f"`{code}` is too large" if code else f"{_shown(base)} to the power {exponent} is beyond "
                       f"±{LIMIT_TEXT}", _BOUND_HINT)
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    return normalize(base ** exponent)


def _double(result: float):
    """The double ``result`` as the exact fraction it is (an int when whole)."""
    return normalize(Fraction(result))


def _positive(value, what: str, fix: str):
    if value <= 0:
        raise _Refused(f"{what} needs a number > 0, got {_shown(value)}", fix)


def _exact_log(value, base, approximate: float):
    """``k`` when ``value`` is exactly ``base ** k`` for the whole ``k`` nearest ``approximate``, else None:
    log(1000, 10) is 3, not the 2.9999999999999996 of dividing two doubles. Tried only when the power is cheap."""
    k = round(approximate)
    base = Fraction(base)
    if abs(k) <= _MAX_EXPONENT and _bits(base) * abs(k) <= _LIMIT_BITS and base ** k == value:
        return k
    return None


def _log(value, base=None):
    _positive(value, "the logarithm", "check the value of its argument")
    if base is None:
        return _double(math.log(value))  # math.log takes the int or fraction itself: no overflow to float first
    _positive(base, "the base of a logarithm", "use a base > 0 other than 1, e.g. log(x, 2)")
    if base == 1:
        raise _Refused("the base of a logarithm cannot be 1", "use a base > 0 other than 1, e.g. log(x, 2)")
    approximate = math.log(value) / math.log(base)
    exact = _exact_log(value, base, approximate)
    return exact if exact is not None else _double(approximate)


def _log2(value):
    _positive(value, "the logarithm", "check the value of its argument")
    approximate = math.log2(value)
    exact = _exact_log(value, 2, approximate)
    return exact if exact is not None else _double(approximate)


def _exp(value):
    # exp(x) passes 10^100 for x > 100·ln 10 ≈ 230.3; a double overflows past x ≈ 709.8
    if abs(value) > 231:
        where = f"beyond ±{LIMIT_TEXT}" if value > 0 else f"finer than 10^-{LIMIT_EXPONENT}"
        raise _Refused(f"exp({_shown(value)}) is about 10^{float(value) / math.log(10):,.1f}, {where}", _BOUND_HINT)
    return _double(math.exp(value))


def _sqrt(value):
    if value < 0:
        raise _Refused(f"the square root needs a number ≥ 0, got {_shown(value)}",
                       "check the value of its argument")
    exact = Fraction(value)
    top, bottom = math.isqrt(exact.numerator), math.isqrt(exact.denominator)
    if top * top == exact.numerator and bottom * bottom == exact.denominator:  # a perfect square: exact
        return normalize(Fraction(top, bottom))
    return _double(math.sqrt(exact))


def _pow(base, exponent):
    if exponent == int(exponent):  # a whole exponent: exact, as `**`
        return _whole_power(base, int(exponent))
    if base < 0:
        raise _Refused(f"a negative base ({_shown(base)}) has no real power with the fractional exponent "
                       f"{_shown(exponent)}", "use a whole exponent, or a base ≥ 0")
    if base == 0:
        if exponent < 0:
            raise ZeroDivisionError
        return 0
    magnitude = float(exponent) * math.log10(base)  # log10 of the result, known before it is computed
    if abs(magnitude) > LIMIT_EXPONENT + 1:
        where = f"beyond ±{LIMIT_TEXT}" if magnitude > 0 else f"finer than 10^-{LIMIT_EXPONENT}"
        raise _Refused(f"{_shown(base)} to the power {_shown(exponent)} is about 10^{magnitude:,.1f}, {where}",
                       _BOUND_HINT)
    return _double(math.pow(base, exponent))


#: how many arguments each function takes: (at least, at most)
ARITY = {"min": (2, None), "max": (2, None), "round": (1, 2), "ceil": (1, 1), "floor": (1, 1), "int": (1, 1),
         "abs": (1, 1), "make_divisible": (1, 3), "log": (1, 2), "log2": (1, 1), "exp": (1, 1), "sqrt": (1, 1),
         "pow": (2, 2)}

FUNCTIONS = {
    "min": min,
    "max": max,
    "round": _round,
    "ceil": math.ceil,
    "floor": math.floor,
    "int": int,
    "abs": abs,
    "make_divisible": make_divisible,
    "log": _log,
    "log2": _log2,
    "exp": _exp,
    "sqrt": _sqrt,
    "pow": _pow,
}

_BINOPS = {
    _ast.Add: operator.add, _ast.Sub: operator.sub, _ast.Mult: operator.mul, _ast.Div: None,
    _ast.FloorDiv: operator.floordiv, _ast.Mod: operator.mod, _ast.Pow: None,
}
_CMPOPS = {
    _ast.Eq: operator.eq, _ast.NotEq: operator.ne, _ast.Lt: operator.lt, _ast.LtE: operator.le,
    _ast.Gt: operator.gt, _ast.GtE: operator.ge,
}


def normalize(value):
    """Integral fractions become ints, so `64 / 2` is the int 32."""
    if type(value) is int:  # most values; an ABC isinstance check (Fraction is a numbers.Rational) costs more
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value.numerator)
    return value


def evaluate(text: str, names: Mapping[str, Any], mark: Mark | None = None, words: bool = False) -> Any:
    """Evaluate ``text`` with ``names`` in scope. Raises :class:`SpecError` pointing at ``mark``.

    ``words``: quoted words (``'relu'``) are values too, for the places that may give a word (a ``type:``, a
    ``when:``, a block argument); they can be chosen (``a if c else b``) and compared with ``==`` / ``!=`` only.

    An expression is a pure function of its text and the values of the names it reads, so both are remembered
    (:func:`_parsed`, :data:`_RESULTS`): a block repeated 16 times evaluates each of its expressions once per
    distinct set of values. The values are remembered for one expansion (:func:`forget_values`), so a sweep over a
    million points holds no more than one point's. Only successes are remembered, so every error is raised afresh
    with its own position; an expression that reads the input's shape (``in_channels`` …) is never looked up by
    value, because looking its names up would work out a shape the expression may not need."""
    parsed = _TREES.get(text) if type(text) is str else None  # a YAML date (a str subclass) is checked afresh
    if parsed is None:
        parsed = _parsed(text, mark)
    tree, source, used = parsed
    if used is None:  # reads a shape name, or names nothing hashable: evaluated every time
        return normalize(_Evaluator(text, names, mark, source, words).visit(tree))
    try:
        key = (text, words, *[(type(value), value) for value in map(names.__getitem__, used)])
        cached = _RESULTS.get(key, _MISSING)
    except Exception:  # an unknown name, an `index` not chosen yet, an unhashable value: the evaluator says which
        return normalize(_Evaluator(text, names, mark, source, words).visit(tree))
    if cached is _MISSING:
        cached = normalize(_Evaluator(text, names, mark, source, words).visit(tree))
        if len(_RESULTS) >= _MEMO_LIMIT:
            _RESULTS.clear()
        _RESULTS[key] = cached
    return cached


#: at most this many expressions and results are remembered (a sweep's grid may hold millions of points)
_MEMO_LIMIT = 50_000
_MISSING = object()
#: expression text → (its parsed body, the stripped source, the names it reads or None); see :func:`evaluate`
_TREES: dict = {}
#: (text, words, (type, value) of each name read) → the value; see :func:`evaluate`
_RESULTS: dict = {}
#: names whose lookup computes something (the item's input shape): an expression reading one is not memoised
UNMEMOISED_NAMES = frozenset(("in_channels", "in_size", "in_rank"))


def forget_values() -> None:
    """Start an expansion with no remembered values (the parsed expressions are kept: they depend on the text)."""
    _RESULTS.clear()


def _parsed(text: str, mark: Mark | None):
    """Check and parse ``text`` once: (body, source, the names it reads in order, or None if one is a shape name).
    The checks depend on the text alone, so a text that passed them once passes them again."""
    if isinstance(text, YDate):
        raise SpecError(f"`{text}` is a date in YAML, not a number", mark, "write a number")
    if "#" in text:  # Python would read the rest as a comment and drop it
        raise SpecError(f"the expression `{text}` contains `#`", mark,
                        "remove it: a comment inside a quoted expression would be dropped silently")
    source = text.strip()
    if len(source) > MAX_CHARS:
        raise SpecError(f"the expression `{shorten(source)}` is longer than {MAX_CHARS:,} characters", mark,
                        "split it over several vars (docs/spec.md, \"Limits\")")
    try:
        tree = compile(source, "<unknown>", "eval", _ast.PyCF_ONLY_AST)  # ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"cannot parse the expression `{shorten(text)}` ({shorten(exc.msg, 80)})", mark,
                        "use numbers, names, + - * / // % **, parentheses and "
                        + ", ".join(sorted(FUNCTIONS))) from None
    except (RecursionError, MemoryError):
        raise _too_deep(text, mark) from None
    if _depth(tree.body) > MAX_DEPTH:
        raise _too_deep(text, mark)
    used = list(dict.fromkeys(node.id for node in _walk(tree.body) if isinstance(node, _ast.Name)
                              and node.id not in _WORDS and not _is_function(node, tree.body)))
    parsed = (tree.body, source, None if UNMEMOISED_NAMES.intersection(used) else tuple(used))
    if len(_TREES) >= _MEMO_LIMIT:
        _TREES.clear()
    # a str subclass (a YAML date) is never remembered, its checks depend on its type; nor is a constant (`0.5`, a
    # sweep's next value), cheap to parse again and as varied as a grid
    if type(text) is str and parsed[2] != ():
        _TREES[text] = parsed
    return parsed


_WORDS = ("true", "True", "false", "False")


def _is_function(name, body) -> bool:
    """Whether the name ``name`` is the function of a call in ``body`` (``max`` in ``max(a, b)``), not a value."""
    return any(isinstance(node, _ast.Call) and node.func is name for node in _walk(body))


def _constant_text(value) -> str:
    """A constant of an expression as it was written: `'a'` for a string, `None`, `...`, `b'x'`."""
    return "..." if value is Ellipsis else repr(value) if isinstance(value, (str, bytes)) else str(value)


def _depth(tree) -> int:
    """How deeply the operations of a parsed expression nest, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _walk(node) -> list:
    """``ast.walk``: the node and every node under it, breadth first (in the same order)."""
    todo = [node]
    for node in todo:  # the list grows as it is read: a queue
        todo.extend(_children(node))
    return todo


def _children(node):
    """``ast.iter_child_nodes``: the nodes directly under ``node``, in field order."""
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, _ast.AST):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, _ast.AST))


def _code(node) -> str:
    """A part of an expression as a message quotes it."""
    import ast

    return shorten(ast.unparse(node), 120)


def _too_deep(text: str, mark: Mark | None) -> SpecError:
    """A sum of hundreds of terms, say: deeper than the walker goes."""
    return SpecError(f"the expression `{shorten(text)}` nests more than {MAX_DEPTH} levels deep", mark,
                     "split it over several vars (docs/spec.md, \"Limits\")")


class _Evaluator:
    def __init__(self, text: str, names: Mapping[str, Any], mark: Mark | None, source: str, words: bool = False):
        self.text, self.names, self.mark, self.source = shorten(text, 80), names, mark, source
        self.words = words

    def fail(self, what: str, hint: str):
        raise SpecError(f"in expression `{self.text}`: {what}", self.mark, hint)

    def visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            self.fail(f"`{_code(node)}` is not allowed",
                      "only arithmetic, comparisons, and/or/not, `a if c else b` and the functions "
                      + ", ".join(sorted(FUNCTIONS)) + " are allowed")
        value = method(node)
        if not within(value):  # every value computed stays within the bound, so every next step is cheap
            self.fail(f"`{_code(node)}` gives {beyond_text(value)}",
                      f"convcalc works with numbers up to {LIMIT_TEXT} (docs/spec.md, \"Limits\")")
        return value

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, bool):
                return value
            if self.words and isinstance(value, str):
                return value
            self.fail(f"the constant `{escaped(shorten(_constant_text(value)))}` is not a number", "expressions work on numbers only")
        if isinstance(value, float):
            # the decimal as written, exactly: Python's float would round 4.00000000000000000001 to 4.0
            import ast

            written = ast.get_source_segment(self.source, node)
            try:
                return decimal_value(written, self.mark, f"in expression `{self.text}`: the number")
            except ValueError:
                self.fail(f"cannot read the number `{shorten(written)}`", "write a plain decimal number")
        return value

    def visit_Name(self, node):
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if node.id not in self.names:
            self.fail(f"unknown name `{node.id}`",
                      did_you_mean(node.id, list(self.names)) + " (define it under `vars:` or as a block argument)"
                      if self.names else "no vars are in scope here: define it under `vars:` (above this use) "
                      "or as a block argument")
        value = self.names[node.id]
        if value is None:
            self.fail(f"`{node.id}` has no value", f"give `{node.id}` a value")
        return value

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, (_ast.USub, _ast.UAdd)):
            self._number(value, node)
            return -value if isinstance(node.op, _ast.USub) else +value
        if isinstance(node.op, _ast.Not):
            return not self._boolean(value, node)
        self.fail(f"operator `{_code(node)}` is not allowed", "use + - * / // % **")

    def visit_BinOp(self, node):
        if type(node.op) not in _BINOPS:
            self.fail(f"operator in `{_code(node)}` is not allowed", "use + - * / // % **")
        left, right = self.visit(node.left), self.visit(node.right)
        for side in (left, right):
            self._number(side, node)
        try:
            if isinstance(node.op, _ast.Div):
                return normalize(Fraction(left) / Fraction(right))
            if isinstance(node.op, _ast.Pow):
                if isinstance(right, Fraction) and right.denominator != 1 and abs(right) <= _MAX_EXPONENT:
                    self.fail("fractional powers are not exact",
                              "use whole-number exponents, or pow(x, y) for a floating-point result")
                return _whole_power(left, right, _code(node))
            return normalize(_BINOPS[type(node.op)](left, right))
        except ZeroDivisionError:
            self.fail(f"division by zero in `{_code(node)}`", "check the values of the names involved")
        except _Refused as refused:
            self.fail(refused.what, refused.hint)

    def _number(self, value, node):
        """Arithmetic takes numbers only: `8 * flag` with a boolean flag is a mistake, not 8 (Python's True == 1)."""
        if isinstance(value, bool):
            self.fail(f"`{_code(node)}` does arithmetic on the boolean {str(value).lower()}",
                      "YAML reads yes/no/on/off/true/false as booleans; give the var a number, or write "
                      "`a if flag else b` to choose between numbers")
        if isinstance(value, list):  # `in_size`: the spatial sizes
            self.fail(f"`{_code(node)}` works on the list {shorten(repr(value))}, not a number",
                      "take one of its items, e.g. `in_size[0]`")
        if not isinstance(value, (int, Fraction)):
            self.fail(f"`{_code(node)}` works on {shorten(repr(value))}, which is not a number", "use numbers")

    def _boolean(self, value, node) -> bool:
        """and/or/not and the test of `a if c else b` take booleans: `3 and 4` is a mistake, not 4."""
        if not isinstance(value, bool):
            self.fail(f"`{_code(node)}` needs a boolean, got {value}",
                      "compare to get one, e.g. `stride == 1` or `expand != 1`")
        return value

    def visit_BoolOp(self, node):
        stop = not isinstance(node.op, _ast.And)  # `and` stops at the first false, `or` at the first true
        for item in node.values:
            if self._boolean(self.visit(item), node) is stop:
                return stop
        return not stop

    def visit_Compare(self, node):
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            if type(op) not in _CMPOPS:
                self.fail(f"comparison in `{_code(node)}` is not allowed", "use == != < <= > >=")
            right = self.visit(comparator)
            if (isinstance(left, str) or isinstance(right, str)) and type(op) not in (_ast.Eq, _ast.NotEq):
                self.fail(f"`{_code(node)}` orders a word", "words can only be compared with == and !=")
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self._boolean(self.visit(node.test), node) else self.visit(node.orelse)

    def visit_Call(self, node):
        if not isinstance(node.func, _ast.Name) or node.func.id not in FUNCTIONS:
            import ast

            name = ast.unparse(node.func)
            self.fail(f"unknown function `{name}`", did_you_mean(
                name, FUNCTIONS, "the functions are " + ", ".join(f"`{f}`" for f in sorted(FUNCTIONS))))
        if node.keywords and node.func.id != "make_divisible":
            self.fail(f"`{node.func.id}` takes no keyword arguments", "pass the arguments by position")
        args = [self.visit(arg) for arg in node.args]
        kwargs = {kw.arg: self.visit(kw.value) for kw in node.keywords}
        lo, hi = ARITY[node.func.id]
        given = len(args) + len(kwargs)
        if given < lo or (hi is not None and given > hi):
            want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
            self.fail(f"`{node.func.id}` takes {want} argument{'s' if want != '1' else ''}, got {given}",
                      "e.g. max(a, b), round(x, 2), make_divisible(x, 8), log(x, 2), pow(x, y)")
        for value in (*args, *kwargs.values()):
            self._number(value, node)
        try:
            return normalize(FUNCTIONS[node.func.id](*args, **kwargs))
        except _Refused as refused:
            what = refused.what if refused.what.startswith("`") else f"`{_code(node)}`: {refused.what}"
            self.fail(what, refused.hint)
        except ZeroDivisionError:
            self.fail(f"division by zero in `{_code(node)}`", "check the values of the names involved")
        except (TypeError, ValueError) as exc:
            self.fail(f"`{_code(node)}` failed: {exc}", "check the number and kind of its arguments")

    def visit_Subscript(self, node):
        """``in_size[0]``: an item of a list of numbers (the input's spatial sizes), counted from 0 (or from the end
        with a negative index, as Python does)."""
        value = self.visit(node.value)
        if not isinstance(value, (list, tuple)):
            self.fail(f"`{_code(node)}` is not allowed",
                      f"only arithmetic, comparisons, and/or/not and `a if c else b` are allowed, and only a list "
                      f"such as `in_size` can be indexed (`in_size[0]`); `{_code(node.value)}` is "
                      f"{shorten(repr(value))}")
        if isinstance(node.slice, _ast.Slice):
            self.fail(f"`{_code(node)}` takes a slice", "take one item, e.g. `in_size[0]`")
        index = self.visit(node.slice)
        if isinstance(index, bool) or not isinstance(index, int):
            self.fail(f"`{_code(node)}` needs a whole-number index, got {shorten(repr(index))}", "e.g. `in_size[0]`")
        if not -len(value) <= index < len(value):
            self.fail(f"index {index} is out of range for `{_code(node.value)}`, a list of {len(value)}",
                      f"use an index from 0 to {len(value) - 1}" if value else "the list is empty (a flat input has "
                      "no spatial sizes)")
        return value[index]
