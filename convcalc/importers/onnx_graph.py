"""Reading an ONNX file for the importer: the graph, the weights' shapes, and every tensor's shape.

:func:`load` reads what mapping needs and nothing more: the nodes, the one input, the outputs, and of every
initializer its dims and dtype; only small initializers (at most :data:`SMALL` elements: shape constants,
scalars, pads, scales) keep their values, for folding. The weights themselves are skipped
(:mod:`convcalc.importers.onnx_wire` scans the file's bytes), and read only when asked for (:class:`Weights`,
for ``verify --against-original``).

Shapes come from ONNX's own shape inference (``onnx.shape_inference``, with data propagation) run on a stripped
copy of the graph: the large initializers become graph inputs of the same type and shape, so the copy holds no
weights, and the network's input gets the fixed shape the import uses. Where the exporter computed a shape from
the input (``Shape → Gather → Concat → Reshape``), the values :mod:`convcalc.importers.onnx_fold` folds are put
back as initializers and the shapes inferred again (:func:`infer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import SpecError

#: an initializer with at most this many elements keeps its value (for folding shapes, scalars, pads, scales)
SMALL = 4096
#: ONNX TensorProto data types a spec's memory columns would call float16
FLOAT16_TYPES = {10: "float16", 16: "bfloat16"}


@dataclass
class Init:
    """An initializer: its dims, its ONNX data type, and its value when it is small (else None)."""

    name: str
    dims: tuple
    dtype: int
    value: object = None     # a NumPy array, or None


@dataclass
class Graph:
    """What the importer reads of an ONNX model."""

    path: str
    nodes: list                        # NodeProto, in the file's (topological) order
    inits: dict                        # name → Init
    input_name: str
    input_dims: list                   # ints, or the names of symbolic dims (str), or None for an unnamed one
    input_dtype: int
    outputs: list                      # names of the graph's outputs
    opset: int                         # of the default domain
    producer: str = ""
    graph_name: str = ""
    ir_version: int = 8


def load(path: str) -> Graph:
    """Read ``path`` without its weights (:mod:`convcalc.importers.onnx_wire`); a file that is not a readable
    ONNX model is a :class:`SpecError`."""
    from .onnx_wire import WireError, scan

    try:
        model, graph, tensors = scan(path)
    except WireError:
        model, graph, tensors = parsed(path)  # protobuf's own reading, for its message (or a file the scan missed)
    if model.ir_version <= 0 or not graph.node:
        raise SpecError(f"{path}: not an ONNX model (no graph with nodes in it)", None,
                        "give a model exported to ONNX, e.g. with torch.onnx.export")
    _check_text(path, graph, tensors)
    inits = {}
    for name, dims, dtype, tensor in tensors:
        dims = tuple(d - (1 << 64) if d >= 1 << 63 else d for d in dims)  # the wire scan reads int64 unsigned
        if any(d < 0 for d in dims):
            raise SpecError(f"{path}: initializer `{name}` has a negative dimension (dims {list(dims)})", None,
                            _DAMAGED)
        small = tensor is not None and math.prod(dims) <= SMALL and not external(tensor)
        array = tensor_array(path, tensor, f"initializer `{name}`") if small else None
        inits[name] = Init(name, tuple(int(d) for d in dims), dtype, array)
    inputs = [value for value in graph.input if value.name not in inits]
    if len(inputs) != 1:
        names = ", ".join(f"'{value.name}'" for value in inputs) or "none"
        raise SpecError(f"{path}: the model has {len(inputs)} inputs ({names}); convcalc analyses a network with "
                        "one input tensor", None, "export the model with a single image input")
    tensor_type = inputs[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor_type.shape.dim]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    return Graph(path, list(graph.node), inits, inputs[0].name, dims, tensor_type.elem_type,
                 [o.name for o in graph.output], opset, model.producer_name, graph.name, model.ir_version)


def _check_text(path: str, graph, tensors) -> None:
    """Every name the importer reads is text: protobuf hands a string field of invalid UTF-8 (ONNX is proto2, which
    does not check it) over as bytes, which no later step expects."""
    names = [("an initializer's name", tensor[0]) for tensor in tensors]
    names += [("an input's name", value.name) for value in graph.input]
    names += [("an output's name", value.name) for value in graph.output]
    for node in graph.node:
        names += [("a node's name", node.name), ("a node's op type", node.op_type), ("a node's domain", node.domain)]
        names += [("a node's input", name) for name in node.input] + [("a node's output", name) for name in node.output]
        names += [("a node's attribute name", attribute.name) for attribute in node.attribute]
    for what, name in names:
        if not isinstance(name, str):
            raise SpecError(f"{path}: not a readable ONNX model ({what} is not UTF-8 text: {bytes(name)[:40]!r})",
                            None, _DAMAGED)
    for index, node in enumerate(graph.node):
        if not any(node.output):  # every ONNX operator has an output; a node without one computes nothing
            raise SpecError(f"{path}: node {index} ({node.op_type or 'no op type'}"
                            f"{', ' + repr(node.name) if node.name else ''}) has no output", None, _DAMAGED)


_DAMAGED = ("the file does not follow the ONNX format: export the model again (a damaged file, or one written by a "
            "tool that breaks the format, cannot be read)")


def parsed(path: str):
    """The file parsed by protobuf: ``(model, its graph, initializers as (name, dims, type, TensorProto))``."""
    import onnx
    from google.protobuf.message import DecodeError

    with open(path, "rb") as stream:
        data = stream.read()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SpecError(f"{path}: not a readable ONNX model ({exc})", None,
                        "check that the file is a complete .onnx file (a truncated download or another format "
                        "cannot be read)") from None
    return model, model.graph, [(t.name, tuple(t.dims), t.data_type, t) for t in model.graph.initializer]


def attributes(node) -> dict:
    """A node's attributes as Python values (strings decoded, tensors as NumPy arrays)."""
    from onnx import helper, numpy_helper

    values = {}
    for attribute in node.attribute:
        try:
            value = helper.get_attribute_value(attribute)
        except (ValueError, TypeError):  # an attribute of no known type: schema_problem names it
            continue
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        elif hasattr(value, "dims") and hasattr(value, "data_type"):
            value = numpy_helper.to_array(value)
        values[attribute.name] = value
    return values


