"""The ONNX frontend: ``read("model.onnx", input_shape)`` → an :class:`~convcalc.importers.ir.ImportedModel`.

The file is parsed once, keeping the weights' shapes but not their values (:mod:`convcalc.importers.onnx_graph`);
the shape subgraphs exporters write are folded (:mod:`convcalc.importers.onnx_fold`), every tensor's shape comes
from ONNX's shape inference, and the nodes are mapped onto layer kinds (:mod:`convcalc.importers.onnx_map`,
:mod:`convcalc.importers.onnx_ops`). What follows is the PyTorch frontend's: the same fusions, live set, names
and unsupported-op records (:mod:`convcalc.importers.torch_finish`), so one model gives the same spec from both.

The input's shape is the file's, with ``input_shape`` (per sample, channels first) replacing its per-sample dims
(it must when they are symbolic). A symbolic batch is traced as :data:`TRACE_BATCH`, so that a reshape across the
batch cannot hide behind a batch of 1.

Every problem a user can fix is a :class:`~convcalc.errors.SpecError` (exit 2, never a traceback): a file that is
not ONNX or is damaged, a model with several inputs, symbolic dims without ``--input`` (naming the input and its
dims), a shape the model rejects, and operators with no layer kind (all in one message; with
``allow_unsupported`` they become zero-cost ``unsupported`` placeholders instead).
"""

from __future__ import annotations

import os

from ..errors import SpecError
from .ir import ImportedModel

#: the batch a symbolic batch axis is traced with (as the PyTorch frontend does)
TRACE_BATCH = 2


def read(path: str, input_shape: tuple | None = None, batch: int | None = None,
         allow_unsupported: bool = False, progress=None) -> ImportedModel:
    from . import onnx_ops, onnx_ops_tensors  # noqa: F401  (the tensor handlers register themselves)
    from .onnx_fold import fold
    from .onnx_graph import FLOAT16_TYPES, infer, load
    from .onnx_map import Mapper

    graph = load(path)
    if progress is not None:  # ``progress``: the stages, for a bar (convcalc/render/progress.py)
        progress.advance(1, f"mapping {len(graph.nodes)} ONNX nodes")
    full = traced_shape(graph, path, input_shape)
    shapes = infer(graph, full, {})
    values = fold(graph, shapes, {graph.input_name})
    folded = {name: value for name, value in values.items() if name not in graph.inits}
    if folded and any(shapes.get(o) is None or None in shapes.get(o, ()) for node in graph.nodes for o in node.output
                      if o and o not in values):
        shapes = infer(graph, full, folded)  # shapes the exporter computed from the input: known now
        values = fold(graph, shapes, {graph.input_name})
    mapper = Mapper(graph, shapes, values, full[0])
    mapper.run(onnx_ops.OPS, onnx_ops.SHAPE_KEEPING)
    warnings = model_warnings(graph, mapper, FLOAT16_TYPES)
    return finish(path, graph, tuple(full[1:]), batch, mapper, warnings, allow_unsupported)


def traced_shape(graph, path: str, input_shape) -> tuple:
    """The input's full shape (batch first) for shape inference: the file's, with ``input_shape`` for its
    per-sample dims."""
    dims = list(graph.input_dims)
    shown = "x".join(str(d) if d is not None else "?" for d in dims)
    if len(dims) < 2:
        raise SpecError(f"{path}: the input '{graph.input_name}' has shape [{shown}]; convcalc needs a batch axis "
                        "and a channel axis", None, "export the model with an input of shape (N, C, …)")
    if input_shape is not None:
        shape = tuple(input_shape)
        if len(shape) != len(dims) - 1 or not all(isinstance(n, int) and n >= 1 for n in shape):
            raise SpecError(f"{path}: --input {'x'.join(map(str, shape))} does not fit the input "
                            f"'{graph.input_name}' of shape [{shown}] ({len(dims) - 1} sizes per sample)", None,
                            f"give {len(dims) - 1} sizes, channels first, e.g. --input "
                            + "x".join(str(d) if isinstance(d, int) else "224" for d in dims[1:]))
        dims[1:] = shape
    symbolic = [d if d is not None else f"axis {i}" for i, d in enumerate(dims) if not isinstance(d, int) and i > 0]
    if symbolic:
        raise SpecError(f"{path}: the input '{graph.input_name}' has symbolic dims "
                        + ", ".join(f"'{d}'" for d in symbolic) + f" (shape [{shown}])", None,
                        "fix them with --input, the shape of one sample, channels first, e.g. --input "
                        + "x".join(str(d) if isinstance(d, int) else "224" for d in dims[1:]))
    batch = dims[0] if isinstance(dims[0], int) and dims[0] >= 1 else TRACE_BATCH
    return (batch, *dims[1:])


