"""Property test: for small random single-layer networks the cost model and the executor agree on output shape,
params and MACs (``convcalc.verify.compare``). Configurations the cost model rejects (SpecError) must be rejected
by the executor too (or by expand, which runs before either)."""

import pytest

np = pytest.importorskip("numpy")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcalc.cost.analysis import analyze, expand  # noqa: E402
from convcalc.errors import SpecError  # noqa: E402
from convcalc.verify import compare  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _yaml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return str(value)


def _check(tmp_path_factory, input_shape, layer):
    """One layer (a dict, named ``l``), or a small network (a list of dicts, each with its name)."""
    layers = [{"name": "l", **layer}] if isinstance(layer, dict) else layer
    lines = "".join("  - {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in item.items()) + "}\n" for item in layers)
    text = f"name: h\ninput: {_yaml(list(input_shape))}\nbatch: 2\nlayers:\n{lines}"
    path = tmp_path_factory.mktemp("h") / "net.yaml"
    path.write_text(text)
    from convcalc.executor import run

    try:
        graph = expand(str(path))
        report = analyze(graph)
    except SpecError:
        try:
            graph = expand(str(path))
        except SpecError:
            return
        with pytest.raises(Exception):
            run(graph, seed=0, dtype="float64")
        return
    execution = run(graph, seed=0, dtype="float64")
    for row in compare(report, execution):
        assert row.ok, f"{text}\n{row.explain()}"


rank = st.integers(1, 3)


def _padding(ndim):
    scalar = st.integers(0, 2)
    pair = st.lists(st.integers(0, 2), min_size=2, max_size=2)
    per_axis = st.lists(pair, min_size=ndim, max_size=ndim)
    return st.one_of(scalar, st.sampled_from(["same", "valid", "full"]), per_axis)


@st.composite
def conv_case(draw):
    ndim = draw(rank)
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    out = groups * draw(st.integers(1, 2))
    sizes = [draw(st.integers(3, 7 if ndim < 3 else 5)) for _ in range(ndim)]
    layer = {"type": draw(st.sampled_from(["conv", "conv_transpose"])), "out": out,
             "kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 3)),
             "dilation": draw(st.integers(1, 2)), "groups": groups, "bias": draw(st.booleans()),
             "padding": draw(_padding(ndim))}
    if layer["type"] == "conv_transpose" and draw(st.booleans()):
        layer["output_padding"] = draw(st.integers(0, 1))
    return [c_in, *sizes], layer


@st.composite
def pool_case(draw):
    ndim = draw(rank)
    kind = draw(st.sampled_from(["maxpool", "avgpool", "minpool"]))
    kernel = draw(st.integers(1, 3))
    layer = {"type": kind, "kernel": kernel, "stride": draw(st.integers(1, 3)),
             "padding": draw(st.integers(0, 1)), "ceil_mode": draw(st.booleans())}
    if kind == "avgpool":
        layer["count_include_pad"] = draw(st.booleans())
    else:
        layer["dilation"] = draw(st.integers(1, 2))
    sizes = [draw(st.integers(2, 7 if ndim < 3 else 5)) for _ in range(ndim)]
    return [draw(st.integers(1, 3)), *sizes], layer


@st.composite
def adaptive_case(draw):
    ndim = draw(rank)
    sizes = [draw(st.integers(1, 7)) for _ in range(ndim)]
    out = [draw(st.integers(1, 4)) for _ in range(ndim)]
    kind = draw(st.sampled_from(["adaptive_avgpool", "adaptive_maxpool"]))
    return [2, *sizes], {"type": kind, "output_size": out}


@st.composite
def linear_case(draw):
    return [draw(st.integers(1, 9))], {"type": "linear", "out": draw(st.integers(1, 9)), "bias": draw(st.booleans())}


@given(conv_case())
@SETTINGS
def test_conv_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(pool_case())
@SETTINGS
def test_pool_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(adaptive_case())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_adaptive_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(linear_case())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_linear_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@st.composite
def depthwise_case(draw):
    ndim = draw(rank)
    sizes = [draw(st.integers(3, 7 if ndim < 3 else 5)) for _ in range(ndim)]
    kind = draw(st.sampled_from(["depthwise", "pointwise"]))
    if kind == "depthwise":
        layer = {"type": kind, "kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
                 "dilation": draw(st.integers(1, 2)), "padding": draw(_padding(ndim)),
                 "multiplier": draw(st.integers(1, 3)), "bias": draw(st.booleans())}
    else:
        groups = draw(st.integers(1, 3))
        layer = {"type": kind, "out": groups * draw(st.integers(1, 3)), "groups": groups,
                 "bias": draw(st.booleans())}
        return [groups * draw(st.integers(1, 2)), *sizes], layer
    return [draw(st.integers(1, 4)), *sizes], layer


ELEMENTWISE = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "swish", "hardswish",
               "hardsigmoid", "batchnorm", "dropout", "identity", "flatten", "global_avgpool", "global_maxpool"]
#: kinds of any rank with no required field (softmax needs an axis of size > 1: tests/executor/ covers it)
ANY_RANK = ["prelu", "elu", "selu", "mish", "softplus", "hardtanh", "layer_scale", "bias_add"]


@st.composite
def elementwise_case(draw):
    ndim = draw(st.integers(0, 3))
    sizes = [draw(st.integers(1, 5)) for _ in range(ndim)]
    kind = draw(st.sampled_from((ELEMENTWISE if ndim else ELEMENTWISE[:12]) + ANY_RANK))
    return [draw(st.integers(1, 4)), *sizes], {"type": kind}


@st.composite
def upsample_case(draw):
    ndim = draw(rank)
    sizes = [draw(st.integers(1, 5)) for _ in range(ndim)]
    layer = {"type": "upsample", "mode": draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))}
    if draw(st.booleans()):
        layer["scale"] = draw(st.sampled_from([1, 2, 3]))
    else:
        layer["size"] = [draw(st.integers(1, 9)) for _ in range(ndim)]
    if layer["mode"] != "nearest":
        layer["align_corners"] = draw(st.booleans())
    return [draw(st.integers(1, 3)), *sizes], layer


@st.composite
def merge_case(draw):
    """Two branches from the input merged by add, concat or multiply (with a broadcast (C, 1, …) gate)."""
    ndim = draw(rank)
    sizes = [draw(st.integers(2, 6)) for _ in range(ndim)]
    c = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["add", "concat", "multiply", "multiply_gate"]))
    a = {"type": "conv", "name": "a", "out": c, "kernel": 3, "padding": 1, "inputs": "input"}
    b = {"type": "conv", "name": "b", "out": draw(st.integers(1, 4)) if kind == "concat" else c, "kernel": 1,
         "inputs": "input"}
    layers = [a, b]
    if kind == "multiply_gate":
        layers += [{"type": "global_avgpool", "name": "g", "inputs": "b"}, {"type": "sigmoid", "name": "s"}]
        layers.append({"type": "multiply", "name": "m", "inputs": ["a", "s"]})
    else:
        layers.append({"type": kind, "name": "m", "inputs": ["a", "b"]})
    return [draw(st.integers(1, 3)), *sizes], layers


@given(depthwise_case())
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_depthwise_pointwise_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(elementwise_case())
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_elementwise_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(upsample_case())
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_upsample_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)


@given(merge_case())
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_merge_analytic_equals_executed(tmp_path_factory, case):
    _check(tmp_path_factory, *case)
