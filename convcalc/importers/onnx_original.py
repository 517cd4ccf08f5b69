"""The original ONNX model behind an import, run with onnxruntime on the CPU (``verify --against-original``).

:class:`OnnxOriginal` serves :meth:`OnnxOriginal.run`: the value of every tensor a layer maps to (its ``tensor``,
an ONNX tensor name), batch first. onnxruntime returns only the graph's outputs, so the session runs a copy of the
model in which every mapped intermediate tensor is a graph output too, typed from ONNX shape inference (an
intermediate tensor has no declared type of its own; one that inference cannot type is declared float32, the type
of every activation this importer maps). Graph optimisations are off: the session runs the nodes as the file
writes them, so no fused kernel rounds differently from what the file means.

The batch: an exported file often fixes it (torch.onnx.export writes the batch it traced). The check's batch is
its own, so a file whose batch is fixed to ``n`` runs ``n`` samples at a time (the last chunk padded with zeros and
cut off again); inference-mode CNNs treat the samples independently, so this is the model's value on the batch.

float64: onnxruntime's CPU kernels for Conv, ConvTranspose, AveragePool, GlobalAveragePool, Resize, PRelu, Elu,
HardSwish and most other activations are float32 only (its kernel registry,
``onnxruntime.capi.onnxruntime_pybind11_state.get_all_opkernel_def``, lists no double kernel for them in 1.32), so a
CNN converted to double would not load. :attr:`OnnxOriginal.supports_float64` is False and
:attr:`OnnxOriginal.float64_unavailable` says why, for the check's message.
"""

from __future__ import annotations

from ..errors import SpecError

INSTALL_HINT = 'pip install "convcalc[onnx]" (installs onnx and onnxruntime)'
#: above this many bytes a model proto cannot be serialised in one piece (protobuf's 2 GiB limit), so the
#: modified copy is written to a temporary directory with its weights as external data
PROTOBUF_LIMIT = 2 ** 31 - 2 ** 20


