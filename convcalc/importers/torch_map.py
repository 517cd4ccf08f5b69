"""Mapping a traced PyTorch graph (:mod:`convcalc.importers.torch_trace`) onto convcalc layers.

Every call whose value is a tensor and that depends on the input goes through the op table
(:mod:`convcalc.importers.torch_ops`); what does not depend on the input is a constant (the model's parameters
and buffers, or values computed from them), and what is not a tensor (``x.size(0)``, shape arithmetic) is folded
into the plain value it had when traced. Then, in order:

1. fusions (:data:`convcalc.importers.torch_finish.FUSIONS`): a chain of single-use layers that is one layer of a
   kind of its own becomes that layer (the view → transpose → view channel shuffle of ShuffleNetV2; a layer norm
   between the permutes of torchvision's LayerNorm2d is ``layernorm`` over the channels; the pad and unpadded conv
   torch.export writes for a ``padding_mode`` conv is that conv);
2. only the layers that feed the output are kept (a fused chain's parts are dropped silently, anything else with
   a warning);
3. names: a module call gives its path (``layer1.0.conv1``; a module called again gets ``_1``, ``_2``); a
   functional op gets its enclosing module's path and its own name, numbered within that module call
   (``layer1.0.add``), and a module call that produces exactly one layer names it (torchvision's ``Permute``
   module, ``features.1.0.block.1``). ``scope`` is the chain of the enclosing module calls.
"""

from __future__ import annotations

import inspect
import operator
import re
from dataclasses import dataclass, field

import torch
from torch import fx

from . import torch_ops_layers, torch_ops_tensors  # noqa: F401  (they register their handlers)
from .torch_ops import Act, Const, Multi, Unmappable, entry_for, spec_fields
from .torch_trace import Call, Traced


class Input(Act):
    def __init__(self, shape):
        self.shape = shape


@dataclass(eq=False)
class Record(Act):
    """A layer while the graph is mapped; it becomes an :class:`~convcalc.importers.ir.ImportedLayer`."""

    kind: str
    fields: dict
    inputs: list            # of Act
    shape: tuple
    call: Call
    base: str               # its own name inside its module call
    tensor: str             # the graph node whose value it computes
    weights: list = field(default_factory=list)
    buffers: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    absorbed: bool = False  # part of a fused layer: dropped without a warning
    name: str = ""