def model_warnings(graph, mapper, float16_types) -> list:
    """Sentences for what the import left out or cannot know."""
    warnings = []
    ops = {node.op_type for node in graph.nodes}
    if "BatchNormalization" not in ops and any(node.op_type == "Conv" and len(node.input) > 2 and node.input[2]
                                               for node in graph.nodes):
        warnings.append("the model's convs have biases and it has no BatchNormalization: if it was trained with "
                        "batch norm, the exporter folded it into the convs, so params and buffers differ from the "
                        "training model's (export with do_constant_folding=False, or training=TrainingMode."
                        "PRESERVE, to keep it)")
    if mapper.dropped:
        counts = {}
        for op_type, _ in mapper.dropped:
            counts[op_type] = counts.get(op_type, 0) + 1
        warnings.append(", ".join(f"{n} {op_type} node{'s' if n != 1 else ''}" for op_type, n in counts.items())
                        + " left out (the identity at inference)")
    halves = sorted({float16_types[init.dtype] for init in graph.inits.values() if init.dtype in float16_types})
    if halves or graph.input_dtype in float16_types:
        names = halves or [float16_types[graph.input_dtype]]
        warnings.append(f"the model is {'/'.join(names)}: counts do not depend on it, but the memory columns "
                        f"assume the spec's dtype (float32 unless set) and --against-original runs in float32")
    return warnings


def finish(path, graph, shape, batch, mapper, warnings, allow_unsupported) -> ImportedModel:
    from .torch_finish import cached, fuse, imported_layers, live, name_records, unsupported_ops

    output = mapper.results.get(graph.outputs[0]) if graph.outputs else None
    if output is None or not hasattr(output, "kind"):
        raise SpecError(f"{path}: the model's output is not computed from its input", None,
                        "import a model whose output is computed from its input")
    extra = [name for name in graph.outputs[1:] if hasattr(mapper.results.get(name), "kind")]
    if extra:
        warnings.append(f"the model has {len(extra) + 1} outputs; the import follows the first, "
                        f"'{graph.outputs[0]}'")
    fuse(mapper.records, output)
    records = live(mapper.records, output)
    dropped = [r.meta["origin"] for r in mapper.records if not r.absorbed and r not in records]
    if dropped:
        warnings.append(f"{len(dropped)} node(s) do not feed the output and are left out: "
                        + ", ".join(dropped[:5]) + (", …" if len(dropped) > 5 else ""))
    unsupported = unsupported_ops(records)
    if unsupported and not allow_unsupported:
        from .source import unsupported_error

        raise unsupported_error(path, unsupported)
    name_records(records)
    arrays = cached(lambda: Arrays(path, mapper.producers))
    layers = imported_layers(records, lambda r: (lambda: arrays().of(r)))
    tensors = [r.tensor for r in records]
    name = graph.graph_name if graph.graph_name and graph.graph_name not in ("main_graph", "torch_jit", "g") \
        else os.path.splitext(os.path.basename(path))[0]

    def original():
        from .onnx_original import OnnxOriginal

        return OnnxOriginal(path, graph.input_name, tensors)

    return ImportedModel(name, path, shape, layers, graph.input_name, batch or 1, unsupported, warnings, original)


class Arrays:
    """The real arrays of the model's constants: initializers and Constants read from the file, values computed
    from them (a transposed or reshaped weight) by the folding evaluators."""

    def __init__(self, path: str, producers: dict):
        from .onnx_graph import Weights

        self.weights, self.producers, self.computed = Weights(path), producers, {}

    def value(self, name: str):
        import numpy as np

        from .onnx_fold import evaluate

        if name in self.weights:
            value = self.weights[name]
        elif name in self.computed:
            value = self.computed[name]
        else:
            node, index = self.producers[name]
            value = evaluate(node, [self.value(n) if n else None for n in node.input])[index]
            self.computed[name] = value
        value = np.asarray(value)
        return value.astype(np.float32) if value.dtype == np.float16 else value

    def of(self, record) -> tuple[list, list]:
        return [a.read(self) for a in record.weights], [a.read(self) for a in record.buffers]