def _require(module: str, path: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise SpecError(f"{path}: --against-original runs the ONNX model with {module.split('.')[0]}, which is not "
                        "installed", None, INSTALL_HINT) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OnnxOriginal:
    """An ONNX file run by onnxruntime (CPU), every mapped tensor exposed as an output.

    ``path``: the ONNX file; ``input_name``: its graph input the batch is fed to; ``tensors``: the ONNX tensor
    names the layers compute (:attr:`ImportedLayer.tensor`). The session is built on the first :meth:`run`.
    """

    supports_float64 = False
    float64_unavailable = ("onnxruntime has no float64 CPU kernel for Conv, ConvTranspose, AveragePool, "
                           "GlobalAveragePool, Resize or most activations")

    def __init__(self, path: str, input_name: str, tensors):
        self.path = str(path)
        self.input_name = input_name
        self.tensors = [t for t in dict.fromkeys(tensors) if t]
        self._session = None
        self._outputs: list = []          # the session's output names, in its order
        self._fixed_batch: int | None = None
        self._input_type = None           # the NumPy dtype the input is fed as

    # ---- the modified copy --------------------------------------------------------------------------------------
    def exposed_model(self):
        """The model with every mapped tensor a graph output (an ``onnx.ModelProto``)."""
        onnx = _require("onnx", self.path)
        try:
            model = onnx.load(self.path)
        except Exception as exc:  # a corrupt or non-ONNX file: protobuf's DecodeError, OSError, ...
            raise SpecError(f"{self.path}: onnx cannot read the file ({_first_line(exc)})", None,
                            "give an ONNX model file (.onnx), e.g. one written by torch.onnx.export") from None
        graph = model.graph
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
            types = {v.name: v.type for v in (*inferred.graph.value_info, *inferred.graph.output,
                                               *inferred.graph.input)}
        except Exception:  # inference is only for the types; without it every added output is declared float32
            types = {}
        produced = {out for node in graph.node for out in node.output} | {i.name for i in graph.initializer}
        present = {o.name for o in graph.output}
        inputs = {i.name for i in graph.input}
        for name in self.tensors:
            if name in present or name in inputs or name not in produced:
                continue  # an output already; the input itself; not in the main graph (the check says it is missing)
            value = graph.output.add()
            value.name = name
            if name in types and types[name].HasField("tensor_type") and types[name].tensor_type.elem_type:
                value.type.CopyFrom(types[name])
            else:
                value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        return model

    def _input_info(self, model) -> None:
        """The fed input's fixed batch (None when dynamic) and element type."""
        import numpy as np
        from onnx import helper

        graph_inputs = {i.name: i for i in model.graph.input}
        if self.input_name not in graph_inputs:
            raise SpecError(f"{self.path}: the model has no input `{self.input_name}` (its inputs: "
                            f"{', '.join(graph_inputs) or 'none'})", None, "the importer names the graph's input")
        tensor_type = graph_inputs[self.input_name].type.tensor_type
        dims = tensor_type.shape.dim if tensor_type.HasField("shape") else []
        self._fixed_batch = dims[0].dim_value if dims and dims[0].HasField("dim_value") and dims[0].dim_value else None
        elem = tensor_type.elem_type or 1
        self._input_type = np.dtype(helper.tensor_dtype_to_np_dtype(elem))

    def session(self):
        """The onnxruntime session over the exposed copy, built once."""
        if self._session is not None:
            return self._session
        ort = _require("onnxruntime", self.path)
        model = self.exposed_model()
        self._input_info(model)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3  # errors only: no warnings about the outputs added here
        try:
            if model.ByteSize() < PROTOBUF_LIMIT:
                self._session = ort.InferenceSession(model.SerializeToString(), options,
                                                     providers=["CPUExecutionProvider"])
            else:
                self._session = self._session_from_files(ort, model, options)
        except Exception as exc:  # onnxruntime's Fail, InvalidGraph, NotImplemented, ...
            raise SpecError(f"{self.path}: onnxruntime cannot load the model ({_first_line(exc)})", None,
                            "check that the file loads in onnxruntime (onnxruntime.InferenceSession(path)); "
                            "a newer onnxruntime may know its opset") from None
        self._outputs = [o.name for o in self._session.get_outputs()]
        return self._session

    @staticmethod
    def _session_from_files(ort, model, options):
        import os
        import tempfile

        import onnx

        with tempfile.TemporaryDirectory(prefix="convcalc-onnx-") as folder:
            path = os.path.join(folder, "model.onnx")
            onnx.save_model(model, path, save_as_external_data=True, location="weights.bin")
            return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    # ---- running ------------------------------------------------------------------------------------------------
    def run(self, x, dtype: str) -> dict:
        """The value of every mapped tensor for the batch ``x`` (NumPy, batch first), as float32 NumPy arrays."""
        import numpy as np

        if dtype != "float32":
            raise SpecError(f"{self.path}: onnxruntime cannot run this model in {dtype} "
                            f"({self.float64_unavailable})", None, "use --dtype float32")
        session = self.session()
        x = np.ascontiguousarray(x, dtype=self._input_type)
        chunk = self._fixed_batch or x.shape[0]
        parts = []
        for start in range(0, x.shape[0], chunk):
            piece = x[start:start + chunk]
            short = chunk - piece.shape[0]
            if short:
                piece = np.concatenate([piece, np.zeros((short, *piece.shape[1:]), piece.dtype)])
            try:
                values = session.run(self._outputs, {self.input_name: piece})
            except Exception as exc:
                raise SpecError(f"{self.path}: onnxruntime failed running the model on a batch of shape "
                                f"{tuple(piece.shape)} ({_first_line(exc)})", None,
                                "check the input shape (--input) against the model's input") from None
            parts.append([v[:chunk - short] if short else v for v in values])
        result = {}
        for index, name in enumerate(self._outputs):
            arrays = [np.asarray(part[index]) for part in parts]
            value = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
            result[name] = value.astype(np.float32) if value.dtype.kind == "f" else value
        if self.input_name in self.tensors:
            result[self.input_name] = x.astype(np.float32)
        return result
