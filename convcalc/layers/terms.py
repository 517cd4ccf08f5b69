"""The printable terms of :data:`convcalc.layers.formula.SYMBOLIC`: exact values that print their formula
(``symbolic()``) and their worked arithmetic (``worked()``). Only ``convcalc explain`` and the tests build them;
the analysis never imports this module.
"""

from __future__ import annotations

from math import prod
from typing import Iterable


SUM, PRODUCT, ATOM = 0, 1, 2  # precedence: what needs parentheses inside what


class Term:
    """An exact count that prints itself. Subclasses set ``value`` (an int or Fraction) and ``prec``."""

    __slots__ = ("value",)
    prec = ATOM

    # ---- printing --------------------------------------------------------------------------------------------
    def symbolic(self) -> str:
        raise NotImplementedError

    def worked(self) -> str:
        raise NotImplementedError

    def definitions(self) -> list["Named"]:
        """Named sub-terms, innermost first: printed as ``where NAME = …`` under a formula."""
        out: dict[str, Named] = {}
        self._collect(out)
        return list(out.values())

    def _collect(self, out: dict) -> None:
        for child in self._children():
            child._collect(out)

    def _children(self) -> Iterable["Term"]:
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.symbolic()} = {self.worked()} = {self.value}>"

    # ---- arithmetic ------------------------------------------------------------------------------------------
    def __add__(self, other):
        return Sum.of((1, self), (1, term(other)))

    def __radd__(self, other):
        return Sum.of((1, term(other)), (1, self))

    def __sub__(self, other):
        return Sum.of((1, self), (-1, term(other)))

    def __rsub__(self, other):
        return Sum.of((1, term(other)), (-1, self))

    def __mul__(self, other):
        return Product.of(self, term(other))

    def __rmul__(self, other):
        return Product.of(term(other), self)

    def __floordiv__(self, other):
        return Division(self, term(other), ceil=False)

    def __rfloordiv__(self, other):
        return Division(term(other), self, ceil=False)

    # comparisons read the value (a formula may branch on sizes, e.g. PyTorch's ceil-mode rule)
    def __eq__(self, other):
        return self.value == _value(other)

    def __lt__(self, other):
        return self.value < _value(other)

    def __le__(self, other):
        return self.value <= _value(other)

    def __gt__(self, other):
        return self.value > _value(other)

    def __ge__(self, other):
        return self.value >= _value(other)

    def __hash__(self):
        return hash(self.value)

    def __int__(self):
        return int(self.value)

    def __index__(self):
        return int(self.value)


def _value(x):
    return x.value if isinstance(x, Term) else x


def term(x) -> Term:
    """``x`` as a term: a term unchanged, a number as a constant."""
    return x if isinstance(x, Term) else Const(x)


class Const(Term):
    """A plain number: printed as itself in both forms."""

    __slots__ = ()

    def __init__(self, value):
        self.value = value

    def symbolic(self) -> str:
        return str(self.value)

    def worked(self) -> str:
        return str(self.value)


class Quantity(Term):
    """A named quantity: ``C_out`` in the formula, ``64`` (or ``text``) in the worked form."""

    __slots__ = ("name", "text")

    def __init__(self, name: str, value, text: str | None = None):
        self.name, self.value, self.text = name, value, text

    def symbolic(self) -> str:
        return self.name

    def worked(self) -> str:
        return self.text if self.text is not None else str(self.value)


class Named(Term):
    """A named sub-term: printed as its name in the formula and defined below it; worked out in full (``expand``)
    or as its value."""

    __slots__ = ("name", "term", "expand", "note")

    def __init__(self, name: str, inner: Term, expand: bool = True, note: str = ""):
        self.name, self.term, self.expand, self.note = name, inner, expand, note
        self.value = inner.value

    @property
    def prec(self):
        return self.term.prec if self.expand else ATOM

    def symbolic(self) -> str:
        return self.name

    def worked(self) -> str:
        return self.term.worked() if self.expand else str(self.value)

    def _collect(self, out):
        self.term._collect(out)
        out.setdefault(self.name, self)

    @property
    def zero(self) -> bool:
        return isinstance(self.term, Const) and self.term.value == 0


class Optional(Term):
    """An addend counted only when ``condition`` holds; the formula always shows it: ``(+ C_out bias)``."""

    __slots__ = ("condition", "term", "note")
    prec = SUM

    def __init__(self, condition: bool, inner: Term, note: str):
        self.condition, self.term, self.note = bool(condition), inner, note
        self.value = inner.value if self.condition else 0

    def symbolic(self) -> str:  # standing alone (not an addend of a sum)
        return f"{self.term.symbolic()} ({self.note})"

    def worked(self) -> str:
        return self.term.worked() if self.condition else "0"

    def _children(self):
        return (self.term,)


