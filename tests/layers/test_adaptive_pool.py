"""Adaptive pooling's per-axis closed form (convcalc/layers/pool.py, ``adaptive_axis``) against the windows listed
one by one, and an output size of 10^9 analysed at once (benchmarks/fuzz.py found it looping over every output)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.layers.pool import adaptive_axis


def listed(n: int, o: int):
    """PyTorch's rule, one window at a time: output i pools [floor(i·N/O), ceil((i+1)·N/O))."""
    lengths = [-(-(i + 1) * n // o) - i * n // o for i in range(o)]
    return sum(lengths), max(lengths), -(-n // o)


def test_hand_worked_axes():
    assert adaptive_axis(7, 3) == (9, 3, 3)     # [0,3) [2,5) [4,7)
    assert adaptive_axis(5, 3) == (7, 3, 2)     # [0,2) [1,4) [3,5)
    assert adaptive_axis(3, 5) == (7, 2, 1)     # [0,1) [0,2) [1,2) [1,3) [2,3)
    assert adaptive_axis(8, 4) == (8, 2, 2)     # four windows of 2


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60))
def test_the_closed_form_is_the_windows_listed(n, o):
    assert adaptive_axis(n, o) == listed(n, o)


def test_a_huge_output_size_is_instant():
    spec = {"input": [2, 10, 14], "layers": [{"type": "adaptive_avgpool", "name": "p",
                                              "output_size": [10**9, 4]}]}
    start = time.perf_counter()
    layer = convcalc.analyze(convcalc.load(spec)).layers[0]
    assert time.perf_counter() - start < 1
    assert layer.output_shape == [2, 10**9, 4]
    # Σ windows: axis 1 10 + 10^9 − 10, axis 2 14 + 4 − 2 = 16; an average: adds (Σ − O) plus one divide per output
    assert layer.flops == 2 * (10**9 * 16 - 10**9 * 4 + 10**9 * 4)
