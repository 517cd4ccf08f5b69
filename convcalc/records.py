"""Dataclasses that do not import :mod:`dataclasses` until someone asks for one.

``import dataclasses`` imports :mod:`inspect`, and with it ``ast``, ``dis``, ``tokenize`` and ``linecache``: about
7 ms, a quarter of what ``convcalc analyze`` may spend beyond the interpreter's start-up (benchmarks/
analyze_speed.py). The classes every analysis builds (the graph, the report, the receptive field) are written with
:func:`record` instead. A record is a dataclass in every way that shows:

* the same ``__init__`` (positional or keyword, defaults, ``field(default_factory=…)``), ``__repr__``, ``__eq__``
  (over the fields with ``compare``) and ``__hash__`` (None, or over the fields when frozen) as
  ``@dataclass`` writes them; a frozen record refuses assignment with :class:`AttributeError`, as
  ``dataclasses.FrozenInstanceError`` (a subclass of it) does;
* ``dataclasses.is_dataclass``, ``fields``, ``asdict``, ``astuple`` and ``replace`` work on it: the first time
  anything reads its ``__dataclass_fields__``, :mod:`dataclasses` is imported and the class is processed by
  ``dataclasses.dataclass`` in place, which keeps the methods above and adds the rest.

:func:`replace` does what ``dataclasses.replace`` does for code that runs on the fast path.
"""

from __future__ import annotations

import sys

_MISSING = object()


class _Field:
    """What :func:`field` returns, and :func:`record` reads: like ``dataclasses.field``, for the options used here."""

    __slots__ = ("default", "default_factory", "compare", "repr")

    def __init__(self, default, default_factory, compare: bool, repr: bool):  # noqa: A002 (dataclasses' name)
        self.default, self.default_factory, self.compare, self.repr = default, default_factory, compare, repr


def field(*, default=_MISSING, default_factory=_MISSING, compare: bool = True, repr: bool = True):  # noqa: A002
    """``dataclasses.field`` for a :func:`record`: a default, or a default factory, and whether the field takes part
    in ``==`` and in the repr."""
    return _Field(default, default_factory, compare, repr)


class _Upgrade:
    """``__dataclass_fields__`` of a record before :mod:`dataclasses` has processed it: reading it processes it."""

    def __get__(self, instance, owner):
        return _as_dataclass(owner).__dataclass_fields__


def _as_dataclass(cls):
    import dataclasses

    if "__dataclass_fields__" in cls.__dict__ and not isinstance(cls.__dict__["__dataclass_fields__"], _Upgrade):
        return cls  # already processed
    delattr(cls, "__dataclass_fields__")
    spec = cls.__record__
    for name, option in spec["options"].items():
        setattr(cls, name, dataclasses.field(
            default=dataclasses.MISSING if option.default is _MISSING else option.default,
            default_factory=dataclasses.MISSING if option.default_factory is _MISSING else option.default_factory,
            compare=option.compare, repr=option.repr))
    annotations = cls.__dict__.get("__annotations__", {})
    if any(map(_is_classvar, annotations.values())):
        # dataclasses knows a ClassVar written as text only through the module's own `typing` import, which a
        # module on the start-up path does not make: it sees the fields alone
        cls.__annotations__ = {name: kind for name, kind in annotations.items() if not _is_classvar(kind)}
    if spec["frozen"]:  # dataclasses writes its own, and refuses to overwrite ours
        del cls.__setattr__, cls.__delattr__
    return dataclasses.dataclass(cls, frozen=spec["frozen"])


