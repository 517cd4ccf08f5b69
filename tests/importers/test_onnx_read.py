"""The ONNX frontend end to end: folding of shape subgraphs, names and scopes, weights' layout, warnings, and
every error a user can make (each a SpecError with a clear message, exit 2 at the command line)."""

from __future__ import annotations

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

from convcalc.errors import SpecError  # noqa: E402
from convcalc.importers.onnx_read import read  # noqa: E402

from .onnx_build import Graph  # noqa: E402
from .torch_helpers import analyse  # noqa: E402


def mapped(model) -> list:
    return [(layer.kind, layer.fields) for layer in model.layers]


# ---- folding ----------------------------------------------------------------------------------------------------
def test_shape_gather_concat_reshape_folds_to_flatten(tmp_path):
    """``x.view(x.size(0), -1)`` as the TorchScript exporter writes it, on a symbolic batch."""
    g = Graph(("N", 3, 4, 4))
    shape = g.op("Shape", g.input)
    batch = g.op("Gather", shape, g.const("zero", np.int64(0)), axis=0)
    dims = g.op("Concat", g.op("Unsqueeze", batch, g.ints("ax", [0])), g.ints("rest", [-1]), axis=0)
    model = g.imported(tmp_path, g.op("Gemm", g.op("Reshape", g.input, dims), g.weight("w", (5, 48)), transB=1))
    assert mapped(model) == [("flatten", {}), ("linear", {"out": 5, "bias": False})]


def test_constant_of_shape_and_cast_fold(tmp_path):
    g = Graph((1, 3, 4, 4))
    zeros = g.op("ConstantOfShape", g.ints("n", [8]), value=helper.make_tensor("v", onnx.TensorProto.INT64, [1], [0]))
    pads = g.op("Cast", g.op("Add", zeros, g.ints("p", [0, 0, 1, 1, 0, 0, 1, 1])), to=onnx.TensorProto.INT64)
    model = g.imported(tmp_path, g.op("Pad", g.input, pads))
    assert mapped(model) == [("pad", {"padding": 1})]


def test_weight_passed_through_transpose_is_a_constant(tmp_path):
    """A weight stored (in, out) and transposed in the graph: the linear's arrays are its real (out, in) values."""
    g = Graph((1, 6))
    w = np.arange(12, dtype=np.float32).reshape(6, 2)
    wt = g.op("Transpose", g.const("w", w), perm=[1, 0])
    model = g.imported(tmp_path, g.op("Gemm", g.input, wt, transB=1))
    assert mapped(model) == [("linear", {"out": 2, "bias": False})]
    weights, buffers = model.layers[0].arrays()
    np.testing.assert_array_equal(weights[0], w.T)


def test_arrays_in_the_executor_layout(tmp_path):
    g = Graph((1, 3, 4, 4))
    w, b = g.weight("w", (4, 3, 3, 3)), g.weight("b", (4,))
    y = g.op("BatchNormalization", g.op("Conv", g.input, w, b), g.weight("s", (4,)), g.weight("beta", (4,)),
             g.weight("m", (4,)), g.const("v", np.ones(4)))
    flat = g.op("Flatten", g.op("GlobalAveragePool", y))
    matrix = g.weight("fc", (4, 7))  # MatMul's (in, out)
    model = g.imported(tmp_path, g.op("MatMul", flat, matrix))
    conv, bn, _, _, fc = [layer.arrays() for layer in model.layers]
    assert [a.shape for a in conv[0]] == [(4, 3, 3, 3), (4,)] and conv[1] == []
    assert [a.shape for a in bn[0]] == [(4,), (4,)] and [a.shape for a in bn[1]] == [(4,), (4,)]
    assert [a.shape for a in fc[0]] == [(7, 4)]
    np.testing.assert_array_equal(fc[0][0], onnx.numpy_helper.to_array(g.initializers[-1]).T)


# ---- names and scopes -------------------------------------------------------------------------------------------
def torchscript_block(g):
    """Node names as the TorchScript exporter writes them: the module path, segment by segment."""
    x = g.op("Conv", g.input, g.weight("layer1.0.conv1.weight", (3, 3, 1, 1)), name="/layer1/layer1.0/conv1/Conv")
    x = g.op("Relu", x, name="/layer1/layer1.0/relu/Relu")
    x = g.op("Add", x, g.input, name="/layer1/layer1.0/Add")
    x = g.op("Relu", x, name="/layer1/layer1.0/relu_1/Relu")
    return g.op("Flatten", g.op("GlobalAveragePool", x, name="/avgpool/GlobalAveragePool"), name="/Flatten")


