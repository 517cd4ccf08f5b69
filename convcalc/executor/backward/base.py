"""The VJP registry, the per-node :class:`GradContext`, and helpers shared by the backward families.

A VJP is a function ``f(ctx, node, xs, y, gy, **options) -> list`` registered for one or more layer kinds with
:func:`vjp` (options as for :func:`convcalc.executor.base.kernel`: how kinds sharing a function differ). Given
the node's kept forward inputs ``xs``, its output ``y`` and the gradient ``gy`` of the objective with respect to
``y`` (same shape), it returns the gradient with respect to each input (``None`` for an input the output does not
depend on). ``ctx.weights`` / ``ctx.buffers`` are the arrays the forward kernel allocated
(``Execution.weights[name]`` / ``.buffers[name]``). VJPs never modify ``gy``, ``xs`` or ``y`` in place.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..base import Context, add_windows, nbytes, register_in, taps_of, window_index

Vjp = Callable[["GradContext", object, list, np.ndarray, np.ndarray], list]

#: layer kind → vector-Jacobian product
VJPS: dict[str, Vjp] = {}

#: the pointwise nonlinearities (``GradContext.open_activations`` passes their gradient through unchanged);
#: filled by ``@vjp(..., activation=True)``
ACTIVATIONS: set[str] = set()


def passes_through(ctx: "GradContext", node) -> bool:
    """Whether ``node`` hands its gradient on unchanged: an activation under ``open_activations``."""
    return ctx.open_activations and node.kind in ACTIVATIONS


def apply_vjp(ctx: "GradContext", node, xs, y, gy) -> list:
    """The VJP of ``node`` (an error naming the kind when there is none), honouring ``open_activations``."""
    if passes_through(ctx, node):
        return [gy]
    fn = VJPS.get(node.kind)
    if fn is None:
        from ...errors import SpecError

        raise SpecError(f"layer `{node.name}`: the executor has no backward pass (VJP) for layer kind "
                        f"`{node.kind}`", node.mark,
                        "add one in convcalc/executor/backward/ (each layer kind with a kernel needs one)")
    return fn(ctx, node, xs, y, gy)


def vjp(*kinds: str, activation: bool = False, **options):
    """Decorator: register ``f(ctx, node, xs, y, gy, **options) -> [gx per input]`` as the VJP of each of
    ``kinds``, called with ``options`` as keyword arguments (decorators stack); ``activation=True`` marks
    pointwise nonlinearities (see :data:`ACTIVATIONS`)."""

    def register(fn: Callable) -> Callable:
        if activation:
            ACTIVATIONS.update(kinds)
        return register_in(VJPS, "VJP", kinds, fn, options)

    return register


#: layer kind → weight gradient ``f(ctx, node, xs, y, gy) -> [gradient per array of ctx.weights]`` (the training
#: pass): the kinds whose weights enter multiply-accumulates, counting them through ``ctx``
WEIGHT_GRADS: dict[str, Callable] = {}


def weight_grad(*kinds: str, **options):
    """Decorator: register ``f(ctx, node, xs, y, gy, **options)`` as the weight gradient of each of ``kinds``."""
    return lambda fn: register_in(WEIGHT_GRADS, "weight gradient", kinds, fn, options)


#: layer kind → one training step ``f(ctx, wctx, node, xs, y, gy, input_grad, trainable) -> [gx per input]``: the
#: composite kinds, whose inner weights need gradients flowing between their stages; ``ctx`` counts the
#: input-side work, ``wctx`` the weight gradients
TRAIN_STEPS: dict[str, Callable] = {}


def train_step(*kinds: str, **options):
    """Decorator: register a composite kind's training step (see :data:`TRAIN_STEPS`)."""
    return lambda fn: register_in(TRAIN_STEPS, "training step", kinds, fn, options)


#: layer kind → footprint ``f(ctx, node, xs, y, gy) -> bytes`` of its VJP (:func:`vjp_footprint`)
VJP_FOOTPRINTS: dict[str, Callable] = {}


def vjp_footprint(*kinds: str, **options):
    """Decorator: register ``f(ctx, node, xs, y, gy, **options) -> int`` as the memory footprint of the VJP of each
    of ``kinds``: the most bytes the VJP holds at any one moment, the input gradients it returns included and
    ``xs``, ``y``, ``gy`` (held by the caller) not; as :func:`convcalc.executor.base.footprint`, with ``ctx`` a
    :class:`GradContext` in the pass's modes. An activation needs none under ``open_activations`` (it returns
    ``gy`` itself)."""
    return lambda fn: register_in(VJP_FOOTPRINTS, "VJP footprint", kinds, fn, options)


