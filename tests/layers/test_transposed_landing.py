"""The products of a transposed conv that land inside its output (``details``: ``macs_inside_output``,
``taps_per_output``), and its receptive field, without enumerating output positions: against the naive loop over
every input and tap (kept here as the reference), by hand, and on an axis of 30 million positions."""

from __future__ import annotations

import time
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from convcalc.errors import SpecError
from convcalc.layers.scatter import landing

from spec_helpers import one


def naive_landing(n, k, s, d, pad_before, size):
    """The old definition: count, for every output position, the (input, tap) pairs with o = i·s − p_b + t·d."""
    taps = [0] * size
    for i in range(n):
        for t in range(k):
            o = i * s - pad_before + t * d
            if 0 <= o < size:
                taps[o] += 1
    return sum(taps), min(taps), max(taps)


def naive_rf_span(k, s, d, pad_before):
    """The old receptive-field loop: per output phase, the inputs it reads; the widest span and the tap counts."""
    widest, counts = 0, set()
    for residue in range(s):
        hits = [(residue + pad_before - t * d) // s for t in range(k) if (residue + pad_before - t * d) % s == 0]
        counts.add(len(hits))
        if hits:
            widest = max(widest, max(hits) - min(hits))
    return widest, len(counts) > 1


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 4),
       pad_before=st.integers(0, 8), extra=st.integers(-8, 6))
def test_landing_equals_the_naive_loop(n, k, s, d, pad_before, extra):
    full = (n - 1) * s + d * (k - 1) + 1  # the uncropped output; the window is what the padding leaves, or more
    size = max(1, full - pad_before + extra)
    got = landing(n, k, s, d, pad_before, size)
    assert (got.total, got.least, got.most) == naive_landing(n, k, s, d, pad_before, size)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 7), s=st.integers(1, 6), d=st.integers(1, 4), pad_before=st.integers(0, 6))
def test_receptive_field_equals_the_naive_loop(k, s, d, pad_before):
    row = one((1, 9), {"type": "conv_transpose", "out": 1, "kernel": k, "stride": s, "dilation": d,
                       "padding": [[pad_before, 0]]})
    widest, uneven = naive_rf_span(k, s, d, pad_before)
    assert row.rf.size == [1 + widest]
    assert row.rf.position_dependent == uneven


def test_by_hand():
    # n = 3, k = 3, s = 2, p = 1 on both sides, no output padding: N_out = (3 − 1)·2 − 2 + 3 = 5.
    # products land at o = 2i − 1 + t for i = 0..2, t = 0..2: i=0 → −1, 0, 1; i=1 → 1, 2, 3; i=2 → 3, 4, 5;
    # inside [0, 5): o = 0:1, 1:2, 2:1, 3:2, 4:1 → total 7, min 1, max 2
    got = landing(3, 3, 2, 1, 1, 5)
    assert (got.total, got.least, got.most) == (7, 1, 2)
    row = one((4, 3), {"type": "conv_transpose", "out": 6, "kernel": 3, "stride": 2, "padding": 1})
    assert row.output_shape == [6, 5]
    assert row.details["macs_inside_output"] == 4 * 6 * 7  # C_in·C_out·7 = 168
    assert row.details["taps_per_output"] == {"min": 1, "max": 2, "mean": str(Fraction(7, 5))}


def test_thirty_million_positions_are_instant():
    # k4 s2 p1 on 30,000,000 × 8: products land at o = 2i − 1 + t, so output o gets the two taps t ≡ o + 1
    # (mod 2) whose input i = (o + 1 − t)/2 exists: 2 everywhere but at o = 0 (t = 1 only) and o = N_out − 1
    # (t = 2 only), which get 1. Along the long axis N_out = (30,000,000 − 1)·2 − 2 + 4 = 60,000,000 and the
    # products inside = 4·30,000,000 − 2 (i = 0, t = 0 lands at −1; the last input's t = 3 beyond) = 119,999,998;
    # along W: N_out = 16, inside 4·8 − 2 = 30
    started = time.perf_counter()
    row = one((3, 30_000_000, 8), {"type": "conv_transpose", "out": 2, "kernel": 4, "stride": 2, "padding": 1})
    assert time.perf_counter() - started < 10  # a hang guard: the old per-position loop took ~260 s here
    assert row.output_shape == [2, 60_000_000, 16]
    assert row.details["macs_inside_output"] == 3 * 2 * 119_999_998 * 30
    assert row.details["taps_per_output"]["min"] == 1 * 1 and row.details["taps_per_output"]["max"] == 2 * 2


def test_huge_stride_and_dilation_are_instant():
    # k3, s = d = 10^9 on 4: taps land at (i + t)·10^9 − 0; every phase but 0 gets nothing, so min 0; phase 0 at
    # u = m·10^9 gets #{(i, t): i + t = m} ≤ 3
    started = time.perf_counter()
    got = landing(4, 3, 10**9, 10**9, 0, 5 * 10**9 + 1)
    assert time.perf_counter() - started < 0.1
    assert (got.total, got.least, got.most) == (12, 0, 3)


def test_a_kernel_beyond_the_scatter_bound_is_refused_at_once():
    # the scatter geometry walks the taps of an axis; 10^6 + 1 of them is refused before any of that work
    with pytest.raises(SpecError, match=r"kernel 1000001 along spatial axis 0 is above the 1,000,000 taps"):
        one((1, 8), {"type": "conv_transpose", "out": 1, "kernel": 1_000_001})
