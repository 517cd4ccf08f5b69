"""Constant folding for the ONNX frontend: the values of tensors that do not depend on the input's values.

Exporters compute shapes inside the graph: ``x.view(x.size(0), -1)`` becomes ``Shape → Gather → Unsqueeze →
Concat → Reshape``, a pad or a resize takes its sizes from ``Constant`` or ``ConstantOfShape`` nodes, a weight
may pass through a ``Transpose`` or a ``Cast``. Every such node has a small NumPy evaluator in :data:`FOLD`,
keyed by op type, written from the operator's definition (https://onnx.ai/onnx/operators/). A node folds when
all its inputs are known values; ``Shape`` (and ``Size``) of an activation folds to the shape inferred for it,
batch included, since the shape is fixed once the input is.

The same evaluators compute derived weights from the real arrays when ``verify --against-original`` loads them
(:func:`evaluate`).
"""

from __future__ import annotations

import math

import numpy as np

from .onnx_graph import SMALL, attributes

FOLD: dict = {}


def folds(*op_types):
    def register(function):
        for op_type in op_types:
            FOLD[op_type] = function
        return function
    return register


# ---- sources --------------------------------------------------------------------------------------------------
@folds("Constant")
def constant(inputs, attrs):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            value = attrs[key]
            dtype = np.float32 if "float" in key else (np.int64 if "int" in key else None)
            return np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
    raise KeyError("a Constant with no numeric value")


@folds("ConstantOfShape")
def constant_of_shape(inputs, attrs):
    value = attrs.get("value")
    fill = np.asarray(value).reshape(-1)[:1] if value is not None else np.zeros(1, np.float32)
    return np.full([int(n) for n in inputs[0]], fill[0], dtype=fill.dtype)


# ---- shapes and indexing --------------------------------------------------------------------------------------
def axes_of(inputs, attrs, index: int = 1):
    """The ``axes`` of a node: an attribute before opset 13/18, an input after."""
    if len(inputs) > index and inputs[index] is not None:
        return [int(a) for a in np.asarray(inputs[index]).reshape(-1)]
    value = attrs.get("axes")
    return None if value is None else [int(a) for a in value]


@folds("Gather")
def gather(inputs, attrs):
    return np.take(inputs[0], np.asarray(inputs[1]).astype(np.int64), axis=attrs.get("axis", 0))


@folds("Unsqueeze")
def unsqueeze(inputs, attrs):
    value = inputs[0]
    axes = axes_of(inputs, attrs)
    rank = value.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        value = np.expand_dims(value, axis)
    return value


@folds("Squeeze")
def squeeze(inputs, attrs):
    axes = axes_of(inputs, attrs)
    return np.squeeze(inputs[0], axis=None if axes is None else tuple(a % inputs[0].ndim for a in axes))


@folds("Concat")
def concat(inputs, attrs):
    return np.concatenate([np.asarray(v) for v in inputs if v is not None], axis=attrs.get("axis", 0))