class Op:
    """What a handler sees of one call: its arguments by name, its output shape, and how to emit layers."""

    def __init__(self, mapper: "Mapper", call: Call, entry):
        self.mapper, self.call = mapper, call
        self.module = call.module
        self.value = mapper.traced.values.get(call.node)
        self.bound = bind(call, entry) if entry is not None else {}
        self.item = None          # the index of the Multi item being made
        self.numbered = False

    # ---- arguments -------------------------------------------------------------------------------------------
    def arg(self, *names, default=None):
        """The first of ``names`` the call has, resolved (activations, constants, plain values); ``default`` when
        it has none of them or it is None."""
        for name in names:
            if name in self.bound:
                value = self.mapper.resolve(self.bound[name], self)
                return default if value is None else value
        return default

    @property
    def input(self) -> Act:
        value = self.arg("input")
        if isinstance(value, Multi):
            self.fail("a tuple of tensors where a tensor is expected")
        if not isinstance(value, Act):
            self.fail("its input is not an activation")
        return value

    def const(self, *names) -> Const | None:
        value = self.arg(*names)
        if value is not None and not isinstance(value, Const):
            self.fail(f"its {names[0]} is computed from the input (convcalc layers have fixed weights)")
        return value

    def dim(self, dim: int, of: Act | None = None) -> int:
        """A torch axis (batch first) of ``of`` (default: the input) as a per-sample axis; the batch axis itself
        cannot be mapped."""
        rank = len((of or self.input).shape) + 1
        axis = int(dim) % rank
        if axis == 0:
            self.fail("it works along the batch axis")
        return axis - 1

    @property
    def batch(self) -> int:
        return self.mapper.batch

    def _tensor(self):
        value = self.value
        if self.item is not None:
            value = value[self.item]
        if not isinstance(value, torch.Tensor):
            self.fail("its output is not one tensor")
        return value

    @property
    def out_shape(self) -> tuple:
        return tuple(self._tensor().shape[1:])

    @property
    def out_batch(self) -> int:
        return self._tensor().shape[0]

    @property
    def outputs(self) -> list:
        return [tuple(v.shape[1:]) for v in self.value]

    # ---- results ---------------------------------------------------------------------------------------------
    def emit(self, kind: str, fields: dict | None = None, inputs=None, weights=(), buffers=(), base=None,
             meta=None) -> Record:
        """A layer of ``kind`` computing this call's value (``inputs``: default this call's input)."""
        base = base or self.mapper.base_of(self.call)
        if self.item is not None and self.numbered:
            base = f"{base}.{self.item}"
        record = Record(kind, dict(fields or {}), list(inputs) if inputs is not None else [self.input],
                        self.out_shape, self.call, base, self.call.node.name, list(weights), list(buffers),
                        dict(meta or {}))
        self.mapper.records.append(record)
        return record

    def multi(self, makers: list, numbered: bool = True) -> Multi:
        """A tuple output: maker ``i`` emits item ``i`` (named ``base.i`` when ``numbered``) when indexed."""

        def made(index, maker):
            def make():
                self.item, self.numbered = index, numbered
                try:
                    return maker()
                finally:
                    self.item = None
            return make

        return Multi([made(i, m) for i, m in enumerate(makers)])

    def item_of(self, multi: Multi, index: int) -> Act:
        """Item ``index`` of a tuple output; its layer computes this (indexing) node's value."""
        act = multi.item(index)
        if isinstance(act, Record) and act.call is not self.call and act.tensor == act.call.node.name:
            act.tensor = self.call.node.name
        return act

    def consumers(self, act) -> int:
        node = self.mapper.node_of.get(id(act))
        return len(node.users) if node is not None else 0

    def absorb(self, act) -> None:
        if isinstance(act, Record):
            act.absorbed = True

    def fail(self, reason: str):
        raise Unmappable(reason)


def bind(call: Call, entry) -> dict:
    """The call's arguments by parameter name (see :mod:`convcalc.importers.torch_ops`); for a module call, also
    the module's attributes named like the handler's parameters."""
    target = call.node.target
    if call.kind == "module":
        try:
            names = list(inspect.signature(type(call.module).forward).parameters)[1:]
        except (TypeError, ValueError):
            names = ["input"]
        bound = dict(zip(["input"] + names[1:], call.args))
        bound.update(call.kwargs)
        for name in entry.params:
            if name not in bound and hasattr(call.module, name):
                bound[name] = ModuleAttribute(call.node.target, name, getattr(call.module, name))
        return bound
    schema = getattr(target, "_schema", None)
    params = [("input" if a.name == "self" else a.name) for a in schema.arguments] if schema is not None \
        else list(entry.params)
    bound = {}
    args = list(call.args)
    for i, name in enumerate(params):
        if name.startswith("*"):
            bound[name[1:]] = tuple(args[i:])
            break
        if i < len(args):
            bound[name] = args[i]
    for key, value in call.kwargs.items():
        bound["input" if key == "self" else key] = value
    return bound


@dataclass
class ModuleAttribute:
    """An attribute of the called module, standing for the argument of the same name."""

    path: str
    name: str
    value: object


