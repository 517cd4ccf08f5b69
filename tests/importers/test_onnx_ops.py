"""The ONNX op table, one row per op form: a graph built with onnx.helper, and the layers it imports as.

Each row is (builder of the graph's body, input shape with the batch, the layers expected as (kind, fields)).
Fields are the written ones (defaults left out). A few rows also pin params and MACs, worked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

from .onnx_build import Graph  # noqa: E402
from .torch_helpers import analyse  # noqa: E402  (torch-free: it analyses an ImportedModel)


def case(build, shape, *expected, id, opset=17):
    return pytest.param(build, shape, list(expected), opset, id=id)


def conv_graph(g, **attrs):
    return g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), **attrs)


ROWS = [
    # ---- convolutions
    case(lambda g: g.op("Conv", g.input, g.weight("w", (4, 3, 3, 3)), g.weight("b", (4,)), pads=[1, 1, 1, 1]),
         (1, 3, 8, 8), ("conv", {"out": 4, "kernel": 3, "padding": 1}), id="conv"),
    case(lambda g: g.op("Conv", g.input, g.weight("w", (4, 2, 3, 3)), group=2, strides=[2, 2], dilations=[2, 2],
                        pads=[2, 2, 2, 2]),
         (1, 4, 8, 8), ("conv", {"out": 4, "kernel": 3, "stride": 2, "padding": 2, "dilation": 2, "groups": 2,
                                 "bias": False}), id="conv-group-dilation"),
    case(lambda g: conv_graph(g, pads=[0, 1, 1, 1]), (1, 3, 8, 8),
         ("conv", {"out": 4, "kernel": 3, "padding": [[0, 1], 1], "bias": False}), id="conv-asymmetric"),
    case(lambda g: conv_graph(g, auto_pad="SAME_UPPER", strides=[2, 2]), (1, 3, 8, 8),
         ("conv", {"out": 4, "kernel": 3, "stride": 2, "padding": "same", "bias": False}), id="conv-same-upper"),
    case(lambda g: conv_graph(g, auto_pad="SAME_LOWER", strides=[2, 2]), (1, 3, 8, 8),
         ("conv", {"out": 4, "kernel": 3, "stride": 2, "padding": [[1, 0], [1, 0]], "bias": False}),
         id="conv-same-lower"),
    case(lambda g: g.op("Conv", g.input, g.weight("w", (2, 3, 3)), pads=[1, 1]), (1, 3, 10),
         ("conv", {"out": 2, "kernel": 3, "padding": 1, "bias": False}), id="conv1d"),
    case(lambda g: g.op("ConvTranspose", g.input, g.weight("w", (4, 2, 2, 2)), strides=[2, 2]), (1, 4, 4, 4),
         ("conv_transpose", {"out": 2, "kernel": 2, "stride": 2, "bias": False}), id="conv-transpose"),
    case(lambda g: g.op("ConvTranspose", g.input, g.weight("w", (4, 2, 3, 3)), strides=[2, 2], pads=[1, 1, 1, 1],
                        output_padding=[1, 1]), (1, 4, 4, 4),
         ("conv_transpose", {"out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "bias": False}),
         id="conv-transpose-output-padding"),
    case(lambda g: g.op("ConvTranspose", g.input, g.weight("w", (4, 2, 3, 3)), strides=[2, 2],
                        output_shape=[8, 8]), (1, 4, 4, 4),
         ("conv_transpose", {"out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "bias": False}),
         id="conv-transpose-output-shape"),
    # ---- normalisation
    case(lambda g: g.op("BatchNormalization", g.input, g.weight("s", (3,)), g.weight("b", (3,)), g.weight("m", (3,)),
                        g.const("v", np.ones(3)), epsilon=1e-5), (1, 3, 4, 4), ("batchnorm", {}), id="batchnorm"),
    case(lambda g: g.op("BatchNormalization", g.input, g.weight("s", (3,)), g.weight("b", (3,)), g.weight("m", (3,)),
                        g.const("v", np.ones(3)), epsilon=1e-3), (1, 3, 4, 4), ("batchnorm", {"eps": 0.001}),
         id="batchnorm-eps"),
    case(lambda g: g.op("InstanceNormalization", g.input, g.weight("s", (3,)), g.weight("b", (3,))), (1, 3, 4, 4),
         ("instancenorm", {"affine": True}), id="instancenorm"),
    case(lambda g: g.op("InstanceNormalization", g.input, g.op("Constant", value=_tensor(np.ones(3))),
                        g.op("Constant", value=_tensor(np.zeros(3)))), (1, 3, 4, 4),
         ("instancenorm", {}), id="instancenorm-no-affine"),
    case(lambda g: g.op("GroupNormalization", g.input, g.weight("s", (4,)), g.weight("b", (4,)), num_groups=2),
         (1, 4, 4, 4), ("groupnorm", {"groups": 2}), id="groupnorm", opset=21),
    case(lambda g: g.op("LayerNormalization", g.input, g.weight("s", (4,)), g.weight("b", (4,)), axis=-1),
         (1, 2, 3, 4), ("layernorm", {"axis": "last"}), id="layernorm-last"),
    case(lambda g: g.op("Transpose", g.op("LayerNormalization", g.op("Transpose", g.input, perm=[0, 2, 3, 1]),
                                          g.weight("s", (4,)), g.weight("b", (4,))), perm=[0, 3, 1, 2]),
         (1, 4, 3, 3), ("layernorm", {}), id="layernorm-over-channels"),
    # ---- activations
    *[case(lambda g, op=op: g.op(op, g.input), (1, 3, 4, 4), (kind, {}), id=op)
      for op, kind in [("Relu", "relu"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"), ("HardSwish", "hardswish"),
                       ("Selu", "selu"), ("Softplus", "softplus"), ("Elu", "elu")]],
    case(lambda g: g.op("Mish", g.input), (1, 3, 4, 4), ("mish", {}), id="Mish", opset=18),
    case(lambda g: g.op("Gelu", g.input, approximate="tanh"), (1, 3, 4, 4), ("gelu", {"approximate": "tanh"}),
         id="gelu", opset=20),
    case(lambda g: g.op("LeakyRelu", g.input, alpha=0.2), (1, 3, 4, 4), ("leaky_relu", {"negative_slope": 0.2}),
         id="leaky-relu"),
    case(lambda g: g.op("HardSigmoid", g.input, alpha=1 / 6), (1, 3, 4, 4), ("hardsigmoid", {}),
         id="hardsigmoid-torch"),
    case(lambda g: g.op("HardSigmoid", g.input), (1, 3, 4, 4), ("hardsigmoid", {"alpha": 0.2}),
         id="hardsigmoid-onnx-default"),
    case(lambda g: g.op("PRelu", g.input, g.weight("a", (3, 1, 1))), (1, 3, 4, 4), ("prelu", {"num_parameters": 3}),
         id="prelu"),
    case(lambda g: g.op("Clip", g.input, g.const("lo", np.float32(0)), g.const("hi", np.float32(6))), (1, 3, 4, 4),
         ("relu6", {}), id="clip-relu6"),
    case(lambda g: g.op("Clip", g.input, g.const("lo", np.float32(-1)), g.const("hi", np.float32(2))), (1, 3, 4, 4),
         ("hardtanh", {"max_val": 2}), id="clip-hardtanh"),
    case(lambda g: g.op("Clip", g.input, min=0.0, max=6.0), (1, 3, 4, 4), ("relu6", {}), id="clip-opset6", opset=6),
    case(lambda g: g.op("Softmax", g.input, axis=1), (1, 3, 4, 4), ("softmax", {}), id="softmax-channels"),
    case(lambda g: g.op("Softmax", g.input), (1, 3, 4, 4), ("softmax", {"axis": "last"}), id="softmax-last"),
    case(lambda g: g.op("Relu", g.op("Dropout", g.op("Identity", g.input))), (1, 3, 4, 4), ("relu", {}),
         id="dropout-identity-dropped"),
    # ---- pooling
    case(lambda g: g.op("MaxPool", g.input, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (1, 3, 8, 8),
         ("maxpool", {"kernel": 3, "stride": 2, "padding": 1}), id="maxpool"),
    case(lambda g: g.op("MaxPool", g.input, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, dilations=[1, 1]),
         (1, 3, 7, 7), ("maxpool", {"kernel": 2, "ceil_mode": True}), id="maxpool-ceil"),
    case(lambda g: g.op("MaxPool", g.input, kernel_shape=[2, 2]), (1, 3, 7, 7), ("maxpool", {"kernel": 2, "stride": 1}),
         id="maxpool-onnx-stride-1"),
    case(lambda g: g.op("AveragePool", g.input, kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                        count_include_pad=1), (1, 3, 8, 8), ("avgpool", {"kernel": 3, "stride": 1, "padding": 1}),
         id="avgpool-count-pad"),
    case(lambda g: g.op("AveragePool", g.input, kernel_shape=[2, 2], strides=[2, 2]), (1, 3, 8, 8),
         ("avgpool", {"kernel": 2, "count_include_pad": False}), id="avgpool-onnx-default"),
    case(lambda g: g.op("GlobalAveragePool", g.input), (1, 3, 4, 4), ("global_avgpool", {}), id="global-avgpool"),
    case(lambda g: g.op("GlobalMaxPool", g.input), (1, 3, 4, 4), ("global_maxpool", {}), id="global-maxpool"),
    case(lambda g: g.op("ReduceMean", g.input, axes=[2, 3], keepdims=0), (1, 3, 4, 4),
         ("global_avgpool", {"keepdims": False}), id="reducemean-spatial"),
    case(lambda g: g.op("ReduceMean", g.input, g.ints("axes", [-2, -1])), (1, 3, 4, 4), ("global_avgpool", {}),
         id="reducemean-opset18", opset=18),
    # ---- linear and reshapes
    case(lambda g: g.op("Gemm", g.op("Flatten", g.input), g.weight("w", (10, 48)), g.weight("b", (10,)), transB=1),
         (1, 3, 4, 4), ("flatten", {}), ("linear", {"out": 10}), id="flatten-gemm"),
    case(lambda g: g.op("Gemm", g.op("Flatten", g.input), g.weight("w", (48, 10))), (1, 3, 4, 4),
         ("flatten", {}), ("linear", {"out": 10, "bias": False}), id="gemm-not-transposed"),
    case(lambda g: g.op("Add", g.op("MatMul", g.input, g.weight("w", (6, 5))), g.weight("b", (5,))), (1, 3, 4, 6),
         ("linear", {"out": 5, "axis": "last"}), id="matmul-add"),
    case(lambda g: g.op("Reshape", g.input, g.ints("shape", [0, -1])), (1, 3, 4, 4), ("flatten", {}), id="reshape"),
    case(lambda g: g.op("Reshape", g.input, g.ints("shape", [1, 3, 2, 8])), (1, 3, 4, 4),
         ("reshape", {"shape": [3, 2, 8]}), id="reshape-shape"),
    case(lambda g: g.op("Squeeze", g.op("GlobalAveragePool", g.input), g.ints("axes", [2, 3])), (1, 3, 4, 4),
         ("global_avgpool", {}), ("flatten", {}), id="squeeze"),
    case(lambda g: g.op("Transpose", g.input, perm=[0, 2, 3, 1]), (1, 3, 4, 5), ("permute", {"dims": [1, 2, 0]}),
         id="transpose"),
    # ---- arithmetic
    case(lambda g: g.op("Add", g.op("Relu", g.input), g.input), (1, 3, 4, 4), ("relu", {}), ("add", {}), id="add"),
    case(lambda g: g.op("Mul", g.input, g.op("Sigmoid", g.op("GlobalAveragePool", g.input))), (1, 3, 4, 4),
         ("global_avgpool", {}), ("sigmoid", {}), ("multiply", {}), id="se-gate"),
    case(lambda g: g.op("Mul", g.input, g.weight("gamma", (3, 1, 1))), (1, 3, 4, 4), ("layer_scale", {}),
         id="layer-scale"),
    case(lambda g: g.op("Add", g.input, g.weight("beta", (5,))), (1, 3, 4, 5), ("bias_add", {"axis": "last"}),
         id="bias-add-last"),
    case(lambda g: g.op("Div", g.input, g.const("six", np.float32(6))), (1, 3, 4, 4),
         ("scalar", {"op": "div", "value": 6}), id="scalar-div"),
    case(lambda g: g.op("Sub", g.const("one", np.float32(1)), g.input), (1, 3, 4, 4),
         ("scalar", {"op": "rsub", "value": 1}), id="scalar-rsub"),
    case(lambda g: g.op("Concat", g.input, g.op("Relu", g.input), axis=1), (1, 3, 4, 4), ("relu", {}),
         ("concat", {}), id="concat"),
    # ---- padding and resampling
    case(lambda g: g.op("Pad", g.input, g.ints("pads", [0, 0, 1, 2, 0, 0, 1, 2]), mode="reflect"), (1, 3, 4, 4),
         ("pad", {"padding": [1, 2], "mode": "reflect"}), id="pad-reflect"),
    case(lambda g: g.op("Pad", g.input, g.ints("pads", [0, 0, 0, 1, 0, 0, 1, 1]), mode="edge"), (1, 3, 4, 4),
         ("pad", {"padding": [[0, 1], 1], "mode": "replicate"}), id="pad-edge"),
    case(lambda g: g.op("Pad", g.input, g.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), g.const("v", np.float32(0.5))),
         (1, 3, 4, 4), ("pad", {"padding": 1, "value": 0.5}), id="pad-constant"),
    case(lambda g: g.op("Pad", g.input, g.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), mode="wrap"), (1, 3, 4, 4),
         ("pad", {"padding": 1, "mode": "circular"}), id="pad-wrap", opset=19),
    case(lambda g: g.op("Resize", g.input, "", g.const("s", np.array([1, 1, 2, 2], np.float32)), mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="floor"), (1, 3, 4, 4),
         ("upsample", {"scale": 2}), id="resize-nearest"),
    case(lambda g: g.op("Resize", g.input, "", g.const("s", np.array([1, 1, 2, 2], np.float32)), mode="linear",
                        coordinate_transformation_mode="pytorch_half_pixel"), (1, 3, 4, 4),
         ("upsample", {"scale": 2, "mode": "bilinear"}), id="resize-linear"),
    case(lambda g: g.op("Resize", g.input, "", "", g.ints("sizes", [1, 3, 7, 9]), mode="cubic",
                        coordinate_transformation_mode="align_corners"), (1, 3, 4, 4),
         ("upsample", {"size": [7, 9], "mode": "bicubic", "align_corners": True}), id="resize-cubic-sizes"),
    case(lambda g: g.op("Upsample", g.input, g.const("s", np.array([1, 1, 2, 2], np.float32)), mode="nearest"),
         (1, 3, 4, 4), ("upsample", {"scale": 2}), id="upsample-opset9", opset=9),
    case(lambda g: g.op("DepthToSpace", g.input, blocksize=2), (1, 8, 4, 4),
         ("pixel_shuffle", {"factor": 2, "order": "dcr"}), id="depth-to-space"),
    case(lambda g: g.op("DepthToSpace", g.input, blocksize=2, mode="CRD"), (1, 8, 4, 4),
         ("pixel_shuffle", {"factor": 2}), id="depth-to-space-crd"),
    case(lambda g: g.op("SpaceToDepth", g.input, blocksize=2), (1, 2, 4, 4),
         ("pixel_unshuffle", {"factor": 2, "order": "dcr"}), id="space-to-depth"),
    # ---- slicing
    case(lambda g: g.op("Slice", g.input, g.ints("st", [2]), g.ints("en", [6]), g.ints("ax", [1])), (1, 8, 4, 4),
         ("channel_slice", {"start": 2, "stop": 6}), id="slice-channels"),
]


def _tensor(value):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value, dtype=np.float32))


def mapped(model) -> list:
    return [(layer.kind, layer.fields) for layer in model.layers]


@pytest.mark.parametrize("build, shape, expected, opset", ROWS)
def test_op_maps_to_kind(tmp_path, build, shape, expected, opset):
    g = Graph(shape, opset=opset)
    model = g.imported(tmp_path, build(g))
    assert mapped(model) == expected
    analyse(model)  # the spec it gives is valid


def test_split_gives_one_slice_per_used_output(tmp_path):
    g = Graph((1, 6, 4, 4), opset=13)
    a, b = g.op("Split", g.input, g.ints("split", [2, 4]), axis=1, outputs=2)
    model = g.imported(tmp_path, g.op("Concat", g.op("Relu", b), a, axis=1))
    assert mapped(model) == [("channel_slice", {"stop": 2}), ("channel_slice", {"start": 2}), ("relu", {}),
                             ("concat", {})]


# ---- counts worked by hand --------------------------------------------------------------------------------------
COUNTS = [
    # 4·3·3² weights + 4 biases; 4 outputs × 8·8 positions × 3·3² taps
    pytest.param(ROWS[0], 112, 6912, id="conv"),
    # 4·(4/2)·3² + 0; output floor((8 + 4 − 5)/2) + 1 = 4: 4 × 4·4 × 2·3²
    pytest.param(ROWS[1], 72, 1152, id="conv-group-dilation"),
    # W (4, 2, 2, 2): 32; counted on input positions: 4·4² inputs × 2 outputs × 2² taps
    pytest.param(ROWS[6], 32, 512, id="conv-transpose"),
    # (48 + 1)·10; 48·10
    pytest.param(ROWS[[r.id for r in ROWS].index("flatten-gemm")], 490, 480, id="gemm"),
    # (6 + 1)·5; 3·4 positions × 6·5
    pytest.param(ROWS[[r.id for r in ROWS].index("matmul-add")], 35, 360, id="matmul-add"),
]


@pytest.mark.parametrize("row, params, macs", COUNTS)
def test_counts_by_hand(tmp_path, row, params, macs):
    build, shape, _, opset = row.values
    g = Graph(shape, opset=opset)
    report = analyse(g.imported(tmp_path, build(g)))
    assert (report.totals.params, report.totals.macs) == (params, macs)


def test_batchnorm_params_and_buffers(tmp_path):
    build, shape, _, opset = ROWS[[r.id for r in ROWS].index("batchnorm")].values
    g = Graph(shape, opset=opset)
    report = analyse(g.imported(tmp_path, build(g)))
    assert (report.totals.params, report.totals.buffers) == (6, 6)  # γ, β; running mean, variance (3 each)