def test_torchscript_names_become_module_paths(tmp_path):
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, torchscript_block(g))
    assert [(layer.name, layer.scope) for layer in model.layers] == [
        ("layer1.0.conv1", (("layer1", ""), ("layer1.0", ""))),
        ("layer1.0.relu", (("layer1", ""), ("layer1.0", ""))),
        ("layer1.0.add", (("layer1", ""), ("layer1.0", ""))),
        ("layer1.0.relu_1", (("layer1", ""), ("layer1.0", ""))),
        ("avgpool", ()),
        ("flatten", ()),
    ]
    assert model.layers[0].tensor == "/layer1/layer1.0/conv1/Conv_out0"
    assert model.layers[0].origin == "Conv node '/layer1/layer1.0/conv1/Conv'"
    assert model.layers[2].inputs == ["layer1.0.relu", "input"]


def scoped(g, op_type, *inputs, scopes, classes, name):
    """A node with the dynamo exporter's metadata."""
    out = g.op(op_type, *inputs, name=name)
    node = g.nodes[-1]
    for key, value in (("pkg.torch.onnx.name_scopes", repr(scopes)), ("pkg.torch.onnx.class_hierarchy", repr(classes))):
        entry = node.metadata_props.add()
        entry.key, entry.value = key, value
    return out


def test_dynamo_metadata_gives_paths_classes_and_repeated_calls(tmp_path):
    """A module called twice (one ReLU for both) is named as the PyTorch frontend names it: relu, relu_1."""
    g = Graph((1, 3, 4, 4))
    block = ["m.Net", "m.Block"]
    x = scoped(g, "Relu", g.input, scopes=["", "b", "b.relu", "relu"], classes=block + ["torch.nn.ReLU", "aten.relu"],
               name="node_relu")
    x = scoped(g, "Add", x, g.input, scopes=["", "b", "add"], classes=block + ["aten.add"], name="node_add")
    x = scoped(g, "Relu", x, scopes=["", "b", "b.relu", "relu_1"], classes=block + ["torch.nn.ReLU", "aten.relu"],
               name="node_relu_1")
    model = g.imported(tmp_path, x)
    assert [(layer.name, layer.scope) for layer in model.layers] == [
        ("b.relu", (("b", "Block"),)), ("b.add", (("b", "Block"),)), ("b.relu_1", (("b", "Block"),))]


def test_unscoped_names_are_numbered(tmp_path):
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, g.op("Relu", g.op("Relu", g.input, name="Relu_0"), name="Relu_1"))
    assert [layer.name for layer in model.layers] == ["relu", "relu_1"]


# ---- shapes -------------------------------------------------------------------------------------------------------
def test_symbolic_batch_is_traced_and_batch_kept(tmp_path):
    g = Graph(("batch", 3, 8, 8))
    model = g.imported(tmp_path, g.op("Relu", g.input), batch=4)
    assert (model.input_shape, model.batch, model.input_name) == ((3, 8, 8), 4, "x")


def test_dynamic_dims_fixed_by_input(tmp_path):
    g = Graph(("N", 3, "H", "W"))
    y = g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), strides=[2, 2])
    model = g.imported(tmp_path, y, input_shape=(3, 9, 9))
    assert model.input_shape == (3, 9, 9)
    assert analyse(model).layers[-1].output_shape == [4, 4, 4]


def test_dynamic_dims_without_input_name_the_input_and_dims(tmp_path):
    g = Graph(("N", 3, "height", "width"))
    with pytest.raises(SpecError, match=r"input 'x' has symbolic dims 'height', 'width' \(shape \[Nx3xheightxwidth\]\)"
                                        r".*--input"):
        g.imported(tmp_path, g.op("Relu", g.input))


def test_input_of_the_wrong_rank(tmp_path):
    g = Graph((1, 3, 8, 8))
    with pytest.raises(SpecError, match=r"--input 3x8 does not fit the input 'x' of shape \[1x3x8x8\]"):
        g.imported(tmp_path, g.op("Relu", g.input), input_shape=(3, 8))


