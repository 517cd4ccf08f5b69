"""The executor's kernel registry, the per-layer :class:`Context`, and shape helpers shared by the kernels.

A kernel is a function ``f(ctx, node, xs, **options) -> array`` registered for one or more layer kinds with
:func:`kernel`; the options given at registration are how kinds that share a function differ (``@kernel("maxpool",
reduce=MAX)``), so no kernel body tests ``node.kind``. Arrays carry the batch on axis 0 and channels on axis 1:
``(B, C)``, ``(B, C, L)``, ``(B, C, H, W)`` or ``(B, C, D, H, W)``. A kernel allocates its learnable arrays through
:meth:`Context.weight` (counted as params), its running statistics through :meth:`Context.buffer`, and reports the
multiply-accumulates it performs through :meth:`Context.matmul` / :meth:`Context.fma` (or :meth:`Context.macs`
directly).

This module re-derives every shape rule from the definitions (PyTorch's documentation and TensorFlow's
``same`` rule); it deliberately shares no code with the cost model in ``convcalc.layers``.
"""

from __future__ import annotations

from functools import partial, update_wrapper
from itertools import product
from math import prod
from typing import Callable

import numpy as np

from ..errors import SpecError
from ..spec.graph import Node

Kernel = Callable[["Context", Node, list], np.ndarray]

#: layer kind → kernel function ``f(ctx, node, xs)`` (its registration options already bound)
KERNELS: dict[str, Kernel] = {}


def bind(fn: Callable, options: dict) -> Callable:
    """``fn`` with ``options`` bound as keyword arguments, keeping its name and docstring (``fn`` itself when
    there are none)."""
    if not options:
        return fn
    return update_wrapper(partial(fn, **options), fn)


def register_in(table: dict, what: str, kinds, fn: Callable, options: dict) -> Callable:
    """Enter ``fn`` (``options`` bound) in ``table`` under each of ``kinds``; a kind registered twice is an error."""
    bound = bind(fn, options)
    for kind in kinds:
        if kind in table:
            raise RuntimeError(f"executor {what} for {kind!r} registered twice")
        table[kind] = bound
    return fn


def kernel(*kinds: str, **options):
    """Decorator: register ``f(ctx, node, xs, **options) -> array`` as the kernel of each of ``kinds``, called
    with ``options`` as keyword arguments. Decorators stack, so one function can serve several kinds with
    different options; it is returned unchanged."""
    return lambda fn: register_in(KERNELS, "kernel", kinds, fn, options)


#: layer kind → footprint ``f(ctx, node, xs, y) -> bytes`` of its kernel (:func:`footprint`)
FOOTPRINTS: dict[str, Callable] = {}


def footprint(*kinds: str, **options):
    """Decorator: register ``f(ctx, node, xs, y, **options) -> int`` as the memory footprint of the kernel of each
    of ``kinds``: the most bytes the kernel holds at any one moment while it runs, its output included and its
    inputs (held by the caller) not. It is written next to the kernel, array by array, from what the kernel
    allocates (a temporary of each NumPy expression included: NumPy may elide some, never add). ``xs`` and ``y``
    are shape-only stand-ins (:func:`stand_in`) of the inputs and the output, read with the kernel's own geometry
    helpers; ``ctx`` is a :class:`Context` without a generator. The weights the kernel allocates through
    :meth:`Context.weight` are counted apart (:mod:`convcalc.executor.memory`). Same options as :func:`kernel`."""
    return lambda fn: register_in(FOOTPRINTS, "footprint", kinds, fn, options)


