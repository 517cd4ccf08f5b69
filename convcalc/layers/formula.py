"""Counts written once, evaluated two ways: as exact integers for the analysis, or as terms that print themselves.

A layer kind writes each of its formulas (output size per axis, params, buffers, MACs, FLOPs) as ordinary Python
arithmetic over *quantities* it asks for by name::

    def counts(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        c_out, taps = q("C_out", g.c_out), q.prod("k", g.kernel)
        macs = c_out * q.prod("N_out", g.out_sizes) * q("(C_in/g)", g.c_in // g.groups) * taps
        ...

With :data:`NUMERIC` every quantity *is* its value, so the arithmetic is plain int arithmetic (the analysis path,
no objects built). With :data:`SYMBOLIC` every quantity is a term (:mod:`convcalc.layers.terms`), and the same
arithmetic builds a small
expression tree that knows its exact ``value``, its ``symbolic()`` form (``C_out·ΠN_out·(C_in/g)·Πk``, what
``convcalc explain KIND`` prints) and its ``worked()`` form with the numbers substituted (``64·56·56·64·3·3``, what
``convcalc explain SPEC --layer NAME`` prints; plain arithmetic that evaluates to ``value``). So the count, its
formula and its worked example cannot drift apart: they are one piece of code.

Vocabulary (the same methods on both): ``q(name, value, text=None)`` a named quantity (``text`` is how its value
is written in the worked form); ``q.prod(name, values)`` a product over axes (``Πk`` → ``3·3``);
``q.per_group(name, channels, groups)`` channels per group (``(C_in/g)`` → ``(64/4)``);
``q.opt(condition, term, note)`` an optional addend (``(+ C_out bias)``; counted only when ``condition`` holds);
``q.named(name, term)`` a named sub-term (printed by name, defined under the formula: ``2·MACs``, stage names of a
composite kind); ``q.cost(op)`` the FLOPs per element of an op (convcalc/cost/conventions.py);
``q.floor_div(a, b)`` / ``q.ceil_div(a, b)``. Python ints mix freely with terms (``2 * macs``, ``n - 1``).
"""

from __future__ import annotations

from math import prod
from math import prod as _prod  # (the class body below names a method `prod`)
from operator import floordiv

from ..cost.conventions import FLOPS_PER_ELEMENT


class Numeric:
    """Every quantity is its value: the arithmetic is plain int arithmetic (the analysis path).

    The methods take no ``self``: :data:`NUMERIC`, the evaluator the analysis uses, is a plain function (the
    quantity, ``q(name, value)``) carrying them as attributes, since calling an instance's ``__call__`` costs three
    times as much as calling a function, and a conv's geometry and counts ask for some twenty quantities."""

    symbolic = False

    @staticmethod
    def __call__(name: str, value, text: str | None = None):
        return value

    @staticmethod
    def prod(name: str, values):
        return prod(values)

    elements = staticmethod(_prod)  # the elements of a (C, *N) tensor: ``C·ΠN`` (math.prod itself: no wrapper)

    @staticmethod
    def per_group(name: str, channels: int, groups: int):
        """Channels per group: ``(C_in/g)``, written ``64``, ``(64/4)``, or ``1`` when every channel is a group."""
        return channels // groups

    @staticmethod
    def opt(condition, value, note: str):
        return value if condition else 0

    @staticmethod
    def named(name: str, value, expand: bool = True, note: str = ""):
        return value

    @staticmethod
    def cost(op: str):
        return FLOPS_PER_ELEMENT[op][0]

    floor_div = staticmethod(floordiv)  # ``a // b`` (operator.floordiv itself: no wrapper)

    @staticmethod
    def ceil_div(a, b):
        return -(-a // b)

    @staticmethod
    def exact_div(a, b):
        """``a/b`` where ``b`` divides ``a`` (checked by the caller)."""
        return a // b


class Symbolic(Numeric):
    """Every quantity is a :class:`~convcalc.layers.terms.Term`: the arithmetic builds a printable expression with
    the same value. The term classes load on first use (:mod:`convcalc.layers.terms`): the analysis never needs
    them, so it never pays for importing them."""

    symbolic = True

    def __call__(self, name: str, value, text: str | None = None):
        from .terms import Quantity

        return Quantity(name, value_of(value), text)

    def prod(self, name: str, values):
        from .terms import AxesProduct

        return AxesProduct(f"Π{name}" if name else "Π", [value_of(v) for v in values])

    def elements(self, shape):
        from .terms import Quantity

        shape = [value_of(n) for n in shape]
        return Quantity("C·ΠN" if len(shape) > 1 else "C", prod(shape), "·".join(map(str, shape)))

    def per_group(self, name: str, channels: int, groups: int):
        from .terms import Quantity

        text = str(channels) if groups == 1 else "1" if channels == groups else f"({channels}/{groups})"
        return Quantity(f"({name}/g)", channels // groups, text)

    def opt(self, condition, value, note: str):
        from .terms import Optional, term

        return Optional(condition, term(value), note)

    def named(self, name: str, value, expand: bool = True, note: str = ""):
        from .terms import Named, term

        return Named(name, term(value), expand, note)

    def cost(self, op: str):
        from .terms import Const, Named

        cost, what = FLOPS_PER_ELEMENT[op]
        return Named(f"f_{op}", Const(cost), expand=False, note=what)

    def floor_div(self, a, b):
        from .terms import Division, term

        return Division(term(a), term(b), ceil=False)

    def ceil_div(self, a, b):
        from .terms import Division, term

        return Division(term(a), term(b), ceil=True)

    def exact_div(self, a, b):
        from .terms import Quotient, term

        return Quotient(term(a), term(b))


def value_of(x):
    """The exact value of a term or a number."""
    return x.value if hasattr(x, "symbolic") else x


def _numeric(name: str, value, text: str | None = None):
    """A quantity of :data:`NUMERIC`: its value."""
    return value


#: the numeric evaluator: :class:`Numeric`'s vocabulary on a plain function (see :class:`Numeric`)
NUMERIC = _numeric
for _name in ("symbolic", "prod", "elements", "per_group", "opt", "named", "cost", "floor_div", "ceil_div",
              "exact_div"):
    setattr(NUMERIC, _name, getattr(Numeric, _name))
del _name
SYMBOLIC = Symbolic()


class Counts:
    """A layer's counts per sample, as ints (:data:`NUMERIC`) or as terms (:data:`SYMBOLIC`); iterates in field
    order like a named tuple. (The records here are plain slotted classes: the analysis imports every kind's module
    on every run, and creating a named-tuple class costs several times as much.)"""

    __slots__ = ("params", "buffers", "macs", "flops")
    _fields = __slots__

    def __init__(self, params=0, buffers=0, macs=0, flops=0):
        self.params = params  # (one statement each: a tuple assignment of four builds and unpacks a tuple)
        self.buffers = buffers
        self.macs = macs
        self.flops = flops

    def __iter__(self):
        return iter((self.params, self.buffers, self.macs, self.flops))

    def __getitem__(self, index):
        return (self.params, self.buffers, self.macs, self.flops)[index]

    def __repr__(self) -> str:
        return f"Counts(params={self.params!r}, buffers={self.buffers!r}, macs={self.macs!r}, flops={self.flops!r})"

    def values(self) -> "Counts":
        return Counts(*(value_of(v) for v in self))


ZERO = Counts()