class Mapper:
    def __init__(self, traced: Traced, batch: int):
        self.traced, self.batch = traced, batch
        self.records: list[Record] = []
        self.results: dict = {}         # fx.Node → Act or Multi
        self.consts: dict = {}          # fx.Node → Const
        self.active: set = set()        # nodes that depend on the input
        self.node_of: dict = {}         # id(Act) → the node whose value it is
        self.unused: list = []          # nodes whose value nothing reads

    # ---- values ----------------------------------------------------------------------------------------------
    def resolve(self, value, op=None):
        if isinstance(value, fx.Node):
            if value in self.results:
                return self.results[value]
            if value in self.consts:
                return self.consts[value]
            return self.traced.values.get(value)
        if isinstance(value, ModuleAttribute):
            if isinstance(value.value, torch.Tensor):
                learnable = isinstance(value.value, torch.nn.Parameter)
                return Const(None, f"{value.path}.{value.name}", learnable, value.value)
            return value.value
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(v, op) for v in value) if not isinstance(value, torch.Size) else value
        if isinstance(value, dict):
            return {k: self.resolve(v, op) for k, v in value.items()}
        return value

    def base_of(self, call: Call) -> str:
        """A functional op's own name: fx's node name without the number fx adds to make it unique."""
        if call.kind == "module":
            return call.node.target.rsplit(".", 1)[-1]
        return re.sub(r"_\d+$", "", call.node.name).rstrip("_") or call.node.name

    # ---- the walk --------------------------------------------------------------------------------------------
    def run(self, input_shape: tuple) -> None:
        traced = self.traced
        self.results[traced.input_node] = Input(tuple(input_shape))
        self.active.add(traced.input_node)
        for node, constant in traced.constants.items():
            self.consts[node] = Const(node, constant.name, constant.learnable, traced.values.get(node))
        for node in traced.graph_module.graph.nodes:
            if node.op == "placeholder" and node not in self.consts and node is not traced.input_node:
                self.consts[node] = Const(node, None, False, traced.values.get(node))
        for call in traced.calls:
            node, value = call.node, traced.values.get(call.node)
            if not any(n in self.active for n in node.all_input_nodes):
                if holds_tensor(value):
                    self.consts[node] = Const(node, None, False, value)
                continue
            if not holds_tensor(value):
                continue
            self.active.add(node)
            if not node.users:  # computed and never used: not part of the network (a warning names it)
                if node.target is not operator.getitem:  # unpacking an output nobody reads is not worth one
                    self.unused.append(node.name)
                continue
            result = self.map_call(call)
            self.results[node] = result
            self.node_of.setdefault(id(result), node)

    def map_call(self, call: Call):
        entry = entry_for(call)
        op = Op(self, call, entry)
        try:
            if entry is None:
                raise Unmappable("")
            result = entry.handler(op, **entry.options)
            if result is None:
                raise RuntimeError(f"the handler of {call.label} returned nothing")
            return result
        except Unmappable as exc:
            return self.unsupported_call(op, exc.reason)

    def unsupported_call(self, op: Op, reason: str):
        """Remember the op and stand a zero-cost ``unsupported`` placeholder in for it (used when allowed, and so
        the walk goes on to find every other unsupported op)."""
        call = op.call
        where = call.node.target if call.kind == "module" else call.node.name
        inputs = []
        for value in flatten(self.resolve(tuple(call.args) + tuple(call.kwargs.values()))):
            for act in (list(value.made.values()) if isinstance(value, Multi) else [value]):
                if isinstance(act, Act) and act not in inputs:
                    inputs.append(act)
        op.item = None

        def placeholder(index=None):
            op.item = index
            fields = {"op": call.label, "shape": list(op.out_shape), "of": where}
            record = op.emit("unsupported", spec_fields("unsupported", **fields),
                             inputs=inputs or [self.results[self.traced.input_node]],
                             meta={"unmapped": (call.label, reason), "of": where})
            op.item = None
            return record

        if isinstance(op.value, torch.Tensor):
            return placeholder()
        return Multi([lambda i=i: placeholder(i) for i in range(len(op.value))])


def output_of(mapper: Mapper):
    """The layer the model returns (the first, when it returns several tensors) and how many others it returns."""
    found = []
    for value in flatten(mapper.resolve(mapper.traced.output)):
        for act in (value.all() if isinstance(value, Multi) else [value]):
            if isinstance(act, Record) and act not in found:
                found.append(act)
    return (found[0], len(found) - 1) if found else (None, 0)


def holds_tensor(value) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value)


def flatten(value):
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        for v in value:
            yield from flatten(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from flatten(v)
    else:
        yield value