# ---- errors -------------------------------------------------------------------------------------------------------
def test_corrupt_file(tmp_path):
    g = Graph((1, 3, 4, 4))
    path = g.save(tmp_path, g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3))))
    data = open(path, "rb").read()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(SpecError, match="not a readable ONNX model|not an ONNX model"):
        read(str(tmp_path / "cut.onnx"))


def test_not_an_onnx_file(tmp_path):
    (tmp_path / "net.onnx").write_text("name: tiny\ninput: [3, 8, 8]\nlayers: []\n")
    with pytest.raises(SpecError, match="not a readable ONNX model|not an ONNX model"):
        read(str(tmp_path / "net.onnx"))


def test_several_inputs(tmp_path):
    g = Graph((1, 3, 4, 4))
    g.inputs.append(helper.make_tensor_value_info("mask", onnx.TensorProto.FLOAT, [1, 3, 4, 4]))
    with pytest.raises(SpecError, match=r"2 inputs \('x', 'mask'\)"):
        g.imported(tmp_path, g.op("Add", g.input, "mask"))


def unsupported_graph(g):
    x = g.op("Erf", g.input, name="/a/Erf")
    x = g.op("Erf", x, name="/b/Erf")
    return g.op("Relu", g.op("Sin", g.op("Relu", x), name="/c/Sin"))


def test_unsupported_ops_listed_with_counts_and_nodes(tmp_path):
    g = Graph((1, 3, 4, 4))
    with pytest.raises(SpecError) as error:
        g.imported(tmp_path, unsupported_graph(g))
    assert "2 operator types with no convcalc layer kind (3 nodes): Erf ×2 ('/a/Erf', '/b/Erf'); Sin ×1 ('/c/Sin')" \
        in error.value.message
    assert "--allow-unsupported" in error.value.hint


def test_unsupported_ops_allowed_as_placeholders(tmp_path):
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, unsupported_graph(g), allow_unsupported=True)
    assert [layer.kind for layer in model.layers] == ["unsupported", "unsupported", "relu", "unsupported", "relu"]
    assert model.layers[0].fields == {"op": "Erf", "shape": [3, 4, 4], "of": "/a/Erf"}
    assert [(u.op, u.count, u.nodes) for u in model.unsupported] == [("Erf", 2, ["/a/Erf", "/b/Erf"]),
                                                                      ("Sin", 1, ["/c/Sin"])]


def test_unmappable_setting_says_why(tmp_path):
    g = Graph((1, 3, 8, 8))
    y = g.op("MaxPool", g.input, kernel_shape=[2, 2], pads=[0, 0, 1, 1], name="/pool/MaxPool")
    with pytest.raises(SpecError, match=r"MaxPool \(asymmetric pads \[0, 0, 1, 1\].*\) ×1 \('/pool/MaxPool'\)"):
        g.imported(tmp_path, y)


# ---- warnings -----------------------------------------------------------------------------------------------------
def test_folded_batch_norm_warns(tmp_path):
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), g.weight("b", (4,))))
    assert any("folded" in sentence for sentence in model.warnings)


def test_no_folded_warning_with_batch_norm_or_without_biases(tmp_path):
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3))))
    assert not any("folded" in sentence for sentence in model.warnings)


def test_dropped_nodes_and_float16_warn(tmp_path):
    g = Graph((1, 3, 4, 4), dtype=onnx.TensorProto.FLOAT16)
    y = g.op("Conv", g.op("Dropout", g.op("Identity", g.input)), g.weight("w", (4, 3, 1, 1), np.float16))
    model = g.imported(tmp_path, y)
    assert "1 Identity node, 1 Dropout node left out (the identity at inference)" in model.warnings
    assert any("float16" in sentence for sentence in model.warnings)
    assert model.layers[0].arrays()[0][0].dtype == np.float32


def test_several_outputs_follow_the_first(tmp_path):
    g = Graph((1, 3, 4, 4))
    a = g.op("Relu", g.input)
    model = g.imported(tmp_path, a, g.op("Sigmoid", g.input))
    assert [layer.kind for layer in model.layers] == ["relu"]
    assert any("2 outputs" in sentence for sentence in model.warnings)


# ---- exporters' decompositions -------------------------------------------------------------------------------------
def test_sigmoid_gate_of_itself_is_silu_and_tanh_softplus_is_mish(tmp_path):
    g = Graph((1, 3, 4, 4), opset=18)
    silu = g.op("Mul", g.input, g.op("Sigmoid", g.input))
    mish = g.op("Mul", silu, g.op("Tanh", g.op("Softplus", silu)))
    model = g.imported(tmp_path, mish)
    assert mapped(model) == [("silu", {}), ("mish", {})]