#: AttributeProto's types, as a message names them
_ATTRIBUTE_TYPES = {1: "a float", 2: "an int", 3: "a string", 4: "a tensor", 5: "a graph", 6: "a list of floats",
                    7: "a list of ints", 8: "a list of strings", 9: "a list of tensors", 10: "a list of graphs",
                    11: "a sparse tensor", 12: "a list of sparse tensors", 13: "a type proto", 14: "a list of type "
                    "protos"}


def schema_problem(node, opset: int) -> str | None:
    """What is wrong with a node against its operator's ONNX schema at ``opset`` (fewer outputs than it has, a
    required input missing, an attribute it does not have or of another type than it declares, a required one
    missing), or None; None also for an op without a schema (a custom domain, an unknown op: the table decides
    about those)."""
    from onnx import defs

    try:
        schema = defs.get_schema(node.op_type, max(opset, 1), node.domain)
    except Exception:  # noqa: BLE001 - onnx's SchemaError: no schema for this op, domain or version
        return None
    if len(node.output) < schema.min_output:
        return (f"it has {len(node.output)} outputs, where ONNX's {node.op_type} (opset {schema.since_version}) has at "
                f"least {schema.min_output}")
    given_inputs = list(node.input)
    for index, formal in enumerate(schema.inputs):
        if int(formal.option) == 0 and (index >= len(given_inputs) or not given_inputs[index]):  # Single: required
            return (f"its required input {index} (`{formal.name}`) is missing (ONNX's {node.op_type}, opset "
                    f"{schema.since_version})")
    declared = schema.attributes
    for attribute in node.attribute:
        expected = declared.get(attribute.name)
        if expected is None:  # onnx.checker and onnxruntime refuse it too
            return (f"its attribute `{attribute.name}` is not one of ONNX's {node.op_type} (opset "
                    f"{schema.since_version}), which has {', '.join(f'`{n}`' for n in sorted(declared)) or 'none'}")
        if attribute.type != int(expected.type):
            return (f"its attribute `{attribute.name}` is {_ATTRIBUTE_TYPES.get(attribute.type, 'of no known type')}"
                    f", but ONNX's {node.op_type} (opset {schema.since_version}) takes "
                    f"{_ATTRIBUTE_TYPES.get(int(expected.type), 'another type')}")
    given = {attribute.name for attribute in node.attribute}
    missing = sorted(name for name, attribute in declared.items() if attribute.required and name not in given)
    if missing:
        return f"its required attribute `{missing[0]}` is missing (ONNX's {node.op_type}, opset {schema.since_version})"
    return None


