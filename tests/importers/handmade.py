"""Imported models built by hand, for the importer tests that need neither ONNX nor torch: one module for the
hand-built IRs, the stand-in frontend and the flat spec of an IR.

* **Models with originals** (``classifier``, ``residual``, ``concat``), for ``verify --against-original``: each
  returns an :class:`ImportedModel` whose layers' ``arrays`` return fixed float32 NumPy arrays (as a trained model's
  would be), and whose ``original`` computes the same network with plain NumPy written here: a direct convolution
  over a zero-padded input (``sliding_window_view`` + ``einsum``), batch norm from its definition, and so on.
  Nothing here calls the executor. The originals name their tensors as ONNX exporters do
  (``/conv1/Conv_output_0``), so the tests see the layer → tensor mapping at work. ``Changes`` lets a test make
  the original deliberately wrong: add ``delta`` to one weight element, or pad a conv differently, without touching
  the import.
* **The IR of a shipped config** (``ir_of``), read off its expanded graph as a frontend would give it (the model's
  names, kinds, fields without defaults, inputs, scopes), for the writer and source tests.
* **A stand-in frontend** (``fake_frontend``): ``convcalc.importers.NAME_read`` returning such models.
* ``spec_of`` / ``graph_of``: the flat spec of an IR as a dict (one item per layer, its own name, fields and
  inputs), which the loader reads without the writer.
"""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import convcalc
from convcalc.importers.ir import ImportedLayer, ImportedModel, Unsupported
from convcalc.layers import REGISTRY
from convcalc.spec.fields import plain_value, same_value
from convcalc.spec.loader import load, shipped_configs

EPS = 1e-5


# ---- NumPy from the definitions ---------------------------------------------------------------------------------
def conv2d(x, w, b=None, pads=((1, 1), (1, 1))):
    """Cross-correlation of (B, C, H, W) with (O, C, kh, kw), zero padding ``pads`` = ((top, bottom), (left,
    right)), stride 1."""
    x = np.pad(x, [(0, 0), (0, 0), *pads])
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))  # (B, C, Ho, Wo, kh, kw)
    y = np.einsum("bchwij,ocij->bohw", windows, w)
    return y if b is None else y + b[None, :, None, None]


def batchnorm(x, gamma, beta, mean, var, eps=EPS):
    per_channel = (1, -1, 1, 1)
    return (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + eps) * gamma.reshape(per_channel) \
        + beta.reshape(per_channel)


def relu(x):
    return np.where(x > 0, x, 0)


def maxpool2(x):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


# ---- the originals ------------------------------------------------------------------------------------------------
@dataclass
class Changes:
    """What a deliberately wrong original does differently: ``delta`` added to ``weight[index]`` of layer
    ``layer`` (its first array); ``pads`` of a conv layer replaced (``{name: ((top, bottom), (left, right))}``)."""

    layer: str = ""
    index: tuple = ()
    delta: float = 0.0
    pads: dict = field(default_factory=dict)


class NumpyOriginal:
    """An original computed by ``forward(arrays, x, pads) -> {tensor: value}`` on its own copy of the arrays;
    ``pads(name, usual)`` is a conv's padding, ``usual`` unless the changes replace it. ``runs`` records every
    input it was given."""

    def __init__(self, forward, arrays: dict, changes: Changes | None = None, float64: bool = True):
        self.forward, self.changes = forward, changes or Changes()
        self.supports_float64 = float64
        self.arrays = {name: ([a.copy() for a in w], [a.copy() for a in b]) for name, (w, b) in arrays.items()}
        if self.changes.layer:
            self.arrays[self.changes.layer][0][0][self.changes.index] += self.changes.delta
        self.runs = []

    def run(self, x, dtype):
        if dtype == "float64" and not self.supports_float64:
            raise RuntimeError("no float64 kernels")
        dt = np.dtype(dtype)
        self.runs.append((x.copy(), dtype))
        arrays = {name: ([a.astype(dt) for a in w], [a.astype(dt) for a in b]) for name, (w, b) in self.arrays.items()}
        pads = lambda name, usual=((1, 1), (1, 1)): self.changes.pads.get(name, usual)  # noqa: E731
        return {key: value.astype(dt) for key, value in self.forward(arrays, x.astype(dt), pads).items()}


