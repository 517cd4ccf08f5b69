"""The executor's peak memory, worked out before running: what :func:`convcalc.executor.run` and
:func:`convcalc.executor.backward.backward` hold at their busiest moment, from the shapes alone.

Each kernel declares its footprint next to its code (:func:`~convcalc.executor.base.footprint`: the most bytes it
holds at once while it runs, its output included), and so does each VJP
(:func:`~convcalc.executor.backward.base.vjp_footprint`). This module adds what the run itself holds, following
the same rules as the run:

* forward (:func:`forward_peak`): the input (drawn in float64, then cast to the run's dtype), every node's weights
  and buffers (kept in ``Execution.weights`` / ``.buffers`` to the end), the values still to be read by a later node
  (all of them with ``keep``), and the running node's footprint;
* backward (:func:`backward_peak`): the kept forward (every value and array), the seed, the gradients waiting for
  their node, the node's gradient (and its rescaled copy), and the VJP's footprint; then the sum of a gradient
  into one already waiting.

The resident set follows these bytes only if freed arrays go back to the system: glibc's allocator otherwise
raises its mmap threshold after the first large free and serves later arrays from a heap that it keeps when they
are freed (a run after another one was measured at 1.4 times its arrays). A caller that guards memory with these
estimates (``convcalc verify``, the measured ERF) calls :func:`release_freed_arrays` first; it costs the kernel's
fresh pages for every large array (``convcalc verify`` of resnet18 or mobilenet_v2 at 224×224 took 30–50 % longer),
so :func:`convcalc.executor.run` itself does not.

The shapes come from the caller (the cost model's, which ``convcalc verify`` checks equal the executor's): this
module, like the executor, never imports the cost model. An upper bound: NumPy may elide temporaries or leave
zero pages untouched, and the estimate counts them all. A kind without a footprint is an error, never zero.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping

import numpy as np

from ..spec.graph import Graph
from .base import FOOTPRINTS, Context, nbytes, stand_in

#: bytes per element of the input the executor draws (standard normal in float64, then cast)
DRAWN_ITEMSIZE = 8
#: NumPy's iteration buffers, which a kernel's ufuncs may hold beside its arrays: ``numpy.getbufsize()`` (8192)
#: elements per operand, up to four operands of float64
BUFFER_BYTES = 4 * 8192 * 8


#: glibc's mallopt parameter, and the value fixed: arrays from 128 KiB (glibc's default threshold) are mapped
#: and unmapped, never kept in the heap
M_MMAP_THRESHOLD, MMAP_THRESHOLD = -3, 128 * 2**10
_released: list = []


def release_freed_arrays() -> bool:
    """Have the C library return every freed large array to the system at once (glibc: a fixed mmap threshold,
    which also stops it raising the threshold as large arrays are freed), so that the peak resident set is the peak
    of the arrays alive. Once per process; False where the C library has no ``mallopt`` (nothing changed)."""
    if not _released:
        try:
            mallopt = ctypes.CDLL(None).mallopt
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            _released.append(bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)))
        except (OSError, AttributeError):
            _released.append(False)
    return _released[0]


def _missing(what: str, node) -> Exception:
    return RuntimeError(f"layer `{node.name}`: the executor's {what} of kind `{node.kind}` declares no memory "
                        f"footprint (add one next to it in convcalc/executor/)")


def node_footprint(node, in_shapes, out_shape, dtype, max_as_sum: bool = False) -> int:
    """The footprint of ``node``'s kernel on batched inputs ``in_shapes`` giving ``out_shape``, NumPy's buffers
    included."""
    fn = FOOTPRINTS.get(node.kind)
    if fn is None:
        raise _missing("kernel", node)
    ctx = Context(None, dtype, "random", max_as_sum, node)
    return int(fn(ctx, node, [stand_in(s, dtype) for s in in_shapes], stand_in(out_shape, dtype))) + BUFFER_BYTES


def _batched(graph: Graph, shapes: Mapping, batch: int) -> dict:
    return {name: (batch, *shape) for name, shape in shapes.items()}


def _last_use(graph: Graph) -> dict:
    last = {graph.input_name: -1}
    for index, node in enumerate(graph.nodes):
        for name in node.inputs:
            last[name] = index
    return last


def forward_peak(graph: Graph, shapes: Mapping, arrays: Mapping, dtype: str = "float32", keep: bool = False,
                 max_as_sum: bool = False, given_input: bool = False) -> int:
    """Peak bytes of ``run(graph, dtype=dtype, keep=keep, max_as_sum=max_as_sum)``.

    ``shapes``: per-sample output shape of every node, and of ``graph.input_name``; ``arrays``: elements of the
    weights and buffers each node allocates. ``given_input``: the caller passes ``x`` in the run's dtype (no
    float64 draw)."""
    itemsize = np.dtype(dtype).itemsize
    batched = _batched(graph, shapes, graph.batch)
    sizes = {name: nbytes(shape, itemsize) for name, shape in batched.items()}
    x = sizes[graph.input_name]
    drawn = 0 if given_input else nbytes(batched[graph.input_name], DRAWN_ITEMSIZE)
    peak = drawn + (x if itemsize != DRAWN_ITEMSIZE or given_input else 0)
    last_use = _last_use(graph)
    output = graph.output or (graph.nodes[-1].name if graph.nodes else graph.input_name)
    live = {graph.input_name: x}
    held = 0  # weights and buffers, kept to the end
    for index, node in enumerate(graph.nodes):
        held += int(arrays.get(node.name, 0)) * itemsize
        work = node_footprint(node, [batched[name] for name in node.inputs], batched[node.name], dtype, max_as_sum)
        peak = max(peak, held + sum(live.values()) + work)
        live[node.name] = sizes[node.name]
        if not keep:
            for name in set(node.inputs) | {node.name}:
                if last_use.get(name, index) <= index and name != output:
                    live.pop(name, None)
    return peak


def backward_peak(graph: Graph, shapes: Mapping, arrays: Mapping, layer: str, dtype: str = "float64",
                  max_as_sum: bool = False, gates: bool = True, rescale: bool = False,
                  open_activations: bool = False, after: int = 0) -> int:
    """Peak bytes of ``input_gradient(graph, run(graph, keep=True, …), layer, …)``: the kept forward run, then the
    backward pass from ``layer``, with the modes of :func:`convcalc.executor.backward.backward`; ``shapes`` and
    ``arrays`` as for :func:`forward_peak` (the forward with the input given, as the probes run it). ``after``:
    what the caller then allocates beside the kept run and the input gradient."""
    from .backward.base import VJP_FOOTPRINTS, GradContext, passes_through

    itemsize = np.dtype(dtype).itemsize
    forward = forward_peak(graph, shapes, arrays, dtype, keep=True, max_as_sum=max_as_sum, given_input=True)
    batched = _batched(graph, shapes, graph.batch)
    sizes = {name: nbytes(shape, itemsize) for name, shape in batched.items()}
    order = [node.name for node in graph.nodes]
    nodes = graph.nodes[: order.index(layer) + 1]
    kept = sizes[graph.input_name] + sum(sizes[node.name] + int(arrays.get(node.name, 0)) * itemsize
                                         for node in graph.nodes)
    waiting = {layer: sizes[layer]}  # the seed
    peak = kept + sizes[layer]
    for node in reversed(nodes):
        gy = waiting.pop(node.name, None)
        if gy is None:
            continue
        ctx = GradContext(node, dtype, (), (), max_as_sum, gates, open_activations)
        if passes_through(ctx, node):
            work = 0
        else:
            fn = VJP_FOOTPRINTS.get(node.kind)
            if fn is None:
                raise _missing("VJP", node)
            stand = [stand_in(batched[name], dtype) for name in node.inputs]
            y = stand_in(batched[node.name], dtype)
            work = int(fn(ctx, node, stand, y, y)) + BUFFER_BYTES
        copies = gy * (2 if rescale else 1)  # the gradient, and its rescaled copy
        pending = sum(waiting.values())
        peak = max(peak, kept + pending + copies + work)
        # each input's gradient joins the waiting ones: a sum of two allocates a third (and a cast, one more)
        incoming = sum(sizes[name] for name in node.inputs)
        joined = sum(sizes[name] for name in node.inputs if name in waiting)
        cast = incoming if itemsize < 8 else 0
        peak = max(peak, kept + pending + incoming + joined + cast)
        for name in node.inputs:
            waiting[name] = sizes[name]
    # the input gradient (or zeros) next to the kept run, and what the caller makes of it
    return max(forward, peak, kept + sizes[graph.input_name] + after)
