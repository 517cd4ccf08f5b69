"""The original behind an ONNX import (convcalc.importers.onnx_original): the file run by onnxruntime with every
mapped tensor exposed, batch first, on graphs built with onnx.helper (tests/importers/onnx_build.py; no torch).

Expected values are NumPy written here from the operators' definitions (the ONNX operator specs)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from convcalc.errors import SpecError  # noqa: E402
from convcalc.importers import onnx_original  # noqa: E402
from convcalc.importers.onnx_original import OnnxOriginal  # noqa: E402
from convcalc.importers.original import check  # noqa: E402

from .onnx_build import Graph  # noqa: E402


def classifier(batch=1):
    """x (N, 3, 6, 6) → 3×3 conv, pad 1 (4 out) → Relu → GlobalAveragePool → Flatten → Gemm (2 out)."""
    g = Graph((batch, 3, 6, 6))
    conv = g.op("Conv", g.input, g.weight("conv.weight", (4, 3, 3, 3)), g.weight("conv.bias", (4,)),
                name="/conv/Conv", pads=[1, 1, 1, 1])
    relu = g.op("Relu", conv, name="/relu/Relu")
    pool = g.op("GlobalAveragePool", relu, name="/pool/GlobalAveragePool")
    flat = g.op("Flatten", pool, name="/flatten/Flatten")
    fc = g.op("Gemm", flat, g.weight("fc.weight", (2, 4)), g.weight("fc.bias", (2,)), name="/fc/Gemm", transB=1)
    return g, [conv, relu, pool, flat, fc]


def weights(g) -> dict:
    from onnx import numpy_helper

    return {init.name: numpy_helper.to_array(init).astype(np.float64) for init in g.initializers}


def expected_classifier(g, x) -> list:
    """The classifier's tensors from the definitions, in float64: Conv is y[n, o, i, j] = b[o] + Σ_{c, u, v}
    w[o, c, u, v] · x_pad[n, c, i + u, j + v]; Gemm with transB is flat · Wᵀ + b."""
    w = weights(g)
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (1, 1), (1, 1)])
    conv = np.zeros((x.shape[0], 4, 6, 6))
    for u in range(3):
        for v in range(3):
            conv += np.einsum("oc,nchw->nohw", w["conv.weight"][:, :, u, v], xp[:, :, u:u + 6, v:v + 6])
    conv += w["conv.bias"][None, :, None, None]
    relu = np.maximum(conv, 0)
    pool = relu.mean(axis=(2, 3), keepdims=True)
    flat = pool.reshape(x.shape[0], 4)
    return [conv, relu, pool, flat, flat @ w["fc.weight"].T + w["fc.bias"]]


def batch_of(n, shape=(3, 6, 6), seed=0):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


# ---- the values ------------------------------------------------------------------------------------------------------
def test_every_mapped_tensor_batch_first_in_float32(tmp_path):
    g, tensors = classifier()
    original = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", tensors)
    assert original.supports_float64 is False
    x = batch_of(3)                    # the file fixes the batch at 1: three runs of one sample
    values = original.run(x, "float32")
    assert set(values) == set(tensors)
    for name, expected in zip(tensors, expected_classifier(g, x)):
        assert values[name].dtype == np.float32 and values[name].shape == expected.shape
        np.testing.assert_allclose(values[name], expected, rtol=1e-5, atol=1e-5)


def test_a_fixed_batch_runs_in_chunks_and_the_last_is_padded(tmp_path):
    """Batch fixed at 2, a batch of 5: chunks of 2, 2 and 1 (padded to 2, the padding cut off again)."""
    g = Graph((2, 3, 4, 4))
    y = g.op("Relu", g.input, name="/relu/Relu")
    original = OnnxOriginal(g.save(tmp_path, y), "x", [y])
    x = batch_of(5, (3, 4, 4))
    np.testing.assert_array_equal(original.run(x, "float32")[y], np.maximum(x, 0))


def test_a_symbolic_batch_runs_in_one_piece(tmp_path):
    """y = x − mean over the batch (ReduceMean over axis 0): the batch is one run only if every sample is in it."""
    g = Graph(("N", 3, 4, 4))
    mean = g.op("ReduceMean", g.input, name="/mean/ReduceMean", axes=[0], keepdims=1)
    y = g.op("Sub", g.input, mean, name="/sub/Sub")
    x = batch_of(5, (3, 4, 4))
    values = OnnxOriginal(g.save(tmp_path, y), "x", [mean, y]).run(x, "float32")
    np.testing.assert_allclose(values[y], x - x.mean(axis=0, keepdims=True), rtol=1e-6, atol=1e-6)
    assert values[mean].shape == (1, 3, 4, 4)


def test_the_input_unknown_tensors_and_repeats(tmp_path):
    """The input named as a tensor is the batch itself; a name the graph does not compute is left out (the check
    reports it as missing); repeated and empty names are asked once."""
    g, tensors = classifier()
    original = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", ["x", tensors[1], tensors[1], "", "no_such"])
    x = batch_of(2)
    values = original.run(x, "float32")
    assert set(values) == {"x", tensors[1], tensors[-1]}   # the graph's own output comes along
    np.testing.assert_array_equal(values["x"], x)


def test_the_exposed_outputs_carry_the_inferred_types(tmp_path):
    from onnx import TensorProto

    g, tensors = classifier()
    model = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", tensors).exposed_model()
    outputs = {o.name: o.type.tensor_type for o in model.graph.output}
    assert list(outputs) == [tensors[-1], *tensors[:-1]]
    assert all(t.elem_type == TensorProto.FLOAT for t in outputs.values())
    assert [d.dim_value for d in outputs[tensors[0]].shape.dim] == [1, 4, 6, 6]
    assert [d.dim_value for d in outputs[tensors[3]].shape.dim] == [1, 4]


def test_a_model_over_the_protobuf_limit_goes_through_external_data(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_original, "PROTOBUF_LIMIT", 0)
    g, tensors = classifier()
    x = batch_of(2)
    values = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", tensors).run(x, "float32")
    np.testing.assert_allclose(values[tensors[-1]], expected_classifier(g, x)[-1], rtol=1e-5, atol=1e-5)


# ---- with the ONNX frontend and the check ----------------------------------------------------------------------------
def with_batch_norm():
    """The classifier with a BatchNormalization of non-trivial statistics after the conv."""
    g = Graph((1, 3, 6, 6))
    conv = g.op("Conv", g.input, g.weight("conv.weight", (4, 3, 3, 3)), name="/conv/Conv", pads=[1, 1, 1, 1])
    stats = [g.const(f"bn.{k}", v) for k, v in (("weight", [0.5, 1.5, 1.0, 2.0]), ("bias", [0.1, -0.2, 0.3, 0.0]),
                                                ("running_mean", [0.2, -0.1, 0.0, 0.4]),
                                                ("running_var", [0.5, 1.5, 0.9, 2.0]))]
    bn = g.op("BatchNormalization", conv, *stats, name="/bn/BatchNormalization", epsilon=1e-5)
    relu = g.op("Relu", bn, name="/relu/Relu")
    pool = g.op("GlobalAveragePool", relu, name="/pool/GlobalAveragePool")
    flat = g.op("Flatten", pool, name="/flatten/Flatten")
    fc = g.op("Gemm", flat, g.weight("fc.weight", (2, 4)), g.weight("fc.bias", (2,)), name="/fc/Gemm", transB=1)
    return g, fc


def test_the_import_checks_green_in_float32_and_says_why_not_float64(tmp_path):
    from convcalc.importers.source import load_imported

    g, out = with_batch_norm()
    network, model = load_imported(g.save(tmp_path, out))
    graph = network.expand()
    result = check(model, graph, dtype="float32", batch=3)
    assert result.ok, result.sentence()
    assert [row.name for row in result.rows] == ["conv", "bn", "relu", "pool", "flatten", "fc"]
    with pytest.raises(SpecError) as info:
        check(model, graph, dtype="float64")
    assert "the original cannot run in float64 (onnxruntime has no float64 CPU kernel for Conv" in str(info.value)
    with pytest.raises(SpecError) as info:
        model.original().run(batch_of(1), "float64")
    assert str(info.value).endswith("— use --dtype float32")


def test_a_changed_weight_in_the_file_is_found(tmp_path):
    """The check compares against the file: the same import checked against a file whose fc weight differs
    diverges at fc and only there."""
    from convcalc.importers.source import load_imported

    g, out = with_batch_norm()
    network, model = load_imported(g.save(tmp_path, out))
    g.initializers = [init for init in g.initializers if init.name != "fc.weight"]
    g.weight("fc.weight", (2, 4))                       # the builder's next random draw
    other = g.save(tmp_path, out, file="other.onnx")
    tensors = [layer.tensor for layer in model.layers]
    model.original = lambda: OnnxOriginal(other, "x", tensors)
    result = check(model, network.expand(), dtype="float32")
    assert not result.ok and result.first_divergence.name == "fc"
    assert [row.name for row in result.rows if not row.ok] == ["fc"]


# ---- errors ----------------------------------------------------------------------------------------------------------
def test_without_onnxruntime_the_error_names_the_extra(tmp_path, monkeypatch):
    g, tensors = classifier()
    original = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", tensors)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)      # import onnxruntime raises ModuleNotFoundError
    with pytest.raises(SpecError) as info:
        original.run(batch_of(1), "float32")
    assert str(info.value) == (f"{original.path}: --against-original runs the ONNX model with onnxruntime, which "
                               'is not installed — pip install "convcalc[onnx]" (installs onnx and onnxruntime)')


def test_a_model_onnxruntime_cannot_load(tmp_path):
    g = Graph((1, 3, 4, 4))
    y = g.op("NoSuchOp", g.input, name="/odd/NoSuchOp")
    path = g.save(tmp_path, y)
    with pytest.raises(SpecError) as info:
        OnnxOriginal(path, "x", [y]).run(batch_of(1, (3, 4, 4)), "float32")
    message = str(info.value)
    assert message.startswith(f"{path}: onnxruntime cannot load the model (") and "NoSuchOp" in message
    assert "\n" not in message


def test_a_file_that_is_not_onnx(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07not a model at all\xff\xff")
    with pytest.raises(SpecError) as info:
        OnnxOriginal(str(path), "x", []).run(batch_of(1), "float32")
    assert str(info.value).startswith(f"{path}: onnx cannot read the file (")


def test_a_batch_the_model_rejects(tmp_path):
    g, tensors = classifier()
    original = OnnxOriginal(g.save(tmp_path, tensors[-1]), "x", tensors)
    with pytest.raises(SpecError) as info:
        original.run(batch_of(2, (3, 5, 5)), "float32")
    assert str(info.value).startswith(f"{original.path}: onnxruntime failed running the model on a batch of "
                                      "shape (1, 3, 5, 5) (")


def test_an_input_the_model_does_not_have(tmp_path):
    g, tensors = classifier()
    original = OnnxOriginal(g.save(tmp_path, tensors[-1]), "image", tensors)
    with pytest.raises(SpecError) as info:
        original.run(batch_of(1), "float32")
    assert str(info.value) == (f"{original.path}: the model has no input `image` (its inputs: x) — the importer "
                               "names the graph's input")
