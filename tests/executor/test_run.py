"""run(): determinism, dtypes, kept values, reused weights, input checks, the ones mode."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.errors import SpecError
from convcalc.executor import Executed, run

from .helpers import graph_of

LAYERS = [
    {"type": "conv", "name": "c1", "out": 4, "kernel": 3, "padding": 1},
    {"type": "batchnorm", "name": "bn"},
    {"type": "relu", "name": "act"},
    {"type": "maxpool", "name": "pool", "kernel": 2},
    {"type": "conv", "name": "c2", "out": 4, "kernel": 1, "inputs": "pool"},
    {"type": "add", "name": "sum", "inputs": ["pool", "c2"]},
    {"type": "global_avgpool", "name": "gap", "keepdims": False},
    {"type": "linear", "name": "fc", "out": 5},
]


def small():
    return graph_of((3, 8, 8), *LAYERS, batch=2)


def test_same_seed_same_numbers_and_other_seed_other_numbers():
    a, b, c = run(small(), seed=3), run(small(), seed=3), run(small(), seed=4)
    assert np.array_equal(a.output, b.output)
    assert np.array_equal(a.weights["c1"][0], b.weights["c1"][0])
    assert not np.array_equal(a.output, c.output)


def test_records_and_dtypes():
    ex = run(small())
    assert [e.name for e in ex.layers] == ["c1", "bn", "act", "pool", "c2", "sum", "gap", "fc"]
    assert all(isinstance(e, Executed) and e.seconds >= 0 for e in ex.layers)
    assert ex.output.dtype == np.float32 and ex.output.shape == (2, 5)
    assert ex.layers[-2].output_shape == (4,)
    assert run(small(), dtype="float64").output.dtype == np.float64
    with pytest.raises(SpecError, match="float16"):
        run(small(), dtype="float16")


def test_values_are_kept_only_on_request():
    graph = small()
    assert run(graph).values == {}
    ex = run(graph, keep=True)
    assert set(ex.values) == {"input", "c1", "bn", "act", "pool", "c2", "sum", "gap", "fc"}
    np.testing.assert_array_equal(ex.values["sum"], ex.values["pool"] + ex.values["c2"])
    assert ex.values["input"] is ex.input


def test_reusing_the_weights_of_an_earlier_run():
    graph = small()
    first = run(graph, seed=1)
    again = run(graph, seed=99, x=first.input, weights=first)
    np.testing.assert_array_equal(first.output, again.output)
    assert [e.params for e in again.layers] == [e.params for e in first.layers]


def test_a_preset_mapping_gives_each_node_its_arrays():
    graph = small()
    first = run(graph, seed=1)
    preset = {name: (first.weights[name], first.buffers[name]) for name in first.weights}
    again = run(graph, seed=99, x=first.input, weights=preset)
    np.testing.assert_array_equal(first.output, again.output)
    run(graph, x=first.input, weights=preset)  # the preset's lists are not used up by a run
    as_float64 = run(graph, x=first.input, dtype="float64", weights=preset)
    np.testing.assert_array_equal(as_float64.weights["c1"][0], preset["c1"][0][0].astype(np.float64))


@pytest.mark.parametrize("change, message", [
    (lambda w: [w[0].reshape(4, 27)] + w[1:], "weights (4, 27), (4,) and no buffers"),
    (lambda w: w[:1], "weights (4, 3, 3, 3) and no buffers"),
    (lambda w: w + w[1:], "weights (4, 3, 3, 3), (4,), (4,) and no buffers"),
])
def test_a_preset_that_is_not_what_the_kernel_allocates(change, message):
    graph = small()
    first = run(graph, seed=1)
    preset = {name: (first.weights[name], first.buffers[name]) for name in first.weights}
    preset["c1"] = (change(list(preset["c1"][0])), [])
    with pytest.raises(SpecError) as info:
        run(graph, weights=preset)
    assert str(info.value).startswith("layer `c1` (conv): its kernel allocates weights (4, 3, 3, 3), (4,) and no "
                                      f"buffers, but the arrays given are {message} — ")
    assert info.value.layer == "c1" and info.value.expected == ([(4, 3, 3, 3), (4,)], [])


def test_a_node_missing_from_the_preset_is_given_nothing():
    with pytest.raises(SpecError, match=r"layer `c1` \(conv\): its kernel allocates weights \(4, 3, 3, 3\), \(4,\) "
                                        r"and no buffers, but the arrays given are no weights and no buffers"):
        run(small(), weights={})


def test_a_given_input_must_have_the_network_shape():
    with pytest.raises(SpecError, match=r"\(3, 7, 8\)"):
        run(small(), x=np.zeros((2, 3, 7, 8)))


def test_ones_mode_makes_batchnorm_the_identity():
    graph = graph_of((3, 4, 4), {"type": "batchnorm"}, batch=1)
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 4))
    np.testing.assert_allclose(run(graph, weights="ones", x=x, dtype="float64").output, x, rtol=1e-12)


@pytest.mark.parametrize("eps, expected", [
    # x = [0, 2]: batch mean 1, biased variance 1, so y = (x − 1)/√(1 + eps)
    (0, [-1.0, 1.0]),                       # `eps: 0` is zero, not "unset"
    (None, [-0.999995000037, 0.999995000037]),  # no `eps:`: torch's default 1e-5, 1/√1.00001 = 0.999995000037…
])
def test_batchnorm_eps_as_written(eps, expected):
    layer = {"type": "batchnorm", "affine": False, "track_running_stats": False}
    if eps is not None:
        layer["eps"] = eps
    graph = graph_of((1, 2), layer, batch=1)
    ex = run(graph, x=np.array([[[0.0, 2.0]]]), dtype="float64")
    np.testing.assert_allclose(ex.output.ravel(), expected, rtol=1e-11)