@folds("Reshape")
def reshape(inputs, attrs):
    value, shape = inputs[0], [int(n) for n in inputs[1]]
    if not attrs.get("allowzero", 0):
        shape = [value.shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return value.reshape(shape)


@folds("Flatten")
def flatten(inputs, attrs):
    value, axis = inputs[0], attrs.get("axis", 1) % max(inputs[0].ndim, 1)
    return value.reshape(math.prod(value.shape[:axis]), -1)


@folds("Transpose")
def transpose(inputs, attrs):
    return np.transpose(inputs[0], attrs.get("perm"))


@folds("Slice")
def slice_(inputs, attrs):
    value = inputs[0]
    if len(inputs) > 1:
        starts, ends = [int(v) for v in inputs[1]], [int(v) for v in inputs[2]]
        axes = axes_of(inputs, attrs, 3) or list(range(len(starts)))
        steps = [int(v) for v in inputs[4]] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    else:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes, steps = list(attrs.get("axes", range(len(starts)))), [1] * len(starts)
    index = [slice(None)] * value.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[axis % value.ndim] = slice(start, end, step)
    return value[tuple(index)]


@folds("Expand")
def expand(inputs, attrs):
    shape = np.broadcast_shapes(inputs[0].shape, tuple(int(n) for n in inputs[1]))
    return np.broadcast_to(inputs[0], shape).copy()


@folds("Range")
def range_(inputs, attrs):
    return np.arange(inputs[0], inputs[1], inputs[2]).astype(np.asarray(inputs[0]).dtype)


@folds("Split")
def split(inputs, attrs):
    value, axis = inputs[0], attrs.get("axis", 0)
    sizes = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("split")
    if sizes is None:
        count = attrs["num_outputs"]
        size = -(-value.shape[axis] // count)
        sizes = [size] * (count - 1) + [value.shape[axis] - size * (count - 1)]
    return tuple(np.split(value, np.cumsum([int(s) for s in sizes])[:-1], axis=axis))


# ---- arithmetic -----------------------------------------------------------------------------------------------
def elementwise(function):
    def evaluate(inputs, attrs):
        result = function(*[np.asarray(v) for v in inputs])
        return np.asarray(result).astype(np.result_type(*[np.asarray(v).dtype for v in inputs]))
    return evaluate


def divide(a, b):
    return a // b if np.issubdtype(np.asarray(a).dtype, np.integer) else a / b


for _op, _function in {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": divide, "Pow": np.power,
                       "Max": np.maximum, "Min": np.minimum, "Mod": np.mod}.items():
    folds(_op)(elementwise(_function))
for _op, _function in {"Neg": np.negative, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
                       "Reciprocal": np.reciprocal, "Identity": lambda v: v}.items():
    folds(_op)(lambda inputs, attrs, f=_function: f(np.asarray(inputs[0])))


@folds("Equal")
def equal(inputs, attrs):
    return np.equal(inputs[0], inputs[1])


@folds("Less")
def less(inputs, attrs):
    return np.less(inputs[0], inputs[1])


@folds("Greater")
def greater(inputs, attrs):
    return np.greater(inputs[0], inputs[1])


@folds("Not")
def not_(inputs, attrs):
    return np.logical_not(inputs[0])


@folds("Where")
def where(inputs, attrs):
    return np.where(inputs[0], inputs[1], inputs[2])


@folds("ReduceProd")
def reduce_prod(inputs, attrs):
    axes = axes_of(inputs, attrs)
    return np.prod(inputs[0], axis=None if not axes else tuple(axes), keepdims=bool(attrs.get("keepdims", 1)))


#: ONNX TensorProto data type → NumPy dtype (the ones a shape computation or a weight cast uses)
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
          10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


@folds("Cast")
def cast(inputs, attrs):
    return np.asarray(inputs[0]).astype(DTYPES[attrs["to"]])


@folds("CastLike")
def cast_like(inputs, attrs):
    return np.asarray(inputs[0]).astype(np.asarray(inputs[1]).dtype)


# ---- what an evaluator would make ------------------------------------------------------------------------------
def _broadcast(*shapes) -> int:
    return math.prod(np.broadcast_shapes(*shapes))


def _gathered(inputs, attrs) -> int:
    shape = np.shape(inputs[0])
    axis = attrs.get("axis", 0) % len(shape)
    return math.prod(shape[:axis]) * int(np.size(inputs[1])) * math.prod(shape[axis + 1:])


def _int_list(value) -> tuple[int, ...]:
    return tuple(int(n) for n in np.asarray(value).reshape(-1))


#: op type → the elements of the output it would compute from these inputs, for the ops whose output can be far
#: larger than any one input (every folded input holds at most SMALL elements: every other op's output is at most
#: an input's size). The fold pass skips such a node when the count is above SMALL, or
#: cannot be worked out: a 4-byte ConstantOfShape of [30000, 30000] had allocated 7 GB, only for its value to be
#: dropped as too large.
GROWS = {
    "ConstantOfShape": lambda inputs, attrs: math.prod(_int_list(inputs[0])),
    "Expand": lambda inputs, attrs: _broadcast(np.shape(inputs[0]), _int_list(inputs[1])),
    "Range": lambda inputs, attrs: max(math.ceil((float(np.asarray(inputs[1])) - float(np.asarray(inputs[0])))
                                                 / float(np.asarray(inputs[2]))), 0),
    "Gather": _gathered,
    "Concat": lambda inputs, attrs: sum(int(np.size(v)) for v in inputs if v is not None),  # a node of 10^5 inputs
    **dict.fromkeys(("Where", "Equal", "Less", "Greater"),
                    lambda inputs, attrs: _broadcast(*(np.shape(v) for v in inputs))),
}


def too_large(node, inputs: list) -> bool:
    """Whether folding ``node`` would make more than SMALL elements, or the count cannot be known (then its
    evaluator would fail too)."""
    grows = GROWS.get(node.op_type)
    if grows is None:
        return False
    try:
        return grows(inputs, attributes(node)) > SMALL
    except Exception:  # a shape NumPy rejects, a zero step, an infinite bound: no value, as the evaluator would say
        return True


# ---- the pass -------------------------------------------------------------------------------------------------
def evaluate(node, inputs: list):
    """The outputs of ``node`` (a tuple, one per output) given its input values (None for an absent input)."""
    result = FOLD[node.op_type](inputs, attributes(node))
    return result if isinstance(result, tuple) else (result,)


def shape_value(node, shape: tuple):
    """``Shape`` (with its ``start``/``end``) or ``Size`` of a tensor whose shape is known."""
    if node.op_type == "Size":
        return np.asarray(math.prod(shape), dtype=np.int64)
    attrs = attributes(node)
    rank = len(shape)
    start, end = attrs.get("start", 0), attrs.get("end", rank)
    return np.asarray(shape[slice(start, end)], dtype=np.int64)


def fold(graph, shapes: dict, active: set) -> dict:
    """The values of every tensor that folds: name → NumPy array (the small initializers included). ``active``
    names the tensors computed from the input's values (the input itself, to start with); it is filled in."""
    values = {name: init.value for name, init in graph.inits.items() if init.value is not None}
    for node in graph.nodes:
        names = [name for name in node.input if name]
        if node.op_type in ("Shape", "Size") and names:
            shape = shapes.get(names[0])
            if shape is not None and all(isinstance(n, int) for n in shape):
                values[node.output[0]] = shape_value(node, shape)
                continue
        if any(name in active for name in names):
            active.update(o for o in node.output if o)
            continue
        if node.op_type not in FOLD or not all(name in values for name in names):
            continue  # a constant too large to keep, or an op with no evaluator: its value stays unknown
        inputs = [values[name] if name else None for name in node.input]
        if too_large(node, inputs):
            continue  # its value would be dropped as too large to keep: not made
        try:
            outputs = evaluate(node, inputs)
        except Exception:  # an evaluator that cannot take these values: the value stays unknown
            continue
        for name, value in zip(node.output, outputs):
            if name and np.asarray(value).size <= SMALL:
                values[name] = np.asarray(value)
    return values
