"""Mapping an ONNX graph (:mod:`convcalc.importers.onnx_graph`) onto convcalc layers.

The walk visits the nodes in the file's order. A node whose outputs folded (:mod:`convcalc.importers.onnx_fold`)
is a constant; a node that reads no activation is a constant too (a weight passed through a ``Transpose``: its
value is computed from the real weights only when they are loaded); every other node goes through the op table
(:mod:`convcalc.importers.onnx_ops`), whose handler emits layers or returns one of its inputs (a no-op), or
raises :class:`Unmappable`, after which the node is kept as a zero-cost ``unsupported`` placeholder and the walk
goes on, so that one error lists every unsupported op.

Records are the PyTorch frontend's (the same fusions, live set and names follow:
:mod:`convcalc.importers.torch_finish`), and so are the names: a node's scope is the chain of modules the
exporter recorded, from the node name (``/layer1/layer1.0/conv1/Conv``, the TorchScript exporter's) or from the
``pkg.torch.onnx.name_scopes`` metadata (the dynamo exporter's, with the class names in
``pkg.torch.onnx.class_hierarchy``). A module whose nodes come again after other nodes was called again: that is
its call 1, 2, … (named ``relu_1`` as the PyTorch frontend names a module called again).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .fields import number


class Unmappable(Exception):
    """This node has no layer kind (``reason`` says why, or is empty for an op type the table does not know)."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


class Act:
    """An activation: the network's input or a layer's output; its ``shape`` is per sample."""


class Input(Act):
    def __init__(self, shape):
        self.shape, self.name = tuple(shape), "input"


@dataclass(eq=False)
class Const:
    """A tensor that does not depend on the input: an initializer, a Constant, or a value computed from them.
    ``value`` is known for small tensors (folded), else None; the real array is read when the weights are."""

    name: str
    shape: tuple
    value: object = None
    learnable: bool = False  # an initializer (a model weight), or computed from one

    def numel(self) -> int:
        import math

        return math.prod(self.shape)

    def known(self):
        """Its value as a Python number when it holds one known element, else None."""
        if self.value is None or self.value.size != 1:
            return None
        return number(self.value.reshape(()).item())


@dataclass
class Call:
    """What the shared record code reads of a node: the node, its op type and its scope."""

    node: object             # NodeProto (``.name``)
    label: str               # the op type
    scope: tuple             # ((path, class name, call index), ...), outermost first
    kind: str = "onnx"


@dataclass(eq=False)
class Record(Act):
    """A layer while the graph is mapped (the same fields as the PyTorch frontend's record)."""

    kind: str
    fields: dict
    inputs: list
    shape: tuple
    call: Call
    base: str
    tensor: str
    weights: list = field(default_factory=list)
    buffers: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    absorbed: bool = False
    name: str = ""


@dataclass
class ConstArray:
    """A constant's real value, in the executor's layout: reshaped, or transposed (a MatMul weight (in, out) is a
    linear weight (out, in))."""

    const: Const
    shape: tuple | None = None
    transpose: bool = False

    def read(self, arrays):
        value = arrays.value(self.const.name)
        if self.transpose:
            value = value.T
        return value.reshape(self.shape) if self.shape is not None else value


#: initializer names an exporter makes up for constants it writes (torch.onnx's dynamo exporter: val_12)
GENERATED = re.compile(r"val_\d+")