def test_softplus_of_a_scaled_input_divided_back_is_softplus_with_its_beta(tmp_path):
    # torch's TorchScript exporter writes nn.Softplus(beta=2) as Div(Softplus(Mul(x, 2)), 2)
    g = Graph((1, 3, 4, 4))
    two = g.const("two", np.float32(2.0))
    model = g.imported(tmp_path, g.op("Div", g.op("Softplus", g.op("Mul", g.input, two)), two))
    assert mapped(model) == [("softplus", {"beta": 2.0})]
    # a different divisor is no softplus(β): the three layers stay
    g = Graph((1, 3, 4, 4))
    model = g.imported(tmp_path, g.op("Div", g.op("Softplus", g.op("Mul", g.input, g.const("two", np.float32(2)))),
                                      g.const("three", np.float32(3))))
    assert [kind for kind, _ in mapped(model)] == ["scalar", "softplus", "scalar"]


def test_a_gate_of_something_else_stays_a_multiply(tmp_path):
    g = Graph((1, 3, 4, 4))
    relu = g.op("Relu", g.input)
    model = g.imported(tmp_path, g.op("Mul", relu, g.op("Sigmoid", g.input)))
    assert [kind for kind, _ in mapped(model)] == ["relu", "sigmoid", "multiply"]


def group_norm_decomposed(g, gamma, beta):
    """GroupNorm(2, 4) as the TorchScript exporter writes it: reshape to (N, 2, −1), an instance norm with
    Constant γ = 1 and β = 0, reshape back, then the affine γ and β."""
    ones = g.op("Constant", value=onnx.numpy_helper.from_array(np.ones(2, np.float32)))
    zeros = g.op("Constant", value=onnx.numpy_helper.from_array(np.zeros(2, np.float32)))
    x = g.op("Reshape", g.input, g.ints("grouped", [0, 2, -1]))
    x = g.op("InstanceNormalization", x, ones, zeros, epsilon=1e-5)
    x = g.op("Reshape", x, g.op("Shape", g.input))
    return g.op("Add", g.op("Mul", x, gamma), beta)


def test_decomposed_group_norm_is_one_layer(tmp_path):
    g = Graph((1, 4, 4, 4))
    y = group_norm_decomposed(g, g.weight("gn.weight", (4, 1, 1)), g.weight("gn.bias", (4, 1, 1)))
    model = g.imported(tmp_path, y)
    assert mapped(model) == [("groupnorm", {"groups": 2})]
    assert [a.shape for a in model.layers[0].arrays()[0]] == [(4,), (4,)]
    assert analyse(model).totals.params == 8  # γ, β: 4 each


def test_decomposed_group_norm_without_affine(tmp_path):
    g = Graph((1, 4, 4, 4))
    one = g.op("Constant", value=onnx.numpy_helper.from_array(np.ones((4, 1, 1), np.float32)))
    zero = g.op("Constant", value=onnx.numpy_helper.from_array(np.zeros((4, 1, 1), np.float32)))
    model = g.imported(tmp_path, group_norm_decomposed(g, one, zero))
    assert mapped(model) == [("groupnorm", {"groups": 2, "affine": False})]


def test_layer_norm_with_constant_ones_has_no_affine_parameters(tmp_path):
    g = Graph((1, 2, 3, 8))
    ones = g.op("Constant", value=onnx.numpy_helper.from_array(np.ones(8, np.float32)))
    model = g.imported(tmp_path, g.op("LayerNormalization", g.input, ones))
    assert mapped(model) == [("layernorm", {"axis": "last", "affine": False})]


# ---- reading without the weights ----------------------------------------------------------------------------------
def test_wire_scan_reads_what_protobuf_reads_but_the_large_weights(tmp_path):
    from convcalc.importers.onnx_graph import parsed
    from convcalc.importers.onnx_wire import WHOLE_BYTES, scan

    g = Graph((1, 64, 8, 8))
    big = g.weight("big.weight", (64, 64, 3, 3))  # 147 KiB: skipped
    y = g.op("Conv", g.input, big, g.weight("big.bias", (64,)), name="/big/Conv", pads=[1, 1, 1, 1])
    path = g.save(tmp_path, g.op("Reshape", y, g.ints("shape", [0, -1])))
    model, graph, inits = scan(path)
    full_model, full_graph, full_inits = parsed(path)
    assert [(n, d, t) for n, d, t, _ in inits] == [(n, d, t) for n, d, t, _ in full_inits]
    assert [tensor is None for _, _, _, tensor in inits] == [True, False, False]
    assert 64 * 64 * 9 * 4 > WHOLE_BYTES
    assert list(graph.node) == list(full_graph.node) and len(graph.initializer) == 0
    assert (model.ir_version, model.opset_import[0].version) == (full_model.ir_version, 17)


