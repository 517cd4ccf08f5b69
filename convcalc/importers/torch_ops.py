"""The PyTorch op table: which handler maps a module, function, method or ATen op onto convcalc layers.

One table, keyed by what a traced graph calls: a ``torch.nn`` module class (or, for optional packages such as
torchvision, its qualified name, so nothing is imported to look it up), a function (``torch.flatten``,
``torch.nn.functional.relu``, ``operator.add``), a tensor method name (``"view"``), or an ATen op packet
(``torch.ops.aten.conv2d``, for graphs from torch.export). A handler is a small function registered with
:func:`handles` for every key it serves, with keyword options that tell keys apart (``kind="relu"``), as the
executor's kernels are; nothing dispatches on a layer kind with an if-chain.

Arguments reach a handler by name, whatever the call looked like:

* a function or method call binds its positional arguments to the ``params`` given at registration (a name
  starting with ``*`` collects the rest, as ``x.view(*shape)``);
* an ATen call binds them to the op's own schema (``self`` is read as ``input``); the schemas use the
  ``torch.nn.functional`` names, so one handler serves both;
* a **module call is mapped as the functional call its forward makes**: the module's attributes fill the
  parameters of the same name (``nn.Conv2d.stride`` for ``stride``, ``nn.MaxPool2d.ceil_mode`` for ``ceil_mode``),
  its parameters and buffers become constants (``weight`` is ``layer1.0.conv1.weight``).

A handler reads its arguments from the :class:`~convcalc.importers.torch_map.Op` it is given (activations as
:class:`Act`, parameters and buffers as :class:`Const`, everything else as plain Python values) and either emits
layers, returns one of its inputs (a no-op such as ``contiguous``), or raises :class:`Unmappable` with the reason,
which the mapper reports as an unsupported operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .fields import axes, compact, number, same_value, spec_fields  # noqa: F401  (the handlers' helpers)
from .torch_trace import qualified_name

aten = torch.ops.aten


class Unmappable(Exception):
    """This call has no layer kind (``reason`` says why, or is empty for an op the table does not know)."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


# ---- what handlers see -----------------------------------------------------------------------------------------
class Act:
    """An activation: the network's input or a layer's output; its ``shape`` is per sample."""


@dataclass(eq=False)
class Const:
    """A tensor that does not depend on the input: a parameter, a buffer, or a value computed from them."""

    node: object                # the graph node
    name: str | None            # its state_dict name, for a parameter or buffer
    learnable: bool
    value: torch.Tensor         # on the meta device unless the model was built on the CPU

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape)

    def numel(self) -> int:
        return self.value.numel()

    def known(self):
        """Its value as a Python number when it holds one element that is readable here (not on meta), else None."""
        if self.value.numel() != 1 or self.value.device.type == "meta":
            return None
        return number(self.value.reshape(()).item())


@dataclass
class Multi:
    """A tuple of outputs (``chunk``, ``split``): item ``i`` becomes a layer when the graph indexes it."""

    makers: list                # per item: a zero-argument callable giving its Act
    made: dict = field(default_factory=dict)

    def item(self, index: int):
        if index not in self.made:
            self.made[index] = self.makers[index]()
        return self.made[index]

    def all(self) -> list:
        return [self.item(i) for i in range(len(self.makers))]


# ---- arrays a layer reads from the real model ------------------------------------------------------------------
@dataclass
class ConstArray:
    """A constant's real value (read from the original model), reshaped to the executor's layout."""

    const: Const
    shape: tuple | None = None

    def read(self, original):
        value = original.constant(self.const)
        return value.reshape(self.shape) if self.shape is not None else value


@dataclass
class Concat:
    """Arrays joined along axis 0 (a deformable conv's offset and mask convs as one offset conv)."""

    parts: list

    def read(self, original):
        import numpy as np

        return np.concatenate([part.read(original) for part in self.parts])


@dataclass
class Zeros:
    """An array of zeros (a bias the original does not have but the kind's kernel allocates)."""

    shape: tuple

    def read(self, original):
        import numpy as np

        return np.zeros(self.shape, dtype=np.float32)


# ---- the table ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ByName:
    """A key for a class or function of an optional package, looked up by its qualified name."""

    qualname: str


@dataclass
class Entry:
    handler: Callable
    params: tuple           # positional parameter names, in order (``*name`` collects the rest)
    options: dict


MODULES: dict = {}          # nn.Module class or ByName → Entry
FUNCTIONS: dict = {}        # function or ByName → Entry
METHODS: dict = {}          # tensor method name → Entry
ATEN: dict = {}             # ATen OpOverloadPacket → Entry


def handles(*keys, params: str = "", **options):
    """Decorator: make ``handler(op, **options)`` the mapping of every key (see the module docstring)."""

    def register(handler):
        entry = Entry(handler, tuple(params.split()), options)
        for key in keys:
            for table in tables_of(key):
                table[key] = entry
        return handler

    return register


def tables_of(key) -> tuple:
    if isinstance(key, str):
        return (METHODS,)
    if isinstance(key, torch._ops.OpOverloadPacket):
        return (ATEN,)
    if isinstance(key, type) and issubclass(key, nn.Module):
        return (MODULES,)
    if isinstance(key, ByName):  # a module class or a function: only the matching lookup ever asks
        return (MODULES, FUNCTIONS)
    return (FUNCTIONS,)


def atens(*names) -> list:
    """The ATen op packets of these names that this torch has (a few are missing in some versions)."""
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


def module_entry(module: nn.Module) -> Entry | None:
    cls = type(module)
    return MODULES.get(cls) or MODULES.get(ByName(qualified_name(cls)))


def entry_for(call) -> Entry | None:
    """The table entry of a traced :class:`~convcalc.importers.torch_trace.Call`, or None."""
    if call.kind == "module":
        return module_entry(call.module)
    if call.kind == "method":
        return METHODS.get(call.key)
    if call.kind == "aten" and call.key in ATEN:
        return ATEN[call.key]
    try:
        return FUNCTIONS.get(call.key) or FUNCTIONS.get(ByName(qualified_name(call.key)))
    except TypeError:  # an unhashable target
        return None
