"""The registry of layer kinds: ``type:`` → class, each kind's module imported the first time it is looked up.

Importing all fifteen kind modules costs several milliseconds, a fifth of ``convcalc analyze``'s start-up, while a
network uses a few of them (ResNet-50: conv, batchnorm, relu, maxpool, add, global_avgpool, flatten, linear). So
:data:`REGISTRY` starts with no class in it, only the index :data:`KINDS` of which module registers which kind.
Looking a kind up (``REGISTRY[kind]``, ``.get``) imports that module, whose ``@register`` classes fill their
entries; membership (``kind in REGISTRY``) and ``len`` answer from the index without importing anything; anything
that sees every entry (iteration, ``keys``/``values``/``items``, ``==``, ``copy``, removing an entry) first imports
every kind module, after which the registry is the dict an eager import would have built, in the same order.

The index is data beside the code it describes, so ``tests/layers/test_registry.py`` proves it exact: importing
every module under convcalc/layers/ registers exactly :data:`KINDS`, each from its module, in that order, and
their fields are exactly :data:`FIELD_NAMES`. (The modules are imported by name here, never by an import
statement: each of them imports :mod:`convcalc.layers.base`, which holds this registry.)
"""

from __future__ import annotations

#: every kind → the module of convcalc.layers that registers it, in the order that importing the modules in
#: alphabetical order registers them (excitation imports linear first; placeholder, reshape)
KINDS = {kind: module for module, kinds in (
    ("channel", "channel_shuffle channel_slice"),
    ("conv", "conv depthwise pointwise conv_transpose"),
    ("deformable", "deformable"),
    ("elementwise", "relu relu6 leaky_relu sigmoid tanh gelu silu hardswish hardsigmoid swish dropout identity prelu "
                    "elu selu mish softplus hardtanh softmax"),
    ("linear", "linear"),
    ("excitation", "squeeze_excitation"),
    ("factorised", "separable depthwise_separable flattened"),
    ("merge", "add concat multiply subtract divide"),
    ("norm", "batchnorm layernorm groupnorm instancenorm"),
    ("reshape", "permute reshape flatten"),
    ("placeholder", "unsupported"),
    ("pool", "maxpool minpool avgpool lppool stochastic_pool global_avgpool global_maxpool adaptive_avgpool "
             "adaptive_maxpool"),
    ("resample", "upsample pixel_shuffle pixel_unshuffle pad"),
    ("scale", "scalar layer_scale bias_add"),
    ("unshared", "locally_connected tiled"),
) for kind in kinds.split()}

#: the field names of every kind in :data:`KINDS` (what a flat ``defaults:`` entry may set), so that a spec's
#: ``defaults: {bias: false}`` is checked without importing every kind
FIELD_NAMES = frozenset(
    "activation affine align_corners alpha approximate axis beta bias ceil_mode count_include_pad dilation dims end "
    "eps factor gate groups keepdims kernel learnable max_val mid min_val mode modulated multiplier negative_slope "
    "num_parameters of offset_groups op order out output_padding output_size p padding padding_mode reduction scale "
    "shape size squeeze start stop stride threshold tile track_running_stats value".split())

_MISSING = object()