# ---- scopes ---------------------------------------------------------------------------------------------------
def snake(name: str) -> str:
    """An op type as a functional op's name: ``GlobalAveragePool`` → ``global_average_pool``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


#: ONNX op types named as the torch function that exports to them (``torch.cat`` is Concat)
BASE_NAMES = {"Concat": "cat", "MatMul": "matmul", "ReduceMean": "mean"}


def node_scope(node) -> tuple[list, str]:
    """``([(path, class name), ...], own name)`` of a node, from the exporter's metadata or its name."""
    meta = {p.key: p.value for p in node.metadata_props}
    if "pkg.torch.onnx.name_scopes" in meta:
        try:
            scopes = ast.literal_eval(meta["pkg.torch.onnx.name_scopes"])
            classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            scopes, classes = [], []
        if len(scopes) >= 2:
            classes = list(classes) + [""] * len(scopes)
            paths = [(path, str(cls).rsplit(".", 1)[-1]) for path, cls in zip(scopes[1:-1], classes[1:-1]) if path]
            return paths, clean(scopes[-1], node.op_type)
    name = node.name or ""
    if name.startswith("/"):
        *modules, own = name.split("/")[1:]
        paths, path, parent, previous = [], "", "", ""
        for segment in modules:
            if not segment:
                continue
            if previous and segment.startswith(previous + "."):
                # a container's child, named by the container (`block` then `block.0`): a sibling path of it
                path = f"{parent}.{segment}" if parent else segment
            else:
                parent, path = path, f"{path}.{segment}" if path else segment
            previous = segment
            paths.append((path, ""))
        return paths, clean(own, node.op_type)
    return [], clean(name, node.op_type)


def clean(name: str, op_type: str) -> str:
    """A node's own name as a layer's: no exporter prefix or counter; the op type's torch name when it is just the
    op type (``Conv_3`` → ``conv``, ``Concat`` → ``cat``)."""
    name = re.sub(r"_\d+$", "", re.sub(r"^node_", "", name or "")).strip("_")
    if not name or name.lower() == op_type.lower():
        return BASE_NAMES.get(op_type) or snake(op_type)
    return name if name.isidentifier() else snake(op_type)