def _arrays(rng, shapes) -> list:
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def _model(name, input_shape, layers, arrays, forward, batch=2, changes=None, float64=True) -> ImportedModel:
    for layer in layers:
        if layer.name in arrays:
            layer.arrays = (lambda name=layer.name: ([a.copy() for a in arrays[name][0]],
                                                     [a.copy() for a in arrays[name][1]]))
    model = ImportedModel(name, f"{name}.onnx", tuple(input_shape), layers, batch=batch)
    model.original = lambda: NumpyOriginal(forward, arrays, changes, float64)
    return model


def classifier(changes: Changes | None = None, float64: bool = True, flatten_tensor: str = "/flatten/Flatten_output_0"):
    """conv 3→8 k3 p1 (bias) → batchnorm → relu → global_avgpool → flatten → linear 8→5, input 3×8×8, batch 2."""
    rng = np.random.default_rng(20240601)
    w, b = _arrays(rng, [(8, 3, 3, 3), (8,)])
    gamma = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    beta, mean = _arrays(rng, [(8,), (8,)])
    var = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    fc_w, fc_b = _arrays(rng, [(5, 8), (5,)])
    arrays = {"conv1": ([w, b], []), "bn1": ([gamma, beta], [mean, var]), "fc": ([fc_w, fc_b], [])}
    layers = [
        ImportedLayer("conv1", "conv", {"out": 8, "kernel": 3, "padding": 1}, ["input"],
                      origin="Conv node '/conv1/Conv'", tensor="/conv1/Conv_output_0"),
        ImportedLayer("bn1", "batchnorm", {}, ["conv1"], tensor="/bn1/BatchNormalization_output_0"),
        ImportedLayer("relu1", "relu", {}, ["bn1"], tensor="/relu1/Relu_output_0"),
        ImportedLayer("pool", "global_avgpool", {}, ["relu1"], tensor="/pool/GlobalAveragePool_output_0"),
        ImportedLayer("flatten", "flatten", {}, ["pool"], tensor=flatten_tensor),
        ImportedLayer("fc", "linear", {"out": 5}, ["flatten"], origin="Gemm node '/fc/Gemm'", tensor="logits"),
    ]

    def forward(a, x, pads):
        t = {"/conv1/Conv_output_0": conv2d(x, *a["conv1"][0], pads=pads("conv1"))}
        t["/bn1/BatchNormalization_output_0"] = batchnorm(t["/conv1/Conv_output_0"], *a["bn1"][0], *a["bn1"][1])
        t["/relu1/Relu_output_0"] = relu(t["/bn1/BatchNormalization_output_0"])
        t["/pool/GlobalAveragePool_output_0"] = t["/relu1/Relu_output_0"].mean(axis=(2, 3), keepdims=True)
        t["/flatten/Flatten_output_0"] = t["/pool/GlobalAveragePool_output_0"].reshape(x.shape[0], -1)
        fc_w, fc_b = a["fc"][0]
        t["logits"] = t["/flatten/Flatten_output_0"] @ fc_w.T + fc_b
        return t

    return _model("classifier", (3, 8, 8), layers, arrays, forward, changes=changes, float64=float64)