def external(tensor) -> bool:
    import onnx

    return tensor.data_location == onnx.TensorProto.EXTERNAL


def stripped(graph: Graph, input_shape: tuple, folded: dict):
    """A model with the graph's nodes, its small initializers (and the ``folded`` values, whose nodes are left
    out), its large ones declared as inputs, and the input fixed to ``input_shape`` (batch first)."""
    from onnx import helper, numpy_helper

    inputs = [helper.make_tensor_value_info(graph.input_name, graph.input_dtype or 1, list(input_shape))]
    initializers = []
    for init in graph.inits.values():
        if init.value is not None:
            initializers.append(numpy_helper.from_array(init.value, init.name))
        else:
            inputs.append(helper.make_tensor_value_info(init.name, init.dtype, list(init.dims)))
    for name, value in folded.items():
        if name not in graph.inits:
            initializers.append(numpy_helper.from_array(value, name))
    nodes = [node for node in graph.nodes if not node.output or not all(o in folded or not o for o in node.output)]
    body = helper.make_graph(nodes, graph.graph_name or "g", inputs,
                             [helper.make_empty_tensor_value_info(name) for name in graph.outputs], initializers)
    return helper.make_model(body, opset_imports=[helper.make_opsetid("", graph.opset)], ir_version=graph.ir_version)


def infer(graph: Graph, input_shape: tuple, folded: dict) -> dict:
    """Every tensor's shape that ONNX shape inference finds, batch first: name → tuple of ints (symbolic or
    unknown dims as None)."""
    from onnx import shape_inference

    model = stripped(graph, input_shape, folded)
    try:
        model = shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # an op ONNX's inference rejects: the shapes found so far are lost, the walk names it
        pass
    shapes = {graph.input_name: tuple(input_shape)}
    for init in graph.inits.values():
        shapes[init.name] = init.dims
    for value in list(model.graph.value_info) + list(model.graph.output):
        tensor = value.type.tensor_type
        if tensor.HasField("shape"):
            shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    for name, value in folded.items():
        shapes[name] = tuple(value.shape)
    return shapes


class Weights:
    """The model's real initializers and Constant values, read from the file on first use (external data
    included): name → NumPy array."""

    def __init__(self, path: str):
        self.path = path
        self._values = None

    def __getitem__(self, name: str):
        if self._values is None:
            self._values = self._read()
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        if self._values is None:
            self._values = self._read()
        return name in self._values

    def _read(self) -> dict:
        import os

        import onnx

        model = onnx.load(self.path, load_external_data=False)
        if any(external(t) for t in model.graph.initializer):
            onnx.load_external_data_for_model(model, os.path.dirname(os.path.abspath(self.path)))
        values = {t.name: tensor_array(self.path, t, f"initializer `{t.name}`") for t in model.graph.initializer}
        for node in model.graph.node:
            if node.op_type == "Constant" and node.output:
                for attribute in node.attribute:
                    if attribute.name == "value":
                        values[node.output[0]] = tensor_array(self.path, attribute.t, f"Constant `{node.output[0]}`")
        return values


def tensor_array(path: str, tensor, what: str):
    """A TensorProto's values, or a :class:`SpecError` naming it when its data does not fit its dims or type."""
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(tensor)
    except Exception as exc:  # noqa: BLE001 - onnx's and NumPy's errors (a reshape, an unknown data type)
        raise SpecError(f"{path}: {what} (dims {list(tensor.dims)}, data type {tensor.data_type}) cannot be read: "
                        f"{exc}", None, _DAMAGED) from None