class Registry(dict):
    """``type:`` → layer class, filled kind module by kind module (see the module docstring).

    A dict whose entries are the classes registered so far, so that a lookup of a loaded kind is a plain dict
    lookup (the analysis makes one per layer); :meth:`__missing__` imports a kind not loaded yet. ``pending`` holds
    the indexed kinds whose module has not registered them yet. ``state`` is an object replaced whenever an entry
    changes other than by a kind module registering its own kinds (a kind added, replaced or removed): a cache of
    work done with the registry compares it by identity (:meth:`convcalc.spec.loader.Network.expanded`)."""

    def __init__(self, kinds: dict[str, str], field_names: frozenset, package: str):
        super().__init__()
        self.kinds, self.field_names, self.package = kinds, field_names, package
        self.pending = dict(kinds)
        self.state = object()
        self._indexed = True  # every entry is the class its kind module registered: field_names holds

    # ---- filling --------------------------------------------------------------------------------------------
    def add(self, cls) -> None:
        """Enter ``cls`` as the class of ``cls.kind`` (:func:`convcalc.layers.base.register`). A kind already
        registered, or indexed as another module's (an eager import would have registered it first), is an
        error."""
        kind = cls.kind
        module = self.pending.get(kind)
        if dict.__contains__(self, kind) or module is not None and cls.__module__ != f"{self.package}.{module}":
            raise RuntimeError(f"layer kind {kind!r} registered twice")
        dict.__setitem__(self, kind, cls)
        if module is None:  # a kind beyond the index (a plugin's, a test's)
            self._changed()
        else:
            del self.pending[kind]

    def __missing__(self, kind):
        module = self.pending.get(kind)
        if module is None:
            raise KeyError(kind)
        self._import(module)
        return dict.__getitem__(self, kind)

    def _import(self, module: str) -> None:
        __import__(f"{self.package}.{module}")  # by name: the kind modules import this one (through base)
        left = [kind for kind, name in self.pending.items() if name == module]
        if left:
            raise RuntimeError(f"{self.package}.{module} registers no kind {', '.join(map(repr, left))}, which "
                               f"{__name__}.KINDS says it does: correct the index")

    def load_all(self) -> None:
        """Import every kind module; the entries are then in the order an eager import of them all gives."""
        if not self.pending:
            return
        for module in dict.fromkeys(self.pending.values()):
            if module in self.pending.values():
                self._import(module)
        entries = dict(dict.items(self))
        dict.clear(self)
        for kind in [kind for kind in self.kinds if kind in entries] + [kind for kind in entries if kind not in
                                                                       self.kinds]:
            dict.__setitem__(self, kind, entries[kind])

    def _changed(self) -> None:
        self.state = object()
        self._indexed = False

    def all_field_names(self) -> frozenset:
        """The field names of every registered kind, importing none while the entries are the indexed classes."""
        if self._indexed:
            return self.field_names
        return frozenset(key for cls in self.values() for key in cls.fields)

    # ---- reading: a kind, or how many, from the index; anything more sees every kind ----------------------
    def __contains__(self, kind) -> bool:
        return dict.__contains__(self, kind) or kind in self.pending

    def __len__(self) -> int:
        return dict.__len__(self) + len(self.pending)

    def get(self, kind, default=None):
        value = dict.get(self, kind, _MISSING)
        if value is _MISSING:
            return self[kind] if kind in self.pending else default
        return value

    def __iter__(self):
        self.load_all()
        return dict.__iter__(self)

    def __reversed__(self):
        self.load_all()
        return dict.__reversed__(self)

    def keys(self):
        self.load_all()
        return dict.keys(self)

    def values(self):
        self.load_all()
        return dict.values(self)

    def items(self):
        self.load_all()
        return dict.items(self)

    def copy(self) -> dict:
        self.load_all()
        return dict(dict.items(self))

    def __eq__(self, other):
        self.load_all()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        self.load_all()
        return dict.__ne__(self, other)

    __hash__ = None

    def __or__(self, other):
        return self.copy() | other

    def __ror__(self, other):
        return other | self.copy()

    def __repr__(self) -> str:
        self.load_all()
        return f"Registry({dict.__repr__(self)})"

    def __reduce__(self):
        return dict, (self.copy(),)

    # ---- changing an entry from outside (a plugin, a test's monkeypatch) --------------------------------------
    def __setitem__(self, kind, cls) -> None:
        if kind in self.pending:  # its own module first, as if every kind were loaded
            self[kind]
        if dict.get(self, kind, _MISSING) is not cls:
            dict.__setitem__(self, kind, cls)
            self._changed()

    def __delitem__(self, kind) -> None:
        self.load_all()  # so that nothing brings it back, and the order stays an eager import's
        dict.__delitem__(self, kind)
        self._changed()

    def setdefault(self, kind, default=None):
        value = self.get(kind, _MISSING)
        if value is _MISSING:
            self[kind] = value = default
        return value

    def pop(self, kind, *default):
        self.load_all()
        found = dict.__contains__(self, kind)
        value = dict.pop(self, kind, *default)
        if found:
            self._changed()
        return value

    def popitem(self):
        self.load_all()
        item = dict.popitem(self)
        self._changed()
        return item

    def clear(self) -> None:
        self.load_all()
        dict.clear(self)
        self._changed()

    def update(self, *others, **entries) -> None:
        for kind, cls in dict(*others, **entries).items():
            self[kind] = cls

    def __ior__(self, other):
        self.update(other)
        return self


#: the one registry of layer kinds
REGISTRY = Registry(KINDS, FIELD_NAMES, __name__.rpartition(".")[0])