# ---- the handler's view ---------------------------------------------------------------------------------------
class Op:
    """What a handler sees of one node: its attributes, inputs (activations as :class:`Act`, constants as
    :class:`Const`, absent optional inputs as None), output shapes, and how to emit layers."""

    def __init__(self, mapper: "Mapper", node, call: Call, base: str):
        from .onnx_graph import attributes

        self.mapper, self.node, self.call, self.base = mapper, node, call, base
        self.type = node.op_type
        self.attrs = attributes(node)

    @property
    def opset(self) -> int:
        return self.mapper.graph.opset

    @property
    def batch(self) -> int:
        return self.mapper.batch

    def attr(self, name: str, default=None):
        return self.attrs.get(name, default)

    def arg(self, index: int):
        names = self.node.input
        if index >= len(names) or not names[index]:
            return None
        return self.mapper.resolve(names[index])

    @property
    def input(self) -> Act:
        return self.act(0)

    def act(self, index: int) -> Act:
        value = self.arg(index)
        if not isinstance(value, Act):
            self.fail(f"its input {index} is not computed from the network's input")
        if any(isinstance(n, int) and n <= 0 for n in value.shape):
            self.fail(f"its input {index} has an empty axis (shape {list(value.shape)}, as ONNX's shape inference "
                      "gives it): the network's input is too small for the layers before it")
        return value

    def const(self, index: int) -> Const | None:
        value = self.arg(index)
        if value is not None and not isinstance(value, Const):
            self.fail(f"its input {index} is computed from the network's input (convcalc layers have fixed "
                      f"weights)")
        return value

    def values(self, index: int, default=None):
        """The known value of constant input ``index`` as a NumPy array of numbers (``default`` when the node
        gives no such input)."""
        names = self.node.input
        if index >= len(names) or not names[index]:
            return default
        value = self.const(index)
        if value is None:
            self.fail(f"its input {index} ('{names[index]}') is the output of no node and no initializer")
        if value.value is None:
            self.fail(f"its input {index} ('{names[index]}') has no value known before the model runs")
        if value.value.dtype.kind not in "biuf":
            self.fail(f"its input {index} ('{names[index]}') holds {value.value.dtype} values, not numbers")
        return value.value

    def ints(self, index: int, default=None) -> list | None:
        """Constant input ``index`` as a list of ints (a scalar or a 1-D integer tensor, as ONNX gives pads, axes,
        starts…); ``default`` when the node gives no such input."""
        value = self.values(index)
        if value is None:
            return default
        if value.ndim > 1 or value.dtype.kind not in "biu":
            self.fail(f"its input {index} ('{self.node.input[index]}') is a {value.ndim}-D {value.dtype} tensor, "
                      "where ONNX takes a list of integers")
        return [int(v) for v in value.reshape(-1)]

    def full_shape(self, index: int = 0) -> tuple:
        shape = self.mapper.shapes.get(self.node.output[index])
        if (shape is None or None in shape) and index == 0 and self.type in self.mapper.shape_keeping:
            shape = self.mapper.shapes.get(self.node.input[0])  # an op ONNX's inference has no rule for
        if shape is None or not all(isinstance(n, int) for n in shape):
            self.fail(f"the shape of its output '{self.node.output[index]}' is not known")
        if not shape:
            self.fail(f"its output '{self.node.output[index]}' is a scalar, with no batch axis")
        return tuple(shape)

    def out_shape(self, index: int = 0) -> tuple:
        return self.full_shape(index)[1:]

    def out_batch(self, index: int = 0) -> int:
        return self.full_shape(index)[0]

    def used(self, index: int) -> bool:
        return index < len(self.node.output) and self.mapper.uses.get(self.node.output[index], 0) > 0

    def consumers(self, act) -> int:
        tensor = getattr(act, "tensor", None)
        return self.mapper.uses.get(tensor, 0) if tensor else 0

    def dim(self, axis: int, rank: int | None = None) -> int:
        """An ONNX axis (batch first, negative from the end) of the input as a per-sample axis; the batch axis
        itself cannot be mapped."""
        rank = (len(self.input.shape) + 1) if rank is None else rank
        axis = int(axis) % rank
        if axis == 0:
            self.fail("it works along the batch axis")
        return axis - 1

    def emit(self, kind: str, fields: dict | None = None, inputs=None, weights=(), buffers=(), output: int = 0,
             base: str | None = None, meta=None) -> Record:
        """A layer of ``kind`` computing output ``output`` of this node (``inputs``: default its input 0)."""
        tensor = self.node.output[output]
        record = Record(kind, dict(fields or {}), list(inputs) if inputs is not None else [self.input],
                        self.out_shape(output), self.call, base or self.base, tensor, list(weights), list(buffers),
                        dict(meta or {}))
        record.meta.setdefault("origin", f"{self.type} node '{self.node.name or tensor}'")
        self.mapper.records.append(record)
        return record

    def absorb(self, act) -> None:
        if isinstance(act, Record):
            act.absorbed = True

    def fail(self, reason: str):
        raise Unmappable(reason)