def test_empty_file(tmp_path):
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(SpecError, match="not an ONNX model"):
        read(str(tmp_path / "empty.onnx"))


def test_softplus_with_its_threshold_as_the_dynamo_exporter_writes_it(tmp_path):
    g = Graph((1, 3, 4, 4))
    soft = g.op("Softplus", g.input)
    over = g.op("Greater", g.input, g.const("threshold", np.float32(20)), name="n9")
    model = g.imported(tmp_path, g.op("Where", over, g.input, soft))
    assert mapped(model) == [("softplus", {})] and not model.warnings
    assert model.layers[0].tensor == "Where_1_out0"  # the value Where gives (the builder numbers unnamed nodes)


def test_a_fold_that_would_outgrow_its_inputs_is_not_made():
    """GROWS: the element count an expanding op would make, from its (at most SMALL = 4,096-element) inputs."""
    from types import SimpleNamespace

    from convcalc.importers.onnx_fold import too_large

    def node(op, **attrs):
        return SimpleNamespace(op_type=op, attribute=[helper.make_attribute(k, v) for k, v in attrs.items()])

    i64 = np.int64
    assert too_large(node("ConstantOfShape"), [np.array([30_000, 30_000], i64)])  # 9·10^8 elements
    assert not too_large(node("ConstantOfShape"), [np.array([8], i64)])
    assert not too_large(node("Expand"), [np.ones(1), np.array([64, 64], i64)])  # 4,096: at the bound
    assert too_large(node("Expand"), [np.ones(1), np.array([65, 64], i64)])  # 4,160
    assert not too_large(node("Range"), [np.array(0), np.array(10), np.array(3)])  # 0, 3, 6, 9
    assert too_large(node("Range"), [np.array(0), np.array(10**9), np.array(1)])
    assert too_large(node("Range"), [np.array(0), np.array(10), np.array(0)])  # no count: not evaluated
    assert not too_large(node("Gather", axis=1), [np.ones((64, 64)), np.arange(64)])  # 64 · 64
    assert too_large(node("Gather"), [np.ones((64, 64)), np.zeros(65, i64)])  # 65 · 64
    assert too_large(node("Where"), [np.ones((4096, 1), bool), np.ones((1, 4096)), np.ones(1)])  # 4,096²
    assert not too_large(node("Concat"), [np.ones(2048), np.ones(2048)])  # 4,096
    assert too_large(node("Concat"), [np.ones(4096)] * 3)  # 12,288: a node may have many inputs
    assert not too_large(node("Reshape"), [np.ones(4096), np.array([64, 64], i64)])  # never grows


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from Linux's /proc")
def test_a_huge_constant_of_shape_allocates_nothing(tmp_path):
    """A 4-byte shape [30000, 30000] into ConstantOfShape, reduced to one value: the fold pass used to make the
    9·10^8 int64 values (7 GB, 22 s) before dropping them as too large. Peak RSS of the whole import stays small."""
    import subprocess
    import sys

    from onnx import TensorProto, numpy_helper

    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                              value=numpy_helper.from_array(np.array([1], np.int64))),
             helper.make_node("ReduceProd", ["big"], ["one"], keepdims=0),
             helper.make_node("Cast", ["one"], ["onef"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["x", "onef"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [numpy_helper.from_array(np.array([30_000, 30_000], np.int64), "shape")])
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    # the peak is VmHWM, the high-water mark of this process's own memory: getrusage's ru_maxrss would report the
    # pytest parent's (Linux carries it across fork and exec)
    child = ("import sys\nfrom convcalc.cli.entry import main\n"
             "sys.argv = ['convcalc', 'analyze', sys.argv[1]]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')),"
             " file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120)
    assert "Mul" in done.stderr  # the model's own problem, reported as usual
    assert int(done.stderr.strip().splitlines()[-1]) < 1_000_000  # KiB: under 1 GB (7 GB before)


# ---- damaged and hand-edited models (benchmarks/onnx_fuzz.py's finds) ---------------------------------------------
def test_an_attribute_of_the_wrong_type_is_named_against_the_schema(tmp_path):
    # Conv's group is an int in every opset; a string there had been a ValueError inside int()
    g = Graph((1, 4, 8, 8))
    y = g.op("Conv", g.input, g.weight("w", (4, 2, 3, 3)), group="SAME_UPPER", name="/c/Conv")
    with pytest.raises(SpecError) as error:
        g.imported(tmp_path, y)
    assert "its attribute `group` is a string, but ONNX's Conv (opset 11) takes an int" in error.value.message
    assert "'/c/Conv'" in error.value.message


def test_a_required_attribute_missing_is_named(tmp_path):
    g = Graph((1, 3, 8, 8))
    y = g.op("MaxPool", g.input, name="/p/MaxPool")   # kernel_shape is required
    with pytest.raises(SpecError, match=r"its required attribute `kernel_shape` is missing \(ONNX's MaxPool"):
        g.imported(tmp_path, y)


def test_a_required_input_missing_is_named(tmp_path):
    g = Graph((1, 3, 8, 8))
    y = g.op("Pad", g.input, "", name="/p/Pad")   # opset 17: pads is an input, and required
    with pytest.raises(SpecError, match=r"its required input 1 \(`pads`\) is missing"):
        g.imported(tmp_path, y)


def test_an_input_that_nothing_produces_is_named(tmp_path):
    g = Graph((1, 3, 8, 8))
    y = g.op("Pad", g.input, "nowhere", name="/p/Pad")
    with pytest.raises(SpecError, match=r"its input 1 \('nowhere'\) is the output of no node and no initializer"):
        g.imported(tmp_path, y)


def test_a_float_tensor_where_onnx_takes_integers(tmp_path):
    g = Graph((1, 4, 8, 8))
    y = g.op("Slice", g.input, g.const("starts", np.array([0.0], dtype=np.float32)), g.ints("ends", [2]),
             g.ints("axes", [1]), name="/s/Slice")
    with pytest.raises(SpecError, match=r"its input 1 \('starts'\) is a 1-D float32 tensor, where ONNX takes a list "
                                        r"of integers"):
        g.imported(tmp_path, y)


def test_initializer_data_that_does_not_fit_its_dims(tmp_path):
    g = Graph((1, 3, 8, 8))
    y = g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)))
    g.initializers[0].dims[0] = 7   # 108 values, dims 7×3×3×3 = 189
    with pytest.raises(SpecError) as error:
        g.imported(tmp_path, y)
    assert "initializer `w` (dims [7, 3, 3, 3], data type 1) cannot be read" in error.value.message
    assert "export the model again" in error.value.hint
    g.initializers[0].dims[0] = -4
    with pytest.raises(SpecError, match=r"initializer `w` has a negative dimension \(dims \[-4, 3, 3, 3\]\)"):
        g.imported(tmp_path, y)


