"""Output shapes of every pooling and resampling kind against torch's own (a property test, when torch is
installed): ceil_mode, padding, dilation and strides for the sliding-window pools, fractional scales and sizes for
upsampling, adaptive sizes, explicit padding modes and the pixel shuffles.

Whatever torch accepts, convcalc must give the same shape. Whatever torch refuses, convcalc must refuse too, or
warn that torch refuses it (the documented generalisations: AvgPool3d/LPPool3d on an input below the kernel, a
linear mode on another rank). Inputs are at most a few hundred elements. Kinds with no torch
module compare with the module they are defined against: ``minpool`` = −maxpool(−x), ``stochastic_pool`` shaped
as max pooling without padding. Sized for CI: about 200 examples in all, a few seconds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.errors import SpecError

from spec_helpers import one

torch = pytest.importorskip("torch")
F = torch.nn.functional

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: torch's thread pool costs 80× the work on a busy machine (measured), so run on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def torch_shape(call, shape):
    """``call(zeros of (1, *shape))``'s shape per sample, or None when torch refuses (or gives an empty
    tensor, which convcalc, counting layers of positive size, refuses)."""
    try:
        out = list(call(torch.zeros((1, *shape))).shape[1:])
    except (RuntimeError, ValueError, NotImplementedError):
        return None
    return out if all(out) else None


def convcalc_shape(shape, layer):
    """(shape per sample or None when refused, whether a warning says torch refuses it)."""
    try:
        row = one(shape, layer)
    except SpecError:
        return None, False
    return row.output_shape, any("refuses" in w for w in row.warnings)


def agree(shape, layer, call):
    expected = torch_shape(call, shape)
    got, warned = convcalc_shape(shape, layer)
    if expected is not None:
        assert got == expected, (shape, layer)
        assert not warned, (shape, layer)
    else:
        assert got is None or warned, (shape, layer, got)


ranks = st.integers(1, 3)


@st.composite
def window_pools(draw):
    rank = draw(ranks)
    kind = draw(st.sampled_from(["maxpool", "minpool", "avgpool", "lppool", "stochastic_pool"]))
    sizes = draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank))
    kernel = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    stride = draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    padded = kind in ("maxpool", "minpool", "avgpool")
    padding = [draw(st.integers(0, k // 2 + 1)) for k in kernel] if padded else [0] * rank  # k//2 + 1 is refused
    dilation = draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank)) if kind in ("maxpool", "minpool") \
        else [1] * rank
    return kind, [2, *sizes], kernel, stride, padding, dilation, draw(st.booleans())


@SETTINGS
@given(window_pools())
def test_sliding_window_pools(case):
    kind, shape, kernel, stride, padding, dilation, ceil_mode = case
    rank = len(kernel)
    layer = {"type": kind, "kernel": kernel, "stride": stride, "ceil_mode": ceil_mode}
    if kind in ("maxpool", "minpool", "avgpool"):
        layer["padding"] = padding
    if kind in ("maxpool", "minpool"):
        layer["dilation"] = dilation
    if kind == "lppool":
        layer["p"] = 2
    if kind == "avgpool":
        call = lambda x: getattr(F, f"avg_pool{rank}d")(x, kernel, stride, padding, ceil_mode)  # noqa: E731
    elif kind == "lppool":
        k, st_ = (kernel[0], stride[0]) if rank == 1 else (tuple(kernel), tuple(stride))  # lp_pool1d takes ints
        call = lambda x: getattr(F, f"lp_pool{rank}d")(x, 2, k, st_, ceil_mode)  # noqa: E731
    else:  # max; min = −max(−x); stochastic shaped as max without padding
        call = lambda x: getattr(F, f"max_pool{rank}d")(x, kernel, stride, padding, dilation,  # noqa: E731
                                                        ceil_mode=ceil_mode)
    agree(shape, layer, call)


@SETTINGS
@given(ranks.flatmap(lambda r: st.tuples(st.lists(st.integers(1, 9), min_size=r, max_size=r),
                                         st.lists(st.integers(1, 11), min_size=r, max_size=r))),
       st.sampled_from(["adaptive_avgpool", "adaptive_maxpool", "global_avgpool", "global_maxpool"]))
def test_adaptive_and_global_pools(sizes_out, kind):
    sizes, out = sizes_out
    rank = len(sizes)
    if kind.startswith("global"):
        layer, out = {"type": kind}, [1] * rank
    else:
        layer = {"type": kind, "output_size": out}
    name = "avg" if "avg" in kind else "max"
    agree([3, *sizes], layer, lambda x: getattr(F, f"adaptive_{name}_pool{rank}d")(x, out))


LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@st.composite
def upsamples(draw):
    rank = draw(ranks)
    sizes = draw(st.lists(st.integers(1, 60 if rank == 1 else 12), min_size=rank, max_size=rank))
    mode = draw(st.sampled_from(["nearest", "linear", "bilinear", "trilinear", "bicubic"]))
    align = mode != "nearest" and draw(st.booleans())
    if draw(st.booleans()):  # a scale with one or two decimals, as people write them (2.3, 0.75)
        scale = [draw(st.integers(5, 40)) / 10 if draw(st.booleans()) else draw(st.integers(25, 300)) / 100
                 for _ in range(rank)]
        return [1, *sizes], mode, align, {"scale": scale}, {"scale_factor": scale}
    size = draw(st.lists(st.integers(1, 20), min_size=rank, max_size=rank))
    return [1, *sizes], mode, align, {"size": size}, {"size": size}


@SETTINGS
@given(upsamples())
def test_upsample(case):
    shape, mode, align, ours, theirs = case
    layer = {"type": "upsample", "mode": mode, **ours, **({"align_corners": True} if align else {})}
    kwargs = {"mode": mode, **theirs, **({"align_corners": align} if mode != "nearest" else {})}
    agree(shape, layer, lambda x: F.interpolate(x, **kwargs))


def test_upsample_fifty_by_two_point_three_is_torch_s_114():
    # the case the property test exists for: 50·2.3 = 114.99999999999999 in double
    agree([1, 50], {"type": "upsample", "scale": 2.3}, lambda x: F.interpolate(x, scale_factor=2.3))
    assert convcalc_shape([1, 50], {"type": "upsample", "scale": 2.3})[0] == [1, 114]


@SETTINGS
@given(ranks.flatmap(lambda r: st.tuples(st.lists(st.integers(1, 6), min_size=r, max_size=r),
                                         st.lists(st.tuples(st.integers(-2, 6), st.integers(-2, 6)),
                                                  min_size=r, max_size=r))),
       st.sampled_from(["constant", "reflect", "replicate", "circular"]))
def test_pad(sizes_pads, mode):
    sizes, pads = sizes_pads
    if mode != "constant":  # convcalc crops in constant mode only, on purpose (docs/spec.md, `pad`)
        pads = [(max(b, 0), max(a, 0)) for b, a in pads]
    flat = [w for pair in reversed(pads) for w in pair]  # F.pad lists the last axis first
    agree([2, *sizes], {"type": "pad", "padding": [list(p) for p in pads], "mode": mode},
          lambda x: F.pad(x, flat, mode=mode))


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 8), st.integers(1, 8), st.integers(1, 3), st.booleans())
def test_pixel_shuffles(channels, h, w, factor, unshuffle):
    # torch's pixel (un)shuffle works on the last two axes: compare on 2-D maps
    if unshuffle:
        agree([channels, h, w], {"type": "pixel_unshuffle", "factor": factor}, lambda x: F.pixel_unshuffle(x, factor))
    else:
        agree([channels * factor * factor, h, w], {"type": "pixel_shuffle", "factor": factor},
              lambda x: F.pixel_shuffle(x, factor))