def stand_in(shape, dtype) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that allocates nothing (a broadcast scalar, read-only): what a
    footprint reads shapes from."""
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(int(n) for n in shape))


def nbytes(shape, itemsize: int) -> int:
    """Bytes of an array of ``shape`` with items of ``itemsize`` bytes."""
    return prod(int(n) for n in shape) * int(itemsize)


def _shapes_text(weights: list, buffers: list) -> str:
    def listed(word, shapes):
        return f"{word} " + ", ".join(str(shape) for shape in shapes) if shapes else f"no {word}"

    return f"{listed('weights', weights)} and {listed('buffers', buffers)}"


class PresetMismatch(SpecError):
    """Given arrays (``run(weights=...)``) that are not those the layer's kernel allocates: the layer, and the
    shapes ``expected`` (what the kernel allocates) and ``given``, each as ``(weight shapes, buffer shapes)``."""

    def __init__(self, layer: str, kind: str, expected: tuple[list, list], given: tuple[list, list]):
        self.layer, self.kind, self.expected, self.given = layer, kind, expected, given
        super().__init__(f"layer `{layer}` ({kind}): its kernel allocates {_shapes_text(*expected)}, but the "
                         f"arrays given are {_shapes_text(*given)}", None,
                         "give each layer's (weights, buffers) in the order and layout its kernel allocates them")


class Context:
    """What a kernel may use while running one node: the seeded generator, the dtype, and the counters.

    ``weights_mode`` is ``"random"`` (He-style uniform weights, small random biases, random positive
    batch-norm statistics) or ``"ones"`` (all-ones weights, zero biases, batch norm = identity). ``preset``, when
    given, is ``(weights, buffers)``: the arrays :meth:`weight` and :meth:`buffer` return, in order, instead of
    drawing them (checked by :meth:`check_preset`).
    """

    def __init__(self, rng: np.random.Generator, dtype: np.dtype, weights_mode: str = "random",
                 max_as_sum: bool = False, node: Node | None = None, preset=None):
        self.rng = rng
        self.dtype = np.dtype(dtype)
        self.weights_mode = weights_mode
        self.max_as_sum = max_as_sum
        self.node = node
        self.params = 0
        self.buffers = 0
        self.mac_count = 0
        self.weights: list[np.ndarray] = []
        self.buffer_arrays: list[np.ndarray] = []
        # given arrays to use instead of drawing new ones, (weights, buffers): an earlier run's, or a model's
        self._preset = None
        self._given: tuple[list, list] = ([], [])
        self._mismatch = False
        if preset is not None:
            self._preset = ([np.asarray(a) for a in preset[0]], [np.asarray(a) for a in preset[1]])
            self._given = tuple([tuple(a.shape) for a in arrays] for arrays in self._preset)

    def _reuse(self, which: int, shape) -> np.ndarray | None:
        """The next given array of list ``which`` (0 weights, 1 buffers) when its shape is ``shape``; on the first
        mismatch the rest is drawn as usual, and :meth:`check_preset` reports it once the kernel is done."""
        if self._preset is None or self._mismatch:
            return None
        arrays = self._preset[which]
        if not arrays or tuple(arrays[0].shape) != shape:
            self._mismatch = True
            return None
        return np.ascontiguousarray(arrays.pop(0), dtype=self.dtype)

    def check_preset(self) -> None:
        """After the kernel: raise :class:`PresetMismatch` unless the given arrays were exactly the ones it
        allocated (same number, order and shapes)."""
        if self._preset is None:
            return
        if self._mismatch or self._preset[0] or self._preset[1]:
            allocated = ([tuple(a.shape) for a in self.weights], [tuple(a.shape) for a in self.buffer_arrays])
            raise PresetMismatch(self.node.name if self.node else "?", self.node.kind if self.node else "?",
                                 allocated, self._given)

    # ---- allocation ---------------------------------------------------------------------------------------
    def weight(self, shape, fan_in: int = 1, role: str = "weight") -> np.ndarray:
        """Allocate and count a learnable array.

        ``role``: ``"weight"`` (uniform in ±√(6/fan_in), i.e. variance 2/fan_in: He et al. 2015's init in its
        uniform form, PyTorch's ``kaiming_uniform_``; ones mode: 1), ``"bias"``
        (uniform ±1/√fan_in, PyTorch's bias init; ones mode: 0), ``"scale"`` (uniform in [0.5, 1.5]; ones: 1)
        or ``"shift"`` (normal, std 0.1; ones: 0).
        """
        shape = tuple(int(n) for n in shape)
        ones = self.weights_mode == "ones"
        array = self._reuse(0, shape)
        if array is not None:
            pass
        elif role == "weight":
            if ones:
                array = np.ones(shape, self.dtype)
            else:  # drawn in the run's dtype: float32 uniform draws are ~6× faster than float64 normals + a cast
                array = self.rng.random(shape, dtype=self.dtype)
                array -= self.dtype.type(0.5)
                array *= self.dtype.type(2 * np.sqrt(6.0 / max(fan_in, 1)))
        elif role == "bias":
            bound = 1.0 / np.sqrt(max(fan_in, 1))
            array = np.zeros(shape, self.dtype) if ones else self.rng.uniform(-bound, bound, shape)
        elif role == "scale":
            array = np.ones(shape, self.dtype) if ones else self.rng.uniform(0.5, 1.5, shape)
        elif role == "shift":
            array = np.zeros(shape, self.dtype) if ones else 0.1 * self.rng.standard_normal(shape)
        else:
            raise ValueError(f"unknown weight role {role!r}")
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self.params += array.size
        self.weights.append(array)
        return array

    def buffer(self, shape, role: str = "mean") -> np.ndarray:
        """Allocate and count a non-learnable buffer: ``"mean"`` (normal, std 0.1; ones: 0) or ``"var"``
        (uniform in [0.5, 1.5], always positive; ones: 1)."""
        shape = tuple(int(n) for n in shape)
        ones = self.weights_mode == "ones"
        array = self._reuse(1, shape)
        if array is not None:
            pass
        elif role == "mean":
            array = np.zeros(shape) if ones else 0.1 * self.rng.standard_normal(shape)
        elif role == "var":
            array = np.ones(shape) if ones else self.rng.uniform(0.5, 1.5, shape)
        else:
            raise ValueError(f"unknown buffer role {role!r}")
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self.buffers += array.size
        self.buffer_arrays.append(array)
        return array

    # ---- counted arithmetic -------------------------------------------------------------------------------
    def macs(self, n: int) -> None:
        """Add ``n`` multiply-accumulates to this node's counter."""
        self.mac_count += int(n)

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a @ b`` (stacked, broadcasting), counting M·K·N multiply-accumulates for every matrix product."""
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("Context.matmul takes arrays of rank ≥ 2")
        m, k = a.shape[-2:]
        k2, n = b.shape[-2:]
        if k != k2:
            raise ValueError(f"matmul: inner sizes differ ({k} vs {k2})")
        stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        self.macs(prod(stack) * m * k * n)
        return np.matmul(a, b, out=out)

    def fma(self, acc: np.ndarray, a: np.ndarray, b: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        """``acc += a * b`` in place, counting one multiply-accumulate per product (the broadcast size of
        ``a * b``); ``scratch``, an array of that size, holds the products instead of a new array (a loop of many
        calls then maps no array per call: large arrays are mapped and unmapped, :mod:`.memory`)."""
        product = np.multiply(a, b, out=scratch)
        self.macs(product.size)
        acc += product
        return acc

    # ---- errors -------------------------------------------------------------------------------------------
    def fail(self, message: str, hint: str, key: str | None = None):
        node = self.node
        if node is None:
            raise SpecError(message, None, hint)
        raise SpecError(f"layer `{node.name}` ({node.kind}): {message}", node.mark_of(key), hint)


# ---- field helpers (the executor's own reading of the normalised node fields) -------------------------------
def per_axis(ctx: Context, node: Node, key: str, ndim: int, default=None) -> tuple[int, ...]:
    """A per-axis field (int or tuple) expanded to ``ndim`` values; ``default`` when the value is None or the kind
    has no such field (pointwise has no ``kernel``: 1; avgpool no ``dilation``: 1; lppool no ``padding``: 0)."""
    value = node.fields.get(key, default)
    if value is None:
        value = default
    if isinstance(value, tuple):
        if len(value) != ndim:
            ctx.fail(f"`{key}` has {len(value)} values but the input has {ndim} spatial axes",
                     f"give {ndim} values or a single int", key)
        return tuple(value)
    return (value,) * ndim


def padding_pairs(ctx: Context, node: Node, sizes, k_eff, stride, key: str = "padding") -> list[tuple[int, int]]:
    """(before, after) zero padding per spatial axis for a forward window (conv or pool).

    ``valid`` = none; ``full`` = k_eff − 1 on both sides; ``same`` = TensorFlow's rule: the output has
    ceil(N / s) positions and the padding total max((ceil(N/s) − 1)·s + k_eff − N, 0) puts its odd unit after.
    """
    value = node.fields.get(key, 0)
    ndim = len(sizes)
    if value == "valid":
        return [(0, 0)] * ndim
    if value == "full":
        return [(k - 1, k - 1) for k in k_eff]
    if value == "same":
        pairs = []
        for n, k, s in zip(sizes, k_eff, stride):
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pairs.append((total // 2, total - total // 2))
        return pairs
    if isinstance(value, tuple):
        if len(value) != ndim:
            ctx.fail(f"`{key}` has {len(value)} entries but the input has {ndim} spatial axes",
                     f"give {ndim} entries or a single int", key)
        return [tuple(v) if isinstance(v, tuple) else (v, v) for v in value]
    return [(value, value)] * ndim


def window_count(ctx: Context, axis: int, n: int, k_eff: int, s: int, pads: tuple[int, int],
                 ceil_mode: bool = False) -> int:
    """Number of window positions along one axis: floor (or ceil) of (N + p_b + p_a − k_eff)/s, plus one.

    With ceil_mode, PyTorch drops a last window that would start inside the right padding, and keeps a first
    window that hangs over the end of an input shorter than the kernel (``pooling_output_shape``,
    aten/src/ATen/native/Pool.h).
    """
    before, after = pads
    span = n + before + after - k_eff
    count = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (count - 1) * s >= n + before:
        count -= 1
    if count < 1:
        ctx.fail(f"along spatial axis {axis} the padded input ({n} + {before} + {after}) holds no window of the "
                 f"effective kernel ({k_eff}) at stride {s}{' in ceil mode' if ceil_mode else ''}",
                 "use a smaller kernel or dilation, more padding, or a larger input")
    return count


def pad(x: np.ndarray, pads, value=0.0, first_axis: int = 2) -> np.ndarray:
    """Pad the spatial axes (from ``first_axis`` on) by (before, after) pairs; no copy when all are zero."""
    if not any(b or a for b, a in pads):
        return x
    widths = [(0, 0)] * first_axis + [tuple(p) for p in pads]
    return np.pad(x, widths, mode="constant", constant_values=value)


#: torch.nn.functional.pad's modes (and a conv's padding_mode) as numpy.pad's: the same definitions
NUMPY_PAD_MODES = {"constant": "constant", "zeros": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}


def check_pad_mode(ctx: Context, sizes, pads, mode: str, key: str = "padding") -> None:
    """torch's limits on F.pad in a mode: reflect pads below the axis size, circular at most the size (it wraps
    once), negative widths (crops) in constant mode only."""
    for axis, (n, (b, a)) in enumerate(zip(sizes, pads)):
        if NUMPY_PAD_MODES[mode] != "constant" and min(b, a) < 0:
            ctx.fail(f"a negative padding ({b}, {a}) on spatial axis {axis} works in constant mode only",
                     "crop with a constant-mode pad first", key)
        if mode == "reflect" and max(b, a) >= n:
            ctx.fail(f"reflect padding ({b}, {a}) on spatial axis {axis} is not below its size {n}",
                     f"use a padding below {n}", key)
        if mode == "circular" and max(b, a) > n:
            ctx.fail(f"circular padding ({b}, {a}) on spatial axis {axis} wraps around more than once (size {n})",
                     f"use a padding of at most {n}", key)
        if n + b + a < 1:
            ctx.fail(f"the padded spatial axis {axis} has {n} + {b} + {a} = {n + b + a} positions",
                     "crop less", key)


def pad_in_mode(x: np.ndarray, pads, mode: str, value=0.0, first_axis: int = 2) -> np.ndarray:
    """``torch.nn.functional.pad`` of the spatial axes (from ``first_axis`` on) by (before, after) pairs in ``mode``
    (constant/zeros, reflect, replicate, circular), with numpy.pad; negative widths crop first (constant mode)."""
    if not any(b or a for b, a in pads):
        return x
    crop = (slice(None),) * first_axis + tuple(slice(max(-b, 0), n - max(-a, 0))
                                               for (b, a), n in zip(pads, x.shape[first_axis:]))
    x = x[crop]
    widths = [(0, 0)] * first_axis + [(max(b, 0), max(a, 0)) for b, a in pads]
    np_mode = NUMPY_PAD_MODES[mode]
    if np_mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=np_mode)


def strided(start: int, count: int, step: int) -> slice:
    """The slice of ``count`` positions ``start, start + step, …``."""
    return slice(start, start + (count - 1) * step + 1, step)


def taps_of(kernel_size):
    """Every tap offset of a kernel, in row-major order."""
    return product(*(range(k) for k in kernel_size))


#: a tap's slice of the input (B·C·ΠN_out elements) below which a kernel over windows works on all its taps at
#: once (im2col columns, one scatter) rather than with one NumPy call per tap, which costs a few µs, as much as
#: ~4,000 elements of work; and the most those columns may take
PER_TAP_MIN_ELEMENTS = 4096
COLUMNS_LIMIT_BYTES = 64 * 2**20


def few_positions(batch: int, channels: int, taps: int, positions: int, itemsize: int) -> bool:
    """Whether a tap's slice of the input is small and the columns of every tap fit :data:`COLUMNS_LIMIT_BYTES`:
    then a loop over the taps costs more in NumPy calls than their work (a kernel of 10⁶ taps over one window had
    been 10⁶ calls, seconds, for 10⁶ multiply-accumulates). Convolutions, pools and the unshared kinds follow it."""
    elements = batch * channels * positions
    return elements < PER_TAP_MIN_ELEMENTS and elements * taps * itemsize <= COLUMNS_LIMIT_BYTES


def window_offsets(kernel_size, stride, dilation, out_sizes, sizes) -> np.ndarray:
    """The flat index, in a map of ``sizes``, of every (tap, window) pair: position n·s + t·d per axis, taps then
    windows in row-major order, as one vector of Πk·ΠN_out indices (the order of im2col's columns)."""
    rank = len(sizes)
    index = np.zeros((1,) * 2 * rank, dtype=np.intp)
    for axis, (k, s, d, o, n) in enumerate(zip(kernel_size, stride, dilation, out_sizes, sizes)):
        shape = [1] * 2 * rank
        shape[axis], shape[rank + axis] = k, o
        index = index * n + (np.arange(k)[:, None] * d + np.arange(o)[None, :] * s).reshape(shape)
    return index.reshape(-1)


def add_windows(cols: np.ndarray, shape, kernel_size, stride, dilation, counts, dtype) -> np.ndarray:
    """A map of ``shape`` ``(B, C, *sizes)``, zero but for ``cols (B, C, Πk, Πcounts)`` (taps in row-major order; or
    ``(B, C, 1, Πcounts)``, one value for every tap) added at each window's tap positions n·s + t·d, with one
    ``np.add.at``: col2im for few windows of many taps (:func:`few_positions`)."""
    batch, channels, *sizes = shape
    index = window_offsets(kernel_size, stride, dilation, counts, sizes).reshape(prod(kernel_size), -1)
    out = np.zeros((batch * channels, prod(sizes)), dtype=dtype)
    np.add.at(out, (slice(None), index), cols.reshape(batch * channels, cols.shape[2], -1))
    return out.reshape(shape)


def window_index(offsets, dilation, counts, stride) -> tuple:
    """The index of tap ``offsets`` over every window position of a padded input: ``(:, :, t_a·d_a + n·s_a …)``
    per axis, ``counts`` windows along each."""
    return (slice(None), slice(None)) + tuple(strided(t * d, n, s) for t, d, n, s in
                                              zip(offsets, dilation, counts, stride))


def require_rank(ctx: Context, x: np.ndarray, ranks=(1, 2, 3)) -> int:
    """The spatial rank of a batched array, checked against the ranks the kind accepts."""
    rank = x.ndim - 2
    if rank not in ranks:
        words = {-1: "(no channel axis)", 0: "flat (C,)", 1: "1-D (C, L)", 2: "2-D (C, H, W)", 3: "3-D (C, D, H, W)"}
        ctx.fail(f"expects a {' or '.join(words.get(r, str(r)) for r in ranks)} input, got per-sample shape "
                 f"{tuple(x.shape[1:])}", "flatten or pool before a flat layer, and keep conv/pool layers on maps")
    return rank
