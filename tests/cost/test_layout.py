"""convcalc/cost/layout.py: where the input's spatial axes sit in a tensor, through permutes and reshapes.

Parts are (input axis, size), -1 for features; an axis of size 1 carries nothing (the empty entry)."""

from __future__ import annotations

from convcalc.cost import layout
from convcalc.cost.layout import FEATURES as F, UNKNOWN


def test_channels_first_is_none_and_explicit_alike():
    assert layout.standard((4, 6, 5)) == (((F, 4),), ((0, 6),), ((1, 5),))
    assert layout.normal(layout.standard((4, 6, 5)), (4, 6, 5)) is None


def test_channels_last_and_back():
    last = layout.permute(None, (4, 6, 5), (1, 2, 0))
    assert last == (((0, 6),), ((1, 5),), ((F, 4),))
    assert layout.text(last, (6, 5, 4), 2) == "(H, W, C)"
    assert layout.permute(last, (6, 5, 4), (2, 0, 1)) is None


def test_a_reshape_merges_whole_parts_and_a_reshape_back_splits_them():
    merged = layout.reshape(None, (4, 6, 5), (4, 30))
    assert merged == (((F, 4),), ((0, 6), (1, 5)))
    assert layout.text(merged, (4, 30), 2) == "(C, H·W)"
    assert layout.reshape(merged, (4, 30), (4, 6, 5)) is None


def test_features_split_and_join_freely():
    # (6, 4, 4) → (2, 3, 4, 4) → permute → (3, 2, 4, 4) → (6, 4, 4): the channels are one feature part again
    split = layout.reshape(None, (6, 4, 4), (2, 3, 4, 4))
    assert split == (((F, 2),), ((F, 3),), ((0, 4),), ((1, 4),))
    swapped = layout.permute(split, (2, 3, 4, 4), (1, 0, 2, 3))
    assert layout.reshape(swapped, (3, 2, 4, 4), (6, 4, 4)) is None


def test_splitting_a_spatial_axis_is_unknown():
    assert layout.reshape(None, (4, 6, 6), (4, 3, 12)) == UNKNOWN
    assert layout.reshape(None, (4, 6, 6), (4, 2, 3, 6)) == UNKNOWN


def test_size_one_axes_carry_nothing():
    # a (C, 1, 1) gate squeezed to (C,) and unsqueezed back, or a (C, H, 1) map squeezed to (C, H)
    assert layout.reshape(None, (8, 1, 1), (8,)) is None
    assert layout.reshape(None, (8,), (8, 1, 1)) is None
    assert layout.reshape(None, (4, 6, 1), (4, 6)) is None


def test_axis_sizes_and_mixing():
    last = layout.permute(None, (4, 6, 5), (1, 2, 0))
    assert layout.axis_sizes(last, (6, 5, 4), 2) == [6, 5]
    # a linear over the last axis of (H, W, C) mixes features only; over the W of (C, H, W) it mixes positions
    assert layout.mixed(last, (6, 5, 4), 2, 16) == ((((0, 6),), ((1, 5),), ((F, 16),)), [])
    assert layout.mixed(None, (4, 6, 5), 2, 3) == ((((F, 4),), ((0, 6),), ((F, 3),)), [1])


def test_a_map_made_from_a_flat_vector_is_channels_first():
    # no axis of it carries an input position: its positions are new ones
    assert layout.reshape(None, (8,), (2, 2, 2)) is None


def test_a_layout_from_a_tensor_of_higher_rank_than_the_input_is_written():
    """Found by benchmarks/fuzz.py (seed 1): a depthwise conv over a split tensor (rank 4, the input rank 3) gave a
    layout naming a third spatial axis the input does not have (IndexError in the layout text)."""
    import convcalc

    spec = """\
input: [240, 28, 28]
layers:
  - {type: pointwise, name: gconv1, out: 60, groups: 3}
  - {type: reshape, name: split, shape: [3, 20, 28, 28]}
  - {type: permute, name: swap, dims: [1, 0, 2, 3]}
  - {type: depthwise, name: dw, kernel: 3, padding: 1}
  - {type: flatten, name: tokens, start: 1}
"""
    layouts = [layer.rf.layout for layer in convcalc.analyze(convcalc.load(spec)).layers]
    assert layouts[-1] == "(C, H·W·C)"
