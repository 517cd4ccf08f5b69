"""The original PyTorch model behind an import, built for real and ready to run (``verify --against-original``).

The import itself builds on the meta device and never holds a weight. :class:`TorchOriginal` builds the model
again on the CPU, once (``torch.manual_seed(0)`` first, so its random initialisation is reproducible, then
``eval()``), and serves both what the layers' ``arrays()`` read (parameters and buffers by their state_dict names,
in the executor's layout) and :meth:`TorchOriginal.run`, which returns the value of every mapped graph node:

* an fx import runs the traced graph over the real model (an ``fx.Interpreter``);
* a torch.export import exports the real model again for the batch size it is given (export fixes every shape,
  the batch included) and interprets that graph; its node names are the ones the import mapped.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import fx

from .torch_trace import RecordingInterpreter, Traced

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TorchOriginal:
    supports_float64 = True

    def __init__(self, build, traced: Traced, tensors):
        self._build = build              # () → the model, on the CPU, with its weights
        self.traced = traced
        self.tensors = set(tensors)      # the node names the layers compute
        self._models: dict = {}
        self._runners: dict = {}

    # ---- the model -------------------------------------------------------------------------------------------
    def model(self, dtype: str = "float32") -> torch.nn.Module:
        if "float32" not in self._models:
            torch.manual_seed(0)
            model = self._build()
            model.eval()
            self._models["float32"] = model
        if dtype not in self._models:
            self._models[dtype] = copy.deepcopy(self._models["float32"]).to(DTYPES[dtype])
        return self._models[dtype]

    def tensor(self, name: str, dtype: str = "float32") -> torch.Tensor:
        """A parameter, buffer or (export) lifted constant by its name."""
        model = self.model(dtype)
        try:
            return model.get_parameter(name)
        except AttributeError:
            pass
        try:
            return model.get_buffer(name)
        except AttributeError:
            program = self.traced.program
            if program is not None and name in program.constants:
                return program.constants[name]
            return getattr(self._fx_module("float32"), name)

    def constant(self, const) -> np.ndarray:
        """The real value of a :class:`~convcalc.importers.torch_ops.Const`, as a NumPy array."""
        value = self.tensor(const.name) if const.name else self._evaluate(const.node, {})
        return value.detach().cpu().numpy()

    def arrays(self, weights: list, buffers: list) -> tuple[list, list]:
        return [a.read(self) for a in weights], [a.read(self) for a in buffers]

    def _evaluate(self, node, done: dict):
        """A node that does not depend on the input, computed on the real model."""
        if node in done:
            return done[node]
        if node.op == "get_attr":
            value = self.tensor(node.target)
        elif node.op == "placeholder":
            value = self.tensor(self.traced.constants[node].name if node in self.traced.constants
                                else self.traced.lifted[node.name])
        else:
            args, kwargs = fx.node.map_arg((node.args, node.kwargs), lambda n: self._evaluate(n, done))
            if node.op == "call_method":
                value = getattr(args[0], node.target)(*args[1:], **kwargs)
            elif node.op == "call_module":
                value = self.model().get_submodule(node.target)(*args, **kwargs)
            else:
                value = node.target(*args, **kwargs)
        done[node] = value
        return value

    # ---- running ---------------------------------------------------------------------------------------------
    def _fx_module(self, dtype: str) -> fx.GraphModule:
        """The traced graph over the real model; attributes the tracer added (tensor constants) come along."""
        if dtype not in self._runners:
            model = self.model(dtype)
            for node in self.traced.graph_module.graph.nodes:
                if node.op == "get_attr" and not has_attr(model, node.target):
                    value = getattr(self.traced.graph_module, node.target)
                    setattr(model, node.target, value.to(DTYPES[dtype]) if value.is_floating_point() else value)
            self._runners[dtype] = fx.GraphModule(model, self.traced.graph_module.graph)
        return self._runners[dtype]

    def run(self, x, dtype: str) -> dict:
        """The value of every mapped node for the batch ``x`` (NumPy, batch first), as NumPy arrays."""
        inputs = torch.from_numpy(np.ascontiguousarray(x)).to(DTYPES[dtype])
        if self.traced.tracer == "torch.export":
            module, args = self._exported(inputs, dtype)
        else:
            module, args = self._fx_module(dtype), (inputs,)
        interpreter = RecordingInterpreter(module, keep=self.tensors)
        with torch.no_grad():
            interpreter.run(*args)
        return {node.name: value.detach().cpu().numpy() for node, value in interpreter.values.items()
                if isinstance(value, torch.Tensor)}

    def _exported(self, inputs: torch.Tensor, dtype: str):
        from torch.export.graph_signature import InputKind

        key = (inputs.shape[0], dtype)
        if key not in self._runners:
            self._runners[key] = torch.export.export(self.model(dtype), (inputs,), strict=False)
        program = self._runners[key]
        args = []
        for spec in program.graph_signature.input_specs:
            if spec.kind == InputKind.USER_INPUT:
                args.append(inputs)
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
                args.append(self.tensor(spec.target, dtype))
            else:
                args.append(program.constants[spec.target])
        return program.graph_module, args


def has_attr(module, dotted: str) -> bool:
    for part in dotted.split("."):
        if not hasattr(module, part):
            return False
        module = getattr(module, part)
    return True