# ---- the walk -------------------------------------------------------------------------------------------------
class Mapper:
    def __init__(self, graph, shapes: dict, values: dict, batch: int):
        from collections import Counter

        self.graph, self.shapes, self.values, self.batch = graph, shapes, values, batch
        self.records: list = []
        self.results: dict = {}       # tensor name → Act (or Const)
        self.dropped: list = []       # (op type, node name) of no-ops left out (Dropout, Identity)
        self.uses = Counter(name for node in graph.nodes for name in node.input if name)
        self.uses.update(graph.outputs)
        self.calls: dict = {}         # module path → its last call index
        self.open: set = set()        # the module paths of the previous mapped node
        self.producers: dict = {}     # tensor name → (node, output index), for derived constants
        self.shape_keeping = frozenset()
        # the model's weights: its initializers (but the constants the dynamo exporter stores as initializers,
        # named val_N) and the constants computed from them
        self.learned = {name for name in graph.inits if not GENERATED.fullmatch(name)}

    def resolve(self, name: str):
        if name in self.results:
            return self.results[name]
        if name in self.values:
            return Const(name, tuple(self.values[name].shape), self.values[name], name in self.learned)
        init = self.graph.inits.get(name)
        if init is not None:
            return Const(name, init.dims, None, True)
        return None

    def call_of(self, node) -> tuple[Call, str]:
        paths, base = node_scope(node)
        scope = []
        for path, cls in paths:
            if path not in self.open:
                self.calls[path] = self.calls.get(path, -1) + 1
            scope.append((path, cls, self.calls[path]))
        self.open = {path for path, _ in paths}
        return Call(node, node.op_type, tuple(scope)), base

    def run(self, table: dict, shape_keeping=frozenset()) -> None:
        """Map every node with the op ``table``; ``shape_keeping`` op types give their input's shape where
        ONNX's inference has none (function ops such as GroupNormalization)."""
        self.shape_keeping = shape_keeping
        graph = self.graph
        self.results[graph.input_name] = Input(self.shapes[graph.input_name][1:])
        for node in graph.nodes:
            outputs = [name for name in node.output if name]
            for index, name in enumerate(node.output):
                self.producers[name] = (node, index)
            if any(name in self.learned for name in node.input) and node.op_type not in ("Shape", "Size"):
                self.learned.update(outputs)
            if outputs and all(name in self.values for name in outputs):
                continue
            inputs = [self.resolve(name) if name else None for name in node.input]
            if not any(isinstance(value, Act) for value in inputs):
                learnable = any(isinstance(v, Const) and v.learnable for v in inputs)
                for name in outputs:
                    shape = self.shapes.get(name)
                    if shape is not None and all(isinstance(n, int) for n in shape):
                        self.results[name] = Const(name, tuple(shape), None, learnable)
                continue
            call, base = self.call_of(node)
            op = Op(self, node, call, base)
            result = self.map_node(op, table.get(node.op_type))
            results = result if isinstance(result, (list, tuple)) else [result]
            for name, value in zip(node.output, results):
                if name and value is not None:
                    self.results[name] = value

    def map_node(self, op: Op, entry):
        from .onnx_graph import schema_problem

        try:
            if entry is None:
                raise Unmappable("")
            if op.node.domain not in ("", "ai.onnx"):  # the table holds ONNX's own operators only
                raise Unmappable(f"an operator of the '{op.node.domain}' domain, not ONNX's own")
            problem = schema_problem(op.node, self.graph.opset)
            if problem:
                raise Unmappable(problem)
            handler, options = entry
            result = handler(op, **options)
            if result is None:
                raise RuntimeError(f"the handler of {op.type} returned nothing")
            return result
        except Unmappable as exc:
            return self.placeholder(op, exc.reason)

    def placeholder(self, op: Op, reason: str) -> list:
        """Zero-cost ``unsupported`` layers standing in for the node's used outputs."""
        from .fields import spec_fields

        inputs = []
        for name in op.node.input:
            value = self.resolve(name) if name else None
            if isinstance(value, Act) and value not in inputs:
                inputs.append(value)
        inputs = inputs or [self.results[self.graph.input_name]]
        made = []
        where = op.node.name or (op.node.output[0] if op.node.output else op.node.op_type)
        for index in range(len(op.node.output)):
            if not op.used(index):
                made.append(None)
                continue
            output = op.node.output[index]
            shape = self.shapes.get(output)
            if not shape or not all(isinstance(n, int) for n in shape):  # unknown, or a scalar: no batch axis
                from ..errors import SpecError

                # the reason may already be that this output's shape is unknown: said once
                unknown = "" if f"'{output}'" in reason else f", and the shape of its output '{output}' is unknown"
                raise SpecError(f"{self.graph.path}: the {op.type} node '{where}' has no layer kind"
                                f"{' (' + reason + ')' if reason else ''}{unknown}, so nothing after it can be "
                                "analysed", None, "export the model without this operator, or with static shapes")
            fields = spec_fields("unsupported", op=op.type, shape=list(shape[1:]), of=where)
            made.append(op.emit("unsupported", fields, inputs=inputs, output=index,
                                meta={"unmapped": (op.type, reason), "of": where}))
        return made
