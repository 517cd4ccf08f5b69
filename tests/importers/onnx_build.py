"""A small builder of ONNX fixture graphs over ``onnx.helper`` (no torch needed), and the import of one.

Test files import this only after ``pytest.importorskip("onnx")``::

    g = Graph((1, 3, 8, 8))
    y = g.op("Conv", g.input, g.weight("conv.weight", (4, 3, 3, 3)), name="/conv/Conv", pads=[1, 1, 1, 1])
    model = g.imported(tmp_path, y)
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from convcalc.importers.onnx_read import read

FLOAT = TensorProto.FLOAT


class Graph:
    """Nodes, initializers and one input; ``op`` adds a node and returns its output name(s)."""

    def __init__(self, input_shape, opset: int = 17, input_name: str = "x", dtype=FLOAT):
        self.input, self.opset = input_name, opset
        self.inputs = [helper.make_tensor_value_info(input_name, dtype, list(input_shape))]
        self.nodes, self.initializers = [], []
        self._names = itertools.count()
        self.rng = np.random.default_rng(0)

    def weight(self, name: str, shape, dtype=np.float32) -> str:
        """A random initializer of ``shape``."""
        return self.const(name, self.rng.standard_normal(shape).astype(dtype))

    def const(self, name: str, value) -> str:
        """An initializer holding ``value``."""
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def ints(self, name: str, values) -> str:
        return self.const(name, np.asarray(values, dtype=np.int64))

    def op(self, op_type: str, *inputs, name: str | None = None, outputs: int = 1, **attrs):
        name = name or f"{op_type}_{next(self._names)}"
        out = [f"{name}_out{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, [i or "" for i in inputs], out, name=name, **attrs))
        return out[0] if outputs == 1 else out

    def model(self, *outputs) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, "test", self.inputs,
                                  [helper.make_tensor_value_info(o, FLOAT, None) for o in outputs], self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 ir_version=10 if self.opset >= 21 else 8)  # opset 21 needs IR 10

    def save(self, folder, *outputs, file: str = "model.onnx") -> str:
        path = str(folder / file)
        onnx.save(self.model(*outputs), path)
        return path

    def imported(self, folder, *outputs, input_shape=None, **options):
        return read(self.save(folder, *outputs), input_shape, **options)