def test_a_name_that_is_not_utf8_text(tmp_path):
    # ONNX is proto2: protobuf reads a string field of invalid UTF-8 as bytes, which nothing after it expects
    g = Graph((1, 3, 8, 8))
    path = g.save(tmp_path, g.op("Relu", g.input, name="/r/Relu"))
    data = open(path, "rb").read().replace(b"/r/Relu", b"/r/\xff\xfelu")   # the same length: the wire stays whole
    (tmp_path / "bad.onnx").write_bytes(data)
    with pytest.raises(SpecError, match=r"not a readable ONNX model \(an output's name is not UTF-8 text"):
        read(str(tmp_path / "bad.onnx"))


def test_an_input_too_small_for_the_layers_gives_an_empty_axis(tmp_path):
    # a 2×1 kernel on a 1×4 map gives 0×4 (ONNX's inference): the resize after it is refused, not divided by zero
    g = Graph((1, 3, 1, 4))
    y = g.op("Conv", g.input, g.weight("w", (3, 3, 2, 1)))
    y = g.op("Resize", y, "", g.const("scales", np.array([1, 1, 2, 2], dtype=np.float32)), mode="nearest",
             name="/u/Resize")
    with pytest.raises(SpecError, match=r"its input 0 has an empty axis \(shape \[3, 0, 4\]"):
        g.imported(tmp_path, y)


