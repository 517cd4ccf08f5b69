"""``convcalc.importers.original.check``: an import against the model it came from, on hand-built models
(tests/importers/handmade.py) whose originals are plain NumPy, and on a real torch module when torch is there.

Hand-worked numbers used below:

* float32's epsilon ε = 2⁻²³ = 1.1920929e-7; the float32 floor of a layer is 8·ε·√K.
* Reduction lengths (values summed into one output value), classifier on 3×8×8: conv1 3·3·3 = 27, bn1 1, relu1 1,
  pool 8·8·8 / 8 = 64 inputs per output, flatten 1, fc 8. Summed upstream: 27, 28, 29, 93, 94, 102.
* Residual on 4×6×6: conv_a 4·3·3 = 36, bn_a 1, relu_a 1, conv_b 36, add 2·(4·6·6) / (4·6·6) = 2, relu_out 1.
  Upstream of add: conv_a, bn_a, relu_a, conv_b and itself, each once: 36 + 1 + 1 + 36 + 2 = 76 (summing over
  both inputs' paths would count conv_a, bn_a, relu_a twice: 114).
* Concat on 3×6×6: left (k1) 3, right (k3) 27, cat (4 + 2)·36 / (6·36) = 1 → 3 + 27 + 1 = 31; pool k2: 4 → 35.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from convcalc.cost.analysis import analyze
from convcalc.errors import SpecError
from convcalc.executor import run
from convcalc.importers.ir import ImportedLayer, ImportedModel
from convcalc.importers.original import (FLOAT64_TOLERANCE, check, check_bytes, float32_tolerance,
                                         reduction_sums, tensor_errors)

from . import handmade
from .handmade import Changes, conv2d

BUILDERS = {"classifier": handmade.classifier, "residual": handmade.residual, "concat": handmade.concat}


def capture(model: ImportedModel) -> list:
    """The originals ``check`` creates (to look at what they were given)."""
    made, make = [], model.original
    model.original = lambda: made.append(make()) or made[-1]
    return made


# ---- every mapped tensor agrees ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_float64_agrees_to_1e_10(name):
    model = BUILDERS[name]()
    result = check(model, handmade.graph_of(model), dtype="float64")
    assert result.ok and result.first_divergence is None
    assert [row.name for row in result.rows] == [layer.name for layer in model.layers]
    for row in result.rows:
        assert row.tolerance == 1e-10 and row.max_rel <= 1e-10 and row.max_abs <= 1e-10, row
    assert result.sentence() == f"every mapped tensor agrees with the original: {len(model.layers)} compared"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_float32_agrees_within_the_reported_tolerance(name):
    model = BUILDERS[name]()
    result = check(model, handmade.graph_of(model), dtype="float32")
    assert result.ok, result.sentence()
    for row in result.rows:
        assert 0 < row.max_rel <= row.tolerance
        assert row.rounding is not None and row.tolerance == float32_tolerance(row.rounding, row_k(model, row.name))
    data = result.to_dict()
    assert data["tolerance"]["rule"].startswith("8·max(r, ε·√K)")
    assert data["tolerance"]["min"] == min(row.tolerance for row in result.rows)


def row_k(model, name):
    graph = handmade.graph_of(model)
    return reduction_sums(graph, run(graph))[name]


def test_the_original_gets_the_seeded_input_in_the_run_dtype():
    model = handmade.classifier()
    made = capture(model)
    graph = handmade.graph_of(model)
    check(model, graph, dtype="float32", seed=3)
    (x, dtype), = made[0].runs
    assert dtype == "float32" and x.dtype == np.float32 and x.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(x, run(graph, seed=3).input)  # verify's own seeded input
    check(model, graph, dtype="float64", seed=3, batch=3)
    (x, dtype), = made[1].runs
    assert dtype == "float64" and x.shape == (3, 3, 8, 8)


# ---- the tolerance and the errors, hand-worked ------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("classifier", {"conv1": 27, "bn1": 28, "relu1": 29, "pool": 93, "flatten": 94, "fc": 102}),
    ("residual", {"conv_a": 36, "bn_a": 37, "relu_a": 38, "conv_b": 74, "add": 76, "relu_out": 77}),
    ("concat", {"left": 3, "right": 27, "cat": 31, "pool": 35}),
])
def test_reduction_sums(name, expected):
    graph = handmade.graph_of(BUILDERS[name]())
    assert reduction_sums(graph, run(graph)) == pytest.approx(expected, rel=1e-12)


def test_float32_tolerance_is_8_max_of_rounding_and_eps_sqrt_k():
    # 8 · 2⁻²³ · √27 = 8 · 1.1920929e-7 · 5.1961524 = 4.9553e-6
    assert float32_tolerance(0.0, 27) == pytest.approx(4.9553e-6, rel=1e-4)
    assert float32_tolerance(1e-5, 27) == pytest.approx(8e-5)          # the measured rounding is larger
    assert FLOAT64_TOLERANCE == 1e-10


def test_relative_error_against_the_rms_of_the_original():
    # b = [1, 0, 2.2]: RMS = √((1 + 0 + 4.84)/3) = √1.946667 = 1.395230; |a − b| = [0, 0.1, 0.2]
    # rel = [0/1, 0.1/max(0, 1.395) = 0.071673, 0.2/2.2 = 0.090909] → max 0.090909
    ours, theirs = np.array([[1.0, 0.1, 2.0]]), np.array([[1.0, 0.0, 2.2]])
    max_abs, max_rel, problem = tensor_errors(ours, theirs)
    assert problem == "" and max_abs == pytest.approx(0.2) and max_rel == pytest.approx(0.0909091, rel=1e-6)
    # the element near zero alone: 0.1 / 1.395230 = 0.0716728 (not 0.1 / 0 = inf)
    assert tensor_errors(np.array([[1.0, 0.1, 2.2]]), theirs)[1] == pytest.approx(0.0716728, rel=1e-6)


def test_errors_of_non_finite_values_and_of_shapes():
    inf, nan = float("inf"), float("nan")
    assert tensor_errors(np.array([[inf, 1.0, nan]]), np.array([[inf, 1.0, nan]])) == (0.0, 0.0, "")
    assert tensor_errors(np.array([[inf, 1.0]]), np.array([[2.0, 1.0]])) == (
        inf, inf, "1 values are not finite on one side only")
    assert tensor_errors(np.zeros((2, 3)), np.zeros((2, 4)))[2] == (
        "the original's shape is (2, 4), the executor's (2, 3) (batch first)")
    # an all-zero original: the scale is the smallest normal, so any difference fails
    assert tensor_errors(np.array([[1e-30]]), np.array([[0.0]]))[1] > 1e200


def test_the_memory_estimate():
    # classifier, batch 2: values 2·(3 × 8·8·8 + 8 + 8 + 5) = 2·1557 = 3114; params 8·27 + 8 + 16 + 5·8 + 5 = 285;
    # the largest im2col workspace, conv1: MACs 2·512·27 = 27,648 over C_out 8 = 3,456 values (in float64: 8 bytes).
    # float32: each value is held by the executor and the original (4 bytes each) and the float64 run (8): 16 bytes;
    # float64: executor and original, 8 bytes each: 16 bytes too. 2 × ((3114 + 285)·16 + 3456·8) = 2 × 82,032
    report = analyze(handmade.graph_of(handmade.classifier()))
    assert check_bytes(report, "float32") == check_bytes(report, "float64") == 164_064


# ---- a deliberately wrong original ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_perturbed_linear_weight_diverges_at_the_linear(dtype):
    # fc's weight[0, 0] + δ changes logit 0 by δ · feature 0 of each sample: max abs error = |δ| · max |f[:, 0]|
    delta = 0.01
    model = handmade.classifier(Changes("fc", (0, 0), delta))
    made = capture(model)
    result = check(model, handmade.graph_of(model), dtype=dtype)
    first = result.first_divergence
    assert not result.ok and first.name == "fc" and first.type == "linear"
    assert [row.ok for row in result.rows] == [True] * 5 + [False]
    x = made[0].runs[0][0].astype(np.float64)
    features = made[0].forward(_arrays_of(model), x, lambda name, usual=((1, 1), (1, 1)): usual)  # unperturbed
    delta = stored_delta(made[0], model, "fc", (0, 0))
    expected = delta * np.abs(features["/flatten/Flatten_output_0"][:, 0]).max()
    assert first.max_abs == pytest.approx(expected, rel=1e-9 if dtype == "float64" else 1e-3)
    assert first.max_rel > first.tolerance
    assert result.sentence().startswith("first divergence: layer `fc` (linear), the original's `logits`: max abs error ")


def stored_delta(original, model, name, index) -> float:
    """δ as the perturbed float32 weight holds it (w + δ rounded to float32, minus w)."""
    (w, *_), _ = next(layer for layer in model.layers if layer.name == name).arrays()
    return float(np.float64(original.arrays[name][0][0][index]) - np.float64(w[index]))


def _arrays_of(model):
    return {layer.name: tuple([a.astype(np.float64) for a in arrays] for arrays in layer.arrays())
            for layer in model.layers if layer.arrays is not None}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_perturbed_conv_weight_in_a_residual_block_is_found_at_that_conv(dtype):
    # conv_b's centre tap w[0, 0, 1, 1] + δ (padding 1, so the centre tap reads the same position): output channel
    # 0 changes by δ · relu_a[:, 0] exactly, so the max abs error is |δ| · max relu_a[:, 0]. The add after it
    # diverges too; the first divergence is conv_b.
    delta = 0.05
    model = handmade.residual(Changes("conv_b", (0, 0, 1, 1), delta))
    made = capture(model)
    result = check(model, handmade.graph_of(model), dtype=dtype)
    assert [(row.name, row.ok) for row in result.rows] == [
        ("conv_a", True), ("bn_a", True), ("relu_a", True), ("conv_b", False), ("add", False), ("relu_out", False)]
    first = result.first_divergence
    assert first.name == "conv_b"
    x = made[0].runs[0][0].astype(np.float64)
    arrays = _arrays_of(model)
    relu_a = handmade.relu(handmade.batchnorm(conv2d(x, *arrays["conv_a"][0]), *arrays["bn_a"][0], *arrays["bn_a"][1]))
    delta = stored_delta(made[0], model, "conv_b", (0, 0, 1, 1))
    assert first.max_abs == pytest.approx(delta * relu_a[:, 0].max(), rel=1e-9 if dtype == "float64" else 1e-3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_off_by_one_pad_is_found_at_the_first_conv(dtype):
    # the original pads conv1 by (2 before, 0 after) rows instead of (1, 1): the same 8×8 output, shifted one row
    model = handmade.classifier(Changes(pads={"conv1": ((2, 0), (1, 1))}))
    made = capture(model)
    result = check(model, handmade.graph_of(model), dtype=dtype)
    first = result.first_divergence
    assert first is result.rows[0] and first.name == "conv1" and not first.problem
    x = made[0].runs[0][0].astype(np.float64)
    w, b = _arrays_of(model)["conv1"][0]
    expected = np.abs(conv2d(x, w, b) - conv2d(x, w, b, pads=((2, 0), (1, 1)))).max()
    assert first.max_abs == pytest.approx(expected, rel=1e-9 if dtype == "float64" else 1e-5)
    assert first.max_rel > 0.1  # a shifted image is no rounding error


def test_a_pad_that_changes_the_shape_is_reported_as_such():
    model = handmade.classifier(Changes(pads={"conv1": ((2, 1), (1, 1))}))  # 8 + 3 − 3 + 1 = 9 rows
    result = check(model, handmade.graph_of(model), dtype="float64")
    first = result.first_divergence
    assert first.name == "conv1" and first.max_abs is None and first.original_shape == [8, 9, 8]
    assert first.explain() == ("layer `conv1` (conv), the original's `/conv1/Conv_output_0`: the original's shape is "
                               "(2, 8, 9, 8), the executor's (2, 8, 8, 8) (batch first)")
    assert first.to_dict()["max_abs"] is None


def test_a_tensor_the_original_does_not_return_is_a_divergence():
    model = handmade.concat()
    model.layers[2].tensor = "no_such_tensor"
    result = check(model, handmade.graph_of(model), dtype="float64")
    assert [row.ok for row in result.rows] == [True, True, False, True]
    assert result.first_divergence.problem == "the original returned no tensor `no_such_tensor`"


# ---- layers without a tensor ------------------------------------------------------------------------------------
def test_layers_without_a_tensor_are_skipped_and_counted():
    model = handmade.classifier(flatten_tensor="")
    result = check(model, handmade.graph_of(model), dtype="float64")
    assert result.ok and result.skipped == ["flatten"]
    assert [row.name for row in result.rows] == ["conv1", "bn1", "relu1", "pool", "fc"]
    data = result.to_dict()
    assert data["compared"] == 5 and data["skipped"] == ["flatten"] and data["output"] == {"layer": "fc",
                                                                                          "compared": True}


def test_an_output_without_a_tensor_is_said():
    model = handmade.residual()
    model.layers[-1].tensor = ""
    result = check(model, handmade.graph_of(model), dtype="float64")
    assert result.ok and not result.output_compared
    assert result.sentence() == ("every mapped tensor agrees with the original: 5 compared (the output layer "
                                 "`relu_out` has no tensor to compare)")


# ---- what cannot be checked -------------------------------------------------------------------------------------
def _error(model, dtype="float32", graph=None) -> str:
    with pytest.raises(SpecError) as info:
        check(model, graph or handmade.graph_of(model), dtype=dtype)
    assert info.value.mark is None and info.value.hint
    return str(info.value)


def _with_arrays(model, name, weights, buffers=()):
    layer = next(layer for layer in model.layers if layer.name == name)
    layer.arrays = lambda: (list(weights), list(buffers))
    return model


def test_arrays_of_the_wrong_shape_name_the_layer_and_both_shapes():
    model = handmade.classifier()
    w, b = model.layers[0].arrays()[0]
    message = _error(_with_arrays(model, "conv1", [w.transpose(1, 0, 2, 3), b]))
    assert message.startswith(
        "classifier.onnx: layer `conv1` (conv): its kernel allocates weights (8, 3, 3, 3), (8,) and no buffers, but "
        "the arrays given are weights (3, 8, 3, 3), (8,) and no buffers (from Conv node '/conv1/Conv') — ")


def test_a_missing_bias_and_buffers_given_as_weights():
    model = handmade.classifier()
    w, _ = model.layers[0].arrays()[0]
    assert "the arrays given are weights (8, 3, 3, 3) and no buffers" in _error(_with_arrays(model, "conv1", [w]))
    model = handmade.classifier()
    (gamma, beta), (mean, var) = model.layers[1].arrays()
    message = _error(_with_arrays(model, "bn1", [gamma, beta, mean, var]))
    assert ("layer `bn1` (batchnorm): its kernel allocates weights (8,), (8,) and buffers (8,), (8,), but the arrays "
            "given are weights (8,), (8,), (8,), (8,) and no buffers") in message


def test_a_layer_with_weights_and_no_arrays():
    model = handmade.classifier()
    model.layers[-1].arrays = None
    assert ("layer `fc` (linear): its kernel allocates weights (5, 8), (5,) and no buffers, but the arrays given are "
            "no weights and no buffers (from Gemm node '/fc/Gemm')") in _error(model)


def test_extra_arrays_are_an_error_too():
    model = handmade.classifier()
    weights, _ = model.layers[-1].arrays()
    assert "the arrays given are weights (5, 8), (5,), (5,) and no buffers" in _error(
        _with_arrays(model, "fc", [*weights, weights[1]]))


def test_unsupported_placeholders_cannot_be_checked():
    message = _error(handmade.with_unsupported(handmade.classifier()))
    assert message.startswith("classifier.onnx: operators with no layer kind (CumSum ×1): their placeholders "
                              "compute zeros, so the import cannot be checked against the original — ")


def test_an_original_without_float64():
    model = handmade.classifier(float64=False)
    assert "the original cannot run in float64 — use --dtype float32" in _error(model, "float64")
    assert check(model, handmade.graph_of(model), dtype="float32").ok


def test_no_runnable_original():
    model = handmade.classifier()
    model.original = None
    assert "classifier.onnx: the importer cannot run this model" in _error(model)


def test_a_spec_without_the_models_layer_names():
    model = handmade.classifier()
    graph = handmade.graph_of(model)
    model.layers[0].name = "features.0"
    assert "the spec has no layer `features.0` (Conv node '/conv1/Conv')" in _error(model, graph=graph)


def test_the_dtype_is_checked():
    assert "not `float16`" in _error(handmade.classifier(), "float16")


# ---- a real torch module, wrapped as an Original by hand --------------------------------------------------------
class TorchOriginal:
    """A torch module run in eval mode with forward hooks recording each named submodule's output (the torch
    frontend, branch ``torch``, provides the real one)."""

    supports_float64 = True

    def __init__(self, module):
        self.module = module

    def run(self, x, dtype):
        import torch

        module = self.module.to(torch.float64 if dtype == "float64" else torch.float32)
        values, hooks = {}, []
        for name, sub in module.named_modules():
            if name:
                hooks.append(sub.register_forward_hook(
                    lambda _, __, out, name=name: values.__setitem__(name, out.detach().numpy().copy())))
        try:
            with torch.no_grad():
                module(torch.from_numpy(x))
        finally:
            for hook in hooks:
                hook.remove()
        return values


def test_a_torch_module():
    torch = pytest.importorskip("torch")
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.add = Add()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            h = self.relu1(self.bn1(self.conv1(x)))
            return self.fc(self.flatten(self.pool(self.add(h, self.conv2(h)))))

    class Add(nn.Module):
        def forward(self, a, b):
            return a + b

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():  # running statistics that are not the identity
        net.bn1.running_mean.uniform_(-0.5, 0.5)
        net.bn1.running_var.uniform_(0.5, 1.5)
        net.bn1.weight.uniform_(0.5, 1.5)
        net.bn1.bias.uniform_(-0.5, 0.5)

    def arrays(module):
        state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items() if k != "num_batches_tracked"}
        weights = [state[k] for k in ("weight", "bias") if k in state]
        return lambda: (weights, [state[k] for k in ("running_mean", "running_var") if k in state])

    def layer(name, kind, fields, inputs):
        sub = getattr(net, name)
        return ImportedLayer(name, kind, fields, inputs, origin=f"torch.nn.{type(sub).__name__}", tensor=name,
                             arrays=arrays(sub) if any(True for _ in sub.parameters()) else None)

    layers = [
        layer("conv1", "conv", {"out": 8, "kernel": 3, "padding": 1, "bias": False}, ["input"]),
        layer("bn1", "batchnorm", {}, ["conv1"]),
        layer("relu1", "relu", {}, ["bn1"]),
        layer("conv2", "conv", {"out": 8, "kernel": 3, "padding": 1}, ["relu1"]),
        layer("add", "add", {}, ["relu1", "conv2"]),
        layer("pool", "global_avgpool", {}, ["add"]),
        layer("flatten", "flatten", {}, ["pool"]),
        layer("fc", "linear", {"out": 4}, ["flatten"]),
    ]
    model = ImportedModel("net", "torch:tests.net:Net", (3, 8, 8), layers, batch=2,
                          original=lambda: TorchOriginal(net))
    graph = handmade.graph_of(model)
    for dtype in ("float64", "float32"):
        result = check(model, graph, dtype=dtype)
        assert result.ok, result.sentence()
        assert len(result.rows) == 8 and result.skipped == []
    with torch.no_grad():
        net.conv2.weight[1, 2, 0, 0] += 0.1
    result = check(model, graph, dtype="float64")
    assert result.first_divergence.name == "conv2"
    assert math.isfinite(result.first_divergence.max_abs) and result.first_divergence.max_abs > 1e-3
