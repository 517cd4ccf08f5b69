"""The executor's activation and scaling kernels on hand-picked inputs (literal values, the arithmetic in a
comment), their VJPs against finite differences for the field settings the kinds' examples do not use, and the
executor's own checks of bad fields. The comparison with torch is in test_torch.py and test_backward_torch.py."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.errors import SpecError
from convcalc.executor import Execution, run

from .helpers import finite_difference_check, graph_of

X = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0, 30.0]])  # (batch 1, C 1, L 6) after the reshape below


def forward(layer, x=X, weights="random"):
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(1, *x.shape) if x.ndim == 2 else x
    graph = graph_of(x.shape[1:], layer, batch=1)
    return run(graph, dtype="float64", x=x, weights=weights).output


# ---- activations: (layer, input, output) -----------------------------------------------------------------------
VALUES = [
    # ELU α 1: e^−2 − 1 = −0.8646647, e^−1 − 1 = −0.6321206; the identity above 0
    ({"type": "elu"}, [-2.0, -1.0, 0.0, 1.0], [-0.8646647167633873, -0.6321205588285577, 0.0, 1.0]),
    # ELU α 0.5: 0.5·(e^−2 − 1) = −0.4323324
    ({"type": "elu", "alpha": 0.5}, [-2.0, 3.0], [-0.43233235838169365, 3.0]),
    # SELU: λ·x above 0 (λ = 1.0507009873554805); λ·α·(e^−1 − 1) = 1.0507010·1.6732632·(−0.6321206) = −1.1113307
    ({"type": "selu"}, [1.0, -1.0, 0.0], [1.0507009873554805, -1.1113307378125625, 0.0]),
    # Mish: 1·tanh(log(1 + e)) = tanh(1.3132617) = 0.8650984; −1·tanh(log(1 + e^−1)) = −tanh(0.3132617) = −0.3034015
    ({"type": "mish"}, [1.0, -1.0, 0.0], [0.8650983882673103, -0.30340146137410895, 0.0]),
    # Softplus β 1: log 2 = 0.6931472 at 0; 30 > threshold 20, so the identity
    ({"type": "softplus"}, [0.0, 30.0], [0.6931471805599453, 30.0]),
    # β 2, threshold 1: log(2)/2 = 0.3465736 at 0; β·0.4 = 0.8 ≤ 1: log(1 + e^0.8)/2 = log(3.2255409)/2 = 1.1711007/2 = 0.5855503;
    # β·0.6 = 1.2 > 1: 0.6 itself
    ({"type": "softplus", "beta": 2, "threshold": 1}, [0.0, 0.4, 0.6],
     [0.34657359027997264, 0.5855503329738889, 0.6]),
    # Hardtanh [−2, 0.5]
    ({"type": "hardtanh", "min_val": -2, "max_val": 0.5}, [-3.0, -1.0, 0.25, 1.0], [-2.0, -1.0, 0.25, 0.5]),
    # GELU tanh at 1: 0.5·(1 + tanh(√(2/π)·(1 + 0.044715))) = 0.5·(1 + tanh(0.8335514)) = 0.8411920
    # (the exact GELU is Φ(1) = 0.8413447)
    ({"type": "gelu", "approximate": "tanh"}, [1.0, 0.0], [0.8411919906082768, 0.0]),
    ({"type": "gelu"}, [1.0], [0.8413447460685429]),
    # Hardsigmoid α 0.2, β 0.5 (ONNX's defaults): 0.2·1 + 0.5 = 0.7; 0.2·3 + 0.5 = 1.1 → 1; 0.2·(−3) + 0.5 → 0
    ({"type": "hardsigmoid", "alpha": 0.2, "beta": 0.5}, [1.0, 3.0, -3.0], [0.7, 1.0, 0.0]),
    # α −1/2, β 1/2 (decreasing): −0.5·(−1) + 0.5 = 1; −0.5·0.5 + 0.5 = 0.25; −0.5·2 + 0.5 → 0
    ({"type": "hardsigmoid", "alpha": -0.5, "beta": 0.5}, [-1.0, 0.5, 2.0], [1.0, 0.25, 0.0]),
    # torch's: relu6(x + 3)/6: 3/6 = 0.5 at 0, 4/6 at 1
    ({"type": "hardsigmoid"}, [0.0, 1.0, 4.0], [0.5, 2 / 3, 1.0]),
]


@pytest.mark.parametrize("layer, x, expected", VALUES, ids=[f"{v[0]['type']}-{i}" for i, v in enumerate(VALUES)])
def test_activation_values(layer, x, expected):
    y = forward(layer, [x])
    np.testing.assert_allclose(y[0, 0], expected, rtol=1e-12, atol=1e-15)


def test_prelu_slopes_are_torchs_weight():
    # weight (num_parameters,) = (2,): channel 0 slope 0.25, channel 1 slope 3; x = −2 → −0.5 and −6
    x = np.array([[[-2.0, 1.0], [-2.0, 1.0]]])
    preset = Execution([], None, None, weights={"prelu": [np.array([0.25, 3.0])]}, buffers={"prelu": []})
    y = run(graph_of((2, 2), {"type": "prelu", "name": "prelu", "num_parameters": 2}, batch=1), dtype="float64",
            x=x, weights=preset)
    np.testing.assert_array_equal(y.output, [[[-0.5, 1.0], [-6.0, 1.0]]])
    assert y.layers[0].params == 2 and y.weights["prelu"][0].shape == (2,)


def test_softmax_over_channels_and_over_the_last_axis():
    # channels: at each position, [0, log 3] → [1/4, 3/4]; last: [0, log 3] along L → [1/4, 3/4]
    x = np.array([[[0.0, np.log(3)], [np.log(3), 0.0]]])  # (1, C 2, L 2)
    np.testing.assert_allclose(forward({"type": "softmax"}, x)[0], [[0.25, 0.75], [0.75, 0.25]], rtol=1e-12)
    np.testing.assert_allclose(forward({"type": "softmax", "axis": "last"}, x)[0], [[0.25, 0.75], [0.75, 0.25]],
                               rtol=1e-12)
    # a (C 3, H 2, W 2) map: every channel-softmax sums to 1 at every position; every last-axis row sums to 1
    rng = np.random.default_rng(3).standard_normal((1, 3, 2, 2)) * 10
    np.testing.assert_allclose(forward({"type": "softmax"}, rng).sum(axis=1), np.ones((1, 2, 2)), rtol=1e-12)
    np.testing.assert_allclose(forward({"type": "softmax", "axis": "last"}, rng).sum(axis=3), np.ones((1, 3, 2)),
                               rtol=1e-12)


# ---- scalar and the per-channel kinds -------------------------------------------------------------------------
SCALARS = [
    ("add", 3, [-1.0, 2.0], [2.0, 5.0]),        # x + 3
    ("sub", 0.5, [-1.0, 2.0], [-1.5, 1.5]),     # x − 0.5
    ("mul", -2, [-1.0, 2.0], [2.0, -4.0]),      # −2·x
    ("div", 6, [-3.0, 3.0], [-0.5, 0.5]),       # x / 6
    ("rsub", 1, [-1.0, 0.25], [2.0, 0.75]),     # 1 − x
    ("rdiv", 6, [-3.0, 2.0], [-2.0, 3.0]),      # 6 / x
    ("pow", 2, [-3.0, 0.5], [9.0, 0.25]),       # x²: an integer power of a negative number is fine
    ("pow", 0.5, [4.0, 0.25], [2.0, 0.5]),      # √x
]


@pytest.mark.parametrize("op, value, x, expected", SCALARS)
def test_scalar_values(op, value, x, expected):
    y = forward({"type": "scalar", "op": op, "value": value}, [x])
    np.testing.assert_allclose(y[0, 0], expected, rtol=1e-12)


def test_a_non_integer_power_of_a_negative_number_is_nan_as_in_torch():
    # torch.pow(torch.tensor(-4.), 0.5) is nan; so is the executor's, and 4^0.5 = 2 next to it
    y = forward({"type": "scalar", "op": "pow", "value": 0.5}, [[-4.0, 4.0]])
    assert np.isnan(y[0, 0, 0]) and y[0, 0, 1] == 2.0


def _preset(name, weights=(), buffers=()):
    return Execution([], None, None, weights={name: list(weights)}, buffers={name: list(buffers)})


@pytest.mark.parametrize("kind, expected", [("layer_scale", [[[2.0, 4.0]], [[-3.0, 6.0]]]),
                                            ("bias_add", [[[3.0, 4.0]], [[2.0, 5.0]]])])
def test_per_channel_kinds_along_channels(kind, expected):
    # (C 2, H 1, W 2) = [[[1, 2]], [[−1, 2]]], the array [2, 3]: γ·x = [[2, 4]], [[−3, 6]]; x + β = [[3, 4]], [[2, 5]]
    x = np.array([[[[1.0, 2.0]], [[-1.0, 2.0]]]])
    graph = graph_of((2, 1, 2), {"type": kind, "name": "k"}, batch=1)
    ex = run(graph, dtype="float64", x=x, weights=_preset("k", [np.array([2.0, 3.0])]))
    np.testing.assert_array_equal(ex.output[0], expected)
    assert (ex.layers[0].params, ex.layers[0].buffers) == (2, 0)


def test_per_channel_kinds_along_the_last_axis_as_buffers():
    # (H 2, W 1, C 3) channels-last, γ = [1, 2, 3] along the last axis, held as buffers: 3 buffers, no params
    x = np.ones((1, 2, 1, 3))
    graph = graph_of((2, 1, 3), {"type": "layer_scale", "name": "k", "axis": "last", "learnable": False}, batch=1)
    ex = run(graph, dtype="float64", x=x, weights=_preset("k", buffers=[np.array([1.0, 2.0, 3.0])]))
    np.testing.assert_array_equal(ex.output[0], [[[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]])
    assert (ex.layers[0].params, ex.layers[0].buffers) == (0, 3)


def test_all_ones_mode_makes_the_per_channel_kinds_the_identity():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for layer in ({"type": "layer_scale"}, {"type": "bias_add"}, {"type": "layer_scale", "learnable": False},
                  {"type": "bias_add", "learnable": False, "axis": "last"}, {"type": "prelu", "num_parameters": 3}):
        assert np.array_equal(run(graph_of((3, 4), layer), dtype="float64", x=x, weights="ones").output, x), layer


# ---- VJPs of the settings the examples do not cover ----------------------------------------------------------
GRADIENTS = [
    ((3, 5), {"type": "prelu"}),
    ((3, 2, 3), {"type": "prelu", "num_parameters": 3}),
    ((4,), {"type": "elu"}),
    ((3, 5), {"type": "selu"}),
    ((3, 2, 2), {"type": "mish"}),
    ((3, 5), {"type": "softplus"}),
    ((3, 5), {"type": "softplus", "beta": -1.5, "threshold": 0.5}),
    ((3, 5), {"type": "hardtanh"}),
    ((3, 5), {"type": "gelu", "approximate": "tanh"}),
    ((3, 5), {"type": "hardsigmoid", "alpha": 0.2, "beta": 0.5}),
    ((3, 5), {"type": "hardsigmoid", "alpha": -0.5, "beta": 0.25}),
    ((5,), {"type": "softmax"}),
    ((3, 4), {"type": "softmax", "axis": "last"}),
    ((3, 2, 4), {"type": "softmax", "axis": "last"}),
    ((2, 2, 2, 3), {"type": "softmax"}),
    *(((3, 4), {"type": "scalar", "op": op, "value": v}) for op, v in
      (("add", 3), ("sub", 1), ("div", -4), ("rsub", 2), ("rdiv", 3), ("pow", 3))),
    ((3, 4), {"type": "layer_scale", "learnable": False}),
    ((2, 3, 4), {"type": "layer_scale", "axis": "last"}),
    ((2, 3, 4), {"type": "bias_add", "axis": "last", "learnable": False}),
]


@pytest.mark.parametrize("shape, layer", GRADIENTS, ids=[f"{l['type']}-{i}" for i, (_, l) in enumerate(GRADIENTS)])
def test_vjp_equals_finite_differences(shape, layer):
    finite_difference_check(shape, layer)


def test_powers_and_reciprocals_away_from_zero():
    # rdiv and a non-integer pow, where they are smooth: positive inputs (|x| + 0.1)
    for layer in ({"type": "scalar", "op": "pow", "value": 1.5}, {"type": "scalar", "op": "rdiv", "value": -2}):
        finite_difference_check((3, 4), layer, positive=True)


def test_softmax_probe_passes_the_structural_influence():
    # open activations (the RF probe): over channels the gradient of one position stays there; over the last
    # axis it reaches every position along it
    from convcalc.executor.backward import input_gradient

    for axis, reached in (("channels", [0.0, 0.0, 1.0, 0.0, 0.0]), ("last", [1.0] * 5)):
        graph = graph_of((2, 5), {"type": "softmax", "name": "s", "axis": axis}, batch=1)
        ex = run(graph, dtype="float64", x=np.ones((1, 2, 5)), weights="ones", keep=True)
        g = input_gradient(graph, ex, "s", (2,), open_activations=True)
        np.testing.assert_array_equal(np.abs(g[0]).sum(axis=0) > 0, np.array(reached) > 0)


# ---- the executor checks the fields itself (expanding a spec does not analyse it) ------------------------------
@pytest.mark.parametrize("layer, words", [
    ({"type": "prelu", "num_parameters": 2}, "`num_parameters` is 2, but the input has 3 channels"),
    ({"type": "hardtanh", "min_val": 1, "max_val": 1}, "`min_val` (1) is not below `max_val` (1)"),
    ({"type": "softplus", "beta": 0}, "`beta` is 0"),
    ({"type": "hardsigmoid", "alpha": 0}, "`alpha` is 0"),
    ({"type": "softmax", "axis": "last"}, "the softmax axis has size 1"),
    ({"type": "scalar", "op": "div", "value": 0}, "`div` with value 0"),
])
def test_the_kernels_reject_bad_fields(layer, words):
    with pytest.raises(SpecError) as err:
        run(graph_of((3, 1), layer), dtype="float64")
    assert words in err.value.message