def residual(changes: Changes | None = None):
    """conv_a 4→4 k3 p1 (no bias) → bn_a → relu_a → conv_b 4→4 k3 p1 (no bias); add(relu_a, conv_b) → relu_out;
    input 4×6×6, batch 2."""
    rng = np.random.default_rng(7)
    (wa,) = _arrays(rng, [(4, 4, 3, 3)])
    gamma = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    beta, mean = _arrays(rng, [(4,), (4,)])
    var = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    (wb,) = _arrays(rng, [(4, 4, 3, 3)])
    arrays = {"conv_a": ([wa], []), "bn_a": ([gamma, beta], [mean, var]), "conv_b": ([wb], [])}
    layers = [
        ImportedLayer("conv_a", "conv", {"out": 4, "kernel": 3, "padding": 1, "bias": False}, ["input"],
                      tensor="a"),
        ImportedLayer("bn_a", "batchnorm", {}, ["conv_a"], tensor="a_bn"),
        ImportedLayer("relu_a", "relu", {}, ["bn_a"], tensor="a_relu"),
        ImportedLayer("conv_b", "conv", {"out": 4, "kernel": 3, "padding": 1, "bias": False}, ["relu_a"],
                      tensor="b"),
        ImportedLayer("add", "add", {}, ["relu_a", "conv_b"], tensor="sum"),
        ImportedLayer("relu_out", "relu", {}, ["add"], tensor="out"),
    ]

    def forward(a, x, pads):
        t = {"a": conv2d(x, *a["conv_a"][0], pads=pads("conv_a"))}
        t["a_bn"] = batchnorm(t["a"], *a["bn_a"][0], *a["bn_a"][1])
        t["a_relu"] = relu(t["a_bn"])
        t["b"] = conv2d(t["a_relu"], *a["conv_b"][0], pads=pads("conv_b"))
        t["sum"] = t["a_relu"] + t["b"]
        t["out"] = relu(t["sum"])
        return t

    return _model("residual", (4, 6, 6), layers, arrays, forward, changes=changes)


def concat(changes: Changes | None = None):
    """left: conv 3→4 k1 (bias); right: conv 3→2 k3 p1 (bias), both on the input; concat → maxpool k2; input
    3×6×6, batch 2."""
    rng = np.random.default_rng(11)
    lw, lb, rw, rb = _arrays(rng, [(4, 3, 1, 1), (4,), (2, 3, 3, 3), (2,)])
    arrays = {"left": ([lw, lb], []), "right": ([rw, rb], [])}
    layers = [
        ImportedLayer("left", "conv", {"out": 4, "kernel": 1}, ["input"], tensor="l"),
        ImportedLayer("right", "conv", {"out": 2, "kernel": 3, "padding": 1}, ["input"], tensor="r"),
        ImportedLayer("cat", "concat", {}, ["left", "right"], tensor="lr"),
        ImportedLayer("pool", "maxpool", {"kernel": 2, "stride": 2}, ["cat"], tensor="pooled"),
    ]

    def forward(a, x, pads):
        t = {"l": conv2d(x, *a["left"][0], pads=pads("left", ((0, 0), (0, 0))))}
        t["r"] = conv2d(x, *a["right"][0], pads=pads("right"))
        t["lr"] = np.concatenate([t["l"], t["r"]], axis=1)
        t["pooled"] = maxpool2(t["lr"])
        return t

    return _model("concat", (3, 6, 6), layers, arrays, forward, changes=changes)


def with_unsupported(model: ImportedModel) -> ImportedModel:
    """``model`` as a frontend gives it with ``allow_unsupported``: a CumSum placeholder before its last layer."""
    last = model.layers[-1]
    before = model.layers[-2].name
    placeholder = ImportedLayer("cumsum", "unsupported", {"op": "CumSum", "shape": list(shape_before(model)),
                                                         "of": "/cumsum/CumSum"}, [before], origin="CumSum node "
                                "'/cumsum/CumSum'")
    last.inputs = ["cumsum" if name == before else name for name in last.inputs]
    model.layers = model.layers[:-1] + [placeholder, last]
    model.unsupported = [Unsupported("CumSum", 1, ["/cumsum/CumSum"])]
    return model


def shape_before(model: ImportedModel) -> tuple:
    """The output shape of the next-to-last layer of ``model`` (per sample)."""
    report = convcalc.analyze(convcalc.load(spec_of(model)))
    return tuple(report.layers[-2].output_shape)


# ---- the IR of a spec, as a frontend gives it ---------------------------------------------------------------------
def plain_fields(node) -> dict:
    """The node's fields as a frontend writes them: plain values, defaults left out."""
    fields = REGISTRY[node.kind].fields
    out = {}
    for key, value in node.fields.items():
        default = fields[key].default
        if not fields[key].required and same_value(value, default):
            continue
        out[key] = plain_value(value)
    return out


