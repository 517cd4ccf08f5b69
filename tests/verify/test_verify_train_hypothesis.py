"""Property test: on small random layers with MACs the executor's training step does exactly the dX and dW MACs
per layer that the cost model predicts (``convcalc.verify.check_training``), each layer placed first (fed by the
input: no input gradient) and after a pointwise conv (with one), trainable or frozen."""

import pytest

np = pytest.importorskip("numpy")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import convcalc  # noqa: E402
from convcalc.cost.analysis import analyze  # noqa: E402
from convcalc.errors import SpecError  # noqa: E402
from convcalc.verify import check_training  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

KINDS = ["conv", "conv_transpose", "depthwise", "pointwise", "separable", "depthwise_separable", "flattened",
         "locally_connected", "tiled", "deformable", "squeeze_excitation", "linear"]


@st.composite
def layer_case(draw):
    kind = draw(st.sampled_from(KINDS))
    ndim = draw(st.integers(1, 2)) if kind != "deformable" else draw(st.integers(1, 2))
    groups = draw(st.integers(1, 2))
    c_in = groups * draw(st.integers(1, 3))
    sizes = [draw(st.integers(4, 7)) for _ in range(ndim)]
    layer = {"type": kind, "name": "l"}
    if kind == "squeeze_excitation":
        layer.update(squeeze=draw(st.integers(1, 3)))
    elif kind == "linear":
        layer.update(out=draw(st.integers(1, 5)), axis="last")
    elif kind == "pointwise":
        layer.update(out=draw(st.integers(1, 4)))
    else:
        layer.update(kernel=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)),
                     padding=draw(st.integers(0, 1)))
        if kind not in ("depthwise",):
            layer["out"] = groups * draw(st.integers(1, 2))
        if kind in ("conv", "conv_transpose", "depthwise", "separable", "deformable", "depthwise_separable"):
            layer["dilation"] = draw(st.integers(1, 2))
        if kind in ("conv", "conv_transpose", "tiled"):
            layer["groups"] = groups
        if kind == "tiled":
            layer["tile"] = draw(st.integers(1, 2))
        if kind == "deformable":
            layer["modulated"] = draw(st.booleans())
    before = draw(st.booleans())
    frozen = draw(st.sampled_from([(), ("l",), ("p",)])) if before else draw(st.sampled_from([(), ("l",)]))
    return [c_in, *sizes], layer, before, frozen


@SETTINGS
@given(layer_case())
def test_training_step_macs_match(case):
    shape, layer, before, frozen = case
    layers = ([{"type": "pointwise", "name": "p", "out": shape[0]}] if before else []) + [layer]
    try:
        graph = convcalc.load({"name": "h", "input": shape, "batch": 2, "layers": layers}).expand()
        report = analyze(graph)
    except SpecError:
        return
    for row in check_training(graph, report, dtype="float64", freeze=frozen):
        assert row.ok, f"{layers} frozen {frozen}: {row.explain()}"