class GradContext(Context):
    """A :class:`~convcalc.executor.base.Context` for the backward pass of one node: the shape helpers' ``fail``,
    plus the forward run's arrays of the node (``weights``, ``buffers``), its ``max_as_sum`` mode and ``gates``."""

    #: True in the training pass: kernels take the branches that do one product per definitional product
    counting = False

    def __init__(self, node, dtype, weights=(), buffers=(), max_as_sum: bool = False, gates: bool = True,
                 open_activations: bool = False, counting: bool = False):
        super().__init__(np.random.default_rng(0), dtype, "random", max_as_sum, node)
        self.counting = counting
        self.weights = list(weights)
        self.buffer_arrays = list(buffers)
        #: False: a gate broadcast along every spatial axis (an SE gate) is held constant — global context, left
        #: out of the receptive field as the analytic RF does; so are the statistics of layer/group/instance norm
        self.gates = gates
        #: True: every activation passes the gradient unchanged (its mask held open): the structural influence
        #: of the receptive-field probe, where saturating activations (ReLU6 above 6, sigmoid's tails) would
        #: otherwise cut paths
        self.open_activations = open_activations

    def sub(self, node, weights=(), buffers=()) -> "GradContext":
        """The context of a layer nested inside this node (a mid layer, an SE activation), same modes."""
        return GradContext(node, self.dtype, weights, buffers, self.max_as_sum, self.gates, self.open_activations,
                           self.counting)

    def replay(self) -> Context:
        """A forward context that hands out this node's arrays again, in allocation order (to recompute the
        intermediate values of a composite kind)."""
        return Context(np.random.default_rng(0), self.dtype, "random", self.max_as_sum, self.node,
                       preset=(self.weights, self.buffer_arrays))


def crop(gxp: np.ndarray, pads, sizes) -> np.ndarray:
    """Drop the (before, after) padding of the spatial axes: the gradient of the real input positions."""
    if not any(b or a for b, a in pads) and tuple(gxp.shape[2:]) == tuple(sizes):
        return gxp
    return gxp[(slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n in zip(pads, sizes))]


def unpad(g: np.ndarray, sizes, pads, mode: str, first_axis: int = 2) -> np.ndarray:
    """The VJP of :func:`convcalc.executor.base.pad_in_mode`: the gradient of an input whose spatial axes (sizes
    ``sizes``) were padded by ``pads`` in ``mode``. Constant mode keeps the copied region (and zeros where a
    negative width cropped); the other modes add every padded position's gradient into the input position it copies,
    found by padding the positions 0 … N − 1 themselves with numpy.pad in that mode."""
    from ..base import NUMPY_PAD_MODES

    np_mode = NUMPY_PAD_MODES[mode]
    for axis, (n, (b, a)) in enumerate(zip(sizes, pads)):
        ax = first_axis + axis
        if np_mode == "constant":
            kept = g.take(np.arange(max(b, 0), g.shape[ax] - max(a, 0)), axis=ax)
            widths = [(0, 0)] * g.ndim
            widths[ax] = (max(-b, 0), max(-a, 0))
            g = np.pad(kept, widths) if any(widths[ax]) else kept
            continue
        source = np.pad(np.arange(n), (b, a), mode=np_mode)       # the input index each padded position copies
        matrix = np.zeros((len(source), n), dtype=g.dtype)
        matrix[np.arange(len(source)), source] = 1
        g = np.moveaxis(np.tensordot(g, matrix, axes=([ax], [0])), -1, ax)
    return g


def unpad_bytes(shape, sizes, pads, mode: str, itemsize: int, first_axis: int = 2) -> int:
    """The footprint of :func:`unpad` on a gradient of ``shape``: per axis the gradient so far (from the second
    axis on), and in constant mode the kept region and its re-padded copy, in the other modes the (len × N)
    matrix, the transposed copy tensordot makes and its result."""
    from ..base import NUMPY_PAD_MODES

    constant = NUMPY_PAD_MODES[mode] == "constant"
    shape, held, most = list(shape), 0, 0
    for axis, n in enumerate(sizes):
        ax = first_axis + axis
        before = nbytes(shape, itemsize)
        length = shape[ax]
        shape[ax] = n
        after = nbytes(shape, itemsize)
        extra = 2 * max(before, after) if constant else before + after + length * n * itemsize
        most = max(most, held + extra)
        held = after
    return most


def scatter_windows(per_tap, x_shape, kernel_size, stride, dilation, pads, out_sizes, dtype) -> np.ndarray:
    """The transpose of reading every tap of every window (im2col, a pool's windows): add each tap's gradient
    (``per_tap``, one ``(B, C, *N_out)`` array per tap in row-major order) into the padded input positions it read,
    then drop the padding: the gradient of an input of shape ``x_shape``."""
    sizes = x_shape[2:]
    gxp = np.zeros((*x_shape[:2], *(n + b + a for n, (b, a) in zip(sizes, pads))), dtype=dtype)
    for offsets, g in zip(taps_of(kernel_size), per_tap):
        gxp[window_index(offsets, dilation, out_sizes, stride)] += g
    return crop(gxp, pads, sizes)


def scatter_columns(cols: np.ndarray, x_shape, kernel_size, stride, dilation, pads, out_sizes, dtype) -> np.ndarray:
    """:func:`scatter_windows` for every tap at once: ``cols (B, C, Πk, ΠN_out)``, taps in row-major order (or
    ``(B, C, 1, ΠN_out)``: the same gradient for every tap), added into the padded input positions they read with
    one ``np.add.at`` (for few windows of many taps, :func:`~convcalc.executor.base.few_positions`)."""
    batch, channels, *sizes = x_shape
    padded = [n + b + a for n, (b, a) in zip(sizes, pads)]
    return crop(add_windows(cols, (batch, channels, *padded), kernel_size, stride, dilation, out_sizes, dtype),
                pads, sizes)


def reduce_to(g: np.ndarray, shape) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape`` (same rank; axes of size 1 in ``shape`` are summed)."""
    axes = tuple(a for a, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def scatter_add(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``target.flat[index] += values`` with repeated indices accumulated (``np.bincount``, much faster than
    ``np.add.at``)."""
    flat = target.reshape(-1)
    flat += np.bincount(index.reshape(-1), weights=values.reshape(-1), minlength=flat.size).astype(target.dtype)