def dotted_scope(name: str, class_of=lambda path: "") -> tuple:
    """The enclosing modules of a dotted name, outermost first: ``layer1.0.conv1`` → ``layer1``, ``layer1.0``."""
    parts = name.split(".")
    return tuple((".".join(parts[:i]), class_of(".".join(parts[:i]))) for i in range(1, len(parts)))


def resnet_class(path: str) -> str:
    """torchvision's classes of the ResNet modules: ``layerN.M`` is a Bottleneck, the rest are Sequentials."""
    return "Bottleneck" if re.fullmatch(r"layer\d+\.\d+", path) else "Sequential"


def ir_of(spec, class_of=lambda path: "", source: str = "model.onnx", **expand) -> ImportedModel:
    """The IR of a spec's expanded graph: every node as an ImportedLayer, scopes from the dotted names."""
    graph = load(spec).expand(**expand)
    layers = [ImportedLayer(node.name, node.kind, plain_fields(node), list(node.inputs),
                            dotted_scope(node.name, class_of), f"{node.kind} node '{node.name}'")
              for node in graph.nodes]
    return ImportedModel(graph.name, source, tuple(graph.input_shape), layers, batch=graph.batch)


def nodes_of(graph) -> list[tuple]:
    """What must survive a round trip: every node's name, kind, (normalised) fields and inputs, in order."""
    return [(node.name, node.kind, node.fields, list(node.inputs)) for node in graph.nodes]


# ---- the stand-in frontend ----------------------------------------------------------------------------------------
def fake_frontend(monkeypatch, name: str, model_for):
    """Install ``convcalc.importers.NAME_read`` with a ``read`` returning ``model_for(target, shape)`` (with the
    ``batch`` asked for, as a frontend sets it); records its calls in ``module.calls`` (the target, the positional
    arguments, the batch) and each call's ``allow_unsupported`` in ``module.allowed``."""
    module = types.ModuleType(f"convcalc.importers.{name}_read")
    module.calls, module.allowed = [], []

    def read(target, *args, batch=None, allow_unsupported=False, progress=None):  # the keywords of every frontend
        shape = args[-1]
        module.calls.append((target, *args, batch))
        module.allowed.append(allow_unsupported)
        model = model_for(target, shape)
        if batch is not None:
            model.batch = batch
        return model

    module.read = read
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


# ---- the flat spec of an IR ---------------------------------------------------------------------------------------
def spec_of(model: ImportedModel) -> dict:
    """A flat spec of ``model``: one item per layer, its own name, fields and inputs."""
    return {"name": model.name, "input": list(model.input_shape), "batch": model.batch,
            "layers": [{"type": layer.kind, "name": layer.name, **layer.fields, "inputs": list(layer.inputs)}
                       for layer in model.layers]}


def graph_of(model: ImportedModel):
    return convcalc.load(spec_of(model)).expand()


#: the readability goal of issue 15: an imported ResNet-50 in at most 3 × the 44 lines of configs/resnet50.yaml
GOAL = 3 * 44


def round_trips(model) -> str:
    """The block spec of ``model`` (``write_spec(model)``), after checking that it expands to the nodes of the
    flat spec."""
    from convcalc.importers.writer import write_spec

    text = write_spec(model)
    assert nodes_of(load(text).expand()) == nodes_of(load(write_spec(model, flat=True)).expand())
    return text


def deep_resnet(factor: int) -> str:
    """configs/resnet50.yaml with ``factor`` × the bottlenecks per stage (175 layers at 1, 1,295 at 8)."""
    text = shipped_configs()["resnet50"].read_text(encoding="utf-8")
    head, tail = text.split("  - {block: bottleneck, name: layer1")[0], text.split("layer4, ")[1].split("\n", 1)[1]
    calls = ""
    for stage, (count, stride) in enumerate(zip((3, 4, 6, 3), (1, 2, 2, 2))):
        count *= factor
        calls += (f"  - {{block: bottleneck, name: layer{stage + 1}, repeat: {count}, mid: {2 ** stage} * width, "
                  f"stride: {[stride] + [1] * (count - 1)}, project: {[True] + [False] * (count - 1)}}}\n")
    return head + calls.replace("True", "true").replace("False", "false") + tail