def test_a_negative_dimension_of_a_large_initializer(tmp_path):
    # an initializer over 64 KiB is read by its header alone, whose int64 dims arrive unsigned: -4 is 2^64 - 4
    g = Graph((1, 64, 8, 8))
    y = g.op("Conv", g.input, g.weight("w", (64, 64, 3, 3)))   # 144 KiB
    g.initializers[0].dims[0] = -4
    with pytest.raises(SpecError, match=r"initializer `w` has a negative dimension \(dims \[-4, 64, 3, 3\]\)"):
        g.imported(tmp_path, y)


def test_a_reshape_to_a_scalar_before_an_instance_norm_is_no_group_norm(tmp_path):
    # the group-norm pattern (reshape, instance norm, reshape back) indexed the first reshape's shape unchecked
    g = Graph((1, 1, 1, 1))
    y = g.op("Reshape", g.input, g.ints("flat", [1]))   # per sample: a scalar
    y = g.op("InstanceNormalization", y, g.const("gamma", np.ones(1)), g.const("beta", np.zeros(1)))
    y = g.op("Reshape", y, g.ints("back", [1, 1, 1, 1]))
    model = g.imported(tmp_path, y, allow_unsupported=True)
    assert "groupnorm" not in [layer.kind for layer in model.layers]


def test_a_scalar_axes_input_of_a_reduction(tmp_path):
    # opset 18 gives ReduceMean its axes as an input; a 0-d one is one axis (iterating it had been a TypeError)
    g = Graph((1, 3, 4, 4), opset=18)
    y = g.op("ReduceMean", g.input, g.const("axes", np.array(2, dtype=np.int64)), name="/m/ReduceMean")
    with pytest.raises(SpecError, match=r"a reduction over axes \[2\] \(a global pool reduces every spatial axis\)"):
        g.imported(tmp_path, y)


def test_an_unknown_output_shape_is_said_once(tmp_path):
    # a Conv whose output shape inference cannot give (a dilation of 0): the reason is that shape, not repeated
    g = Graph((1, 3, 8, 8))
    y = g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), dilations=[0, 0], name="/c/Conv")
    with pytest.raises(SpecError) as error:
        g.imported(tmp_path, g.op("Relu", y))
    message = error.value.message
    assert "the Conv node '/c/Conv' has no layer kind (the shape of its output '/c/Conv_out0' is not known), so " \
           "nothing after it can be analysed" in message, message
    assert message.count("/c/Conv_out0") == 1


def test_an_operator_of_another_domain_is_not_read_as_onnx_s_own(tmp_path):
    # a Conv of the com.microsoft domain is another operator: unmappable, named, not mapped as ONNX's Conv
    g = Graph((1, 3, 8, 8))
    y = g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), name="/c/Conv", group=[1, 2])
    g.nodes[-1].domain = "com.microsoft"
    with pytest.raises(SpecError, match=r"an operator of the 'com\.microsoft' domain, not ONNX's own"):
        g.imported(tmp_path, y)


def test_a_reshape_to_a_scalar_has_no_batch_axis(tmp_path):
    g = Graph((1, 1, 1, 1))
    y = g.op("Reshape", g.input, g.ints("shape", []), name="/r/Reshape")
    with pytest.raises(SpecError, match=r"its output '/r/Reshape_out0' is a scalar, with no batch axis"):
        g.imported(tmp_path, g.op("Relu", y))


def test_an_attribute_the_operator_does_not_have_at_the_model_s_opset(tmp_path):
    # MaxPool has `dilations` from opset 10; in an opset-8 model it is no attribute of MaxPool (an int there had
    # reached a loop over the dilations)
    g = Graph((1, 3, 8, 8), opset=8)
    y = g.op("MaxPool", g.input, kernel_shape=[2, 2], dilations=3, name="/p/MaxPool")
    with pytest.raises(SpecError, match=r"its attribute `dilations` is not one of ONNX's MaxPool \(opset 8\), which has "
                                        r"`auto_pad`, `kernel_shape`, `pads`, `storage_order`, `strides`"):
        g.imported(tmp_path, y)


def test_a_node_without_outputs(tmp_path):
    # a damaged node with no output (and no name to call it by) had failed while being named in its own error
    g = Graph((1, 3, 8, 8))
    y = g.op("Relu", g.input)
    g.nodes.append(helper.make_node("Foo", [y], []))
    with pytest.raises(SpecError, match=r"node 1 \(Foo\) has no output"):
        g.imported(tmp_path, y)