def record(cls=None, *, frozen: bool = False):
    """``@dataclass`` / ``@dataclass(frozen=True)`` without importing :mod:`dataclasses` (see the module)."""
    if cls is None:
        return lambda c: record(c, frozen=frozen)
    names = [name for name, annotation in cls.__dict__.get("__annotations__", {}).items()
             if not _is_classvar(annotation)]
    options = {}
    defaults = {}
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            options[name] = value
            if value.default is not _MISSING:
                defaults[name] = value.default
                setattr(cls, name, value.default)
            else:
                delattr(cls, name)
                if value.default_factory is not _MISSING:
                    defaults[name] = value
        elif value is not _MISSING:
            defaults[name] = value
    cls.__record__ = {"names": names, "options": options, "frozen": frozen}
    cls.__init__ = _init(cls, names, defaults, frozen)
    shown = [n for n in names if n not in options or options[n].repr]
    compared = [n for n in names if n not in options or options[n].compare]

    def __repr__(self):
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in compared) == tuple(getattr(other, n) for n in compared)
        return NotImplemented

    cls.__repr__, cls.__eq__ = __repr__, __eq__
    if frozen:
        def __hash__(self):
            return hash(tuple(getattr(self, n) for n in compared))

        def __setattr__(self, name, value):
            raise AttributeError(f"cannot assign to field {name!r}")

        def __delattr__(self, name):
            raise AttributeError(f"cannot delete field {name!r}")

        cls.__hash__, cls.__setattr__, cls.__delattr__ = __hash__, __setattr__, __delattr__
    else:
        cls.__hash__ = None
    for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        function = cls.__dict__.get(method)
        if function is not None:
            function.__qualname__ = f"{cls.__qualname__}.{method}"
    cls.__match_args__ = tuple(names)
    cls.__dataclass_fields__ = _Upgrade()
    return cls


def _is_classvar(annotation) -> bool:
    """``ClassVar[…]`` (written as text under ``from __future__ import annotations``, or the object): not a field."""
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(annotation, "__origin__", annotation).__class__.__name__ == "_SpecialForm" and \
        "ClassVar" in repr(annotation)


def _init(cls, names: list, defaults: dict, frozen: bool):
    """An ``__init__`` written out as dataclasses writes it (compiled once per class: keyword and positional calls
    cost what a hand-written one does)."""
    scope = {"_MISSING": _MISSING, "_set": object.__setattr__}
    parameters, body = [], []
    for name in names:
        default = defaults.get(name, _MISSING)
        if isinstance(default, _Field):  # a default factory: called per instance when the argument is left out
            scope[f"_factory_{name}"] = default.default_factory
            parameters.append(f"{name}=_MISSING")
            value = f"_factory_{name}() if {name} is _MISSING else {name}"
        elif default is not _MISSING:
            scope[f"_default_{name}"] = default
            parameters.append(f"{name}=_default_{name}")
            value = name
        else:
            parameters.append(name)
            value = name
        body.append(f"    _set(self, {name!r}, {value})" if frozen else f"    self.{name} = {value}")
    if "__post_init__" in cls.__dict__:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, scope)  # noqa: S102 (our own source, from the class's field names)
    function = scope["__init__"]
    function.__module__ = cls.__module__
    return function


def replace(obj, **changes):
    """``dataclasses.replace`` for a record: a copy with some fields changed."""
    values = {name: getattr(obj, name) for name in type(obj).__record__["names"]}
    values.update(changes)
    return type(obj)(**values)


def field_names(cls_or_obj) -> list[str]:
    """The field names of a record, in order (``[f.name for f in dataclasses.fields(cls)]``)."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    return list(cls.__record__["names"])


def as_dict(obj):
    """``dataclasses.asdict`` for records: fields to a dict, records, lists, tuples and dicts inside copied too."""
    if hasattr(type(obj), "__record__"):
        return {name: as_dict(getattr(obj, name)) for name in type(obj).__record__["names"]}
    if isinstance(obj, (list, tuple)):
        return type(obj)(as_dict(item) for item in obj)
    if isinstance(obj, dict):
        return type(obj)((as_dict(key), as_dict(value)) for key, value in obj.items())
    return obj


def is_processed(cls) -> bool:
    """Whether :mod:`dataclasses` has processed the record ``cls`` yet (for tests)."""
    return not isinstance(cls.__dict__.get("__dataclass_fields__"), _Upgrade) and "dataclasses" in sys.modules