class Sum(Term):
    """``a + b − c``; optional addends go last in the formula, in parentheses."""

    __slots__ = ("parts",)
    prec = SUM

    def __init__(self, parts):
        self.parts = tuple(parts)  # (sign, term)
        self.value = sum(sign * t.value for sign, t in self.parts)

    @classmethod
    def of(cls, *parts):
        flat = []
        for sign, t in parts:
            if isinstance(t, Sum):
                flat += [(sign * s, inner) for s, inner in t.parts]
            else:
                flat.append((sign, t))
        return cls(flat)

    @staticmethod
    def _shown(t: Term) -> bool:
        return not ((isinstance(t, Const) and t.value == 0) or (isinstance(t, Named) and t.zero))

    def symbolic(self) -> str:
        main = [(s, t) for s, t in self.parts if not isinstance(t, Optional) and self._shown(t)]
        text = _join(main, lambda t: t.symbolic()) or "0"
        for sign, t in self.parts:
            if isinstance(t, Optional):
                text += f" ({'+' if sign > 0 else '−'} {_wrap(t.term.symbolic(), t.term.prec, SUM)} {t.note})"
        return text

    def worked(self) -> str:
        shown = [(s, t.term if isinstance(t, Optional) else t) for s, t in self.parts
                 if (not isinstance(t, Optional) or t.condition) and self._shown(t)]
        return _join(shown, lambda t: _paren_named(t)) or "0"

    def _children(self):
        return [t for _, t in self.parts]


def _paren_named(t: Term) -> str:
    """A named stage inside a sum is worked out in parentheses when it is a sum itself, for readability."""
    text = t.worked()
    return f"({text})" if isinstance(t, Named) and t.expand and t.term.prec == SUM else text


def _join(parts, show) -> str:
    text = ""
    for sign, t in parts:
        piece = show(t)
        if sign < 0:
            piece = _wrap(piece, t.prec, PRODUCT)
        if not text:
            text = piece if sign > 0 else f"−{piece}"
        else:
            text += f" {'+' if sign > 0 else '−'} {piece}"
    return text


def _wrap(text: str, prec: int, context: int) -> str:
    return f"({text})" if prec < context else text


class Product(Term):
    """``a·b·c``; constant factors of 1 are left out of both forms."""

    __slots__ = ("factors",)
    prec = PRODUCT

    def __init__(self, factors):
        self.factors = tuple(factors)
        self.value = prod((f.value for f in self.factors), start=1)

    @classmethod
    def of(cls, *factors):
        flat = []
        for f in factors:
            flat += list(f.factors) if isinstance(f, Product) else [f]
        return cls(flat)

    def _shown(self):
        return [f for f in self.factors if not (isinstance(f, Const) and f.value == 1)]

    def symbolic(self) -> str:
        return "·".join(_wrap(f.symbolic(), f.prec, PRODUCT) for f in self._shown()) or "1"

    def worked(self) -> str:
        # a per-element cost of 1 (a named constant) adds nothing to the arithmetic: 3·6, not 3·6·1
        shown = [f for f in self._shown() if not (isinstance(f, Named) and not f.expand and f.value == 1)]
        return "·".join(_wrap(f.worked(), f.prec, PRODUCT) for f in shown) or "1"

    def _children(self):
        return self.factors


class Division(Term):
    """``floor(a/b)`` or ``ceil(a/b)`` (integer sizes)."""

    __slots__ = ("a", "b", "ceil")

    def __init__(self, a: Term, b: Term, ceil: bool):
        self.a, self.b, self.ceil = a, b, ceil
        self.value = -(-a.value // b.value) if ceil else a.value // b.value

    def _show(self, a: str, b: str, pa: int, pb: int) -> str:
        return f"{'ceil' if self.ceil else 'floor'}({_wrap(a, pa, ATOM)}/{_wrap(b, pb, ATOM)})"

    def symbolic(self) -> str:
        return self._show(self.a.symbolic(), self.b.symbolic(), self.a.prec, self.b.prec)

    def worked(self) -> str:
        return self._show(self.a.worked(), self.b.worked(), self.a.prec, self.b.prec)

    def _children(self):
        return (self.a, self.b)


class Quotient(Term):
    """``a/b`` that divides exactly (the caller checked it): channels per group, C/r."""

    __slots__ = ("a", "b")
    prec = PRODUCT

    def __init__(self, a: Term, b: Term):
        self.a, self.b = a, b
        self.value = a.value // b.value

    def symbolic(self) -> str:
        return f"{_wrap(self.a.symbolic(), self.a.prec, ATOM)}/{_wrap(self.b.symbolic(), self.b.prec, ATOM)}"

    def worked(self) -> str:
        return f"{_wrap(self.a.worked(), self.a.prec, ATOM)}/{_wrap(self.b.worked(), self.b.prec, ATOM)}"

    def _children(self):
        return (self.a, self.b)


class AxesProduct(Quantity):
    """``Πk`` in the formula, ``3·3`` in the worked form (``1`` for no axes)."""

    __slots__ = ()

    def __init__(self, name: str, values):
        values = [int(v) for v in values]
        super().__init__(name, prod(values), "·".join(map(str, values)) if values else "1")

    @property
    def prec(self):  # a single axis prints as one number
        return ATOM if "·" not in (self.text or "") else PRODUCT


# ---- the two ways to evaluate a formula ---------------------------------------------------------------------
