"""A small NumPy executor: runs an expanded network on arrays and counts what it actually did.

It is the independent witness for the cost model (``convcalc.layers``), so it never imports it: every shape rule
is re-derived from the definitions, and every count is read off the work performed::

    from convcalc.executor import run
    ex = run(graph, seed=0)          # graph from convcalc.cost.analysis.expand(...)
    ex.layers[i].output_shape        # per sample, read off the result array
    ex.layers[i].params              # sizes of the learnable arrays the kernel allocated
    ex.layers[i].macs                # M·K·N of every GEMM, or the products of every weighted sum, whole batch

Kernels live one module per family, as the layer kinds in ``convcalc/layers/`` do (conv, factorised, deformable,
unshared, linear, pool, elementwise, scale, norm, excitation, channel, merge, resample), and register themselves
with :func:`convcalc.executor.base.kernel`; kinds sharing a function differ by the options given there, never by a
test of ``node.kind`` in the kernel.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError, escaped, shorten
from ..spec.graph import Graph
from . import (channel, conv, deformable, elementwise, excitation, factorised, linear, merge, norm,  # noqa: F401
               placeholder, pool, resample, reshape, scale, unshared)  # (registers the kernels)
from .base import KERNELS, Context, PresetMismatch, kernel

__all__ = ["run", "KERNELS", "Execution", "Executed", "Context", "PresetMismatch", "Preset", "kernel"]

DTYPES = ("float32", "float64")


@dataclass
class Executed:
    """What the executor did for one node. ``output_shape`` is per sample; ``macs`` is for the whole batch."""

    name: str
    type: str
    output_shape: tuple
    params: int
    buffers: int
    macs: int
    seconds: float


@dataclass
class Execution:
    """The result of :func:`run`.

    ``weights[name]``: the learnable arrays the node allocated, in allocation order (conv: weight
    ``(C_out, C_in/g, *k)`` then bias; conv_transpose: weight ``(C_in, C_out/g, *k)`` then bias; linear:
    ``(out, in)`` then bias; the normalisation kinds: γ then β; prelu: the slopes ``(num_parameters,)``;
    layer_scale: γ ``(C,)``; bias_add: β ``(C,)``). ``buffers[name]``: its buffers (batchnorm, instancenorm:
    running mean, running variance; layer_scale and bias_add with ``learnable: false``: their ``(C,)`` array).
    ``values`` holds every node's output (and the input) only when run with ``keep=True``.
    """

    layers: list[Executed]
    output: np.ndarray
    input: np.ndarray
    weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    buffers: dict[str, list[np.ndarray]] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    max_as_sum: bool = False  # how the run treated max/min pooling (the backward pass routes accordingly)

    def layer(self, name: str) -> Executed:
        for executed in self.layers:
            if executed.name == name:
                return executed
        raise KeyError(name)


def node_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one node: depends only on the seed and the node's name, so a node's weights do not
    change when other layers are added or removed."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8"))])


#: given arrays per node name: ``(weights, buffers)``, each a list in the order the node's kernel allocates them
Preset = Mapping[str, tuple[Sequence[np.ndarray], Sequence[np.ndarray]]]


def run(graph: Graph, seed: int = 0, dtype: str = "float32", x: np.ndarray | None = None,
        weights: str | Execution | Preset = "random", max_as_sum: bool = False, keep: bool = False,
        progress=None) -> Execution:
    """Run ``graph`` forward on a batch and count the work.

    ``x``: input of shape ``(batch, *graph.input_shape)``; default a seeded standard-normal batch of
    ``graph.batch`` samples. ``weights``: ``"random"``, ``"ones"`` (all-ones weights, zero biases, batch norm
    = identity), or given arrays: an earlier :class:`Execution` of the same graph whose weights and buffers are
    reused (to time the forward pass alone), or a :data:`Preset` mapping node names to ``(weights, buffers)``
    (a model's real weights, ``verify --against-original``). Given arrays are used as they are, in the run's
    dtype, and must be exactly what each node's kernel allocates (a node missing from the mapping is given none):
    otherwise :class:`~convcalc.executor.base.PresetMismatch` names the node and both lists of shapes.
    ``max_as_sum``: max/min pooling sums its window instead (the receptive-field probe). ``progress``: optional
    callable ``progress(index, node)`` called before each node.
    """
    if dtype not in DTYPES:
        raise SpecError(f"the executor runs in float32 or float64, not `{escaped(shorten(str(dtype)))}`", None,
                        "use --dtype float32 or --dtype float64")
    preset = None
    if isinstance(weights, Execution):
        preset = {name: (arrays, weights.buffers.get(name, [])) for name, arrays in weights.weights.items()}
    elif isinstance(weights, Mapping):
        preset = weights
    elif weights not in ("random", "ones"):
        raise ValueError(f"weights must be 'random', 'ones', an Execution or a preset mapping, not {weights!r}")
    if preset is not None:
        weights = "random"
    np_dtype = np.dtype(dtype)
    if x is None:
        shape = (graph.batch, *graph.input_shape)
        x = node_rng(seed, "\0input:" + graph.input_name).standard_normal(shape, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np_dtype)
    if tuple(x.shape[1:]) != tuple(graph.input_shape):
        raise SpecError(f"the input array has per-sample shape {tuple(x.shape[1:])}, but the network expects "
                        f"{tuple(graph.input_shape)}", None, "give an array of shape (batch, *input)")

    last_use = {graph.input_name: -1}
    for index, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_use[name] = index
    output_name = graph.output or (graph.nodes[-1].name if graph.nodes else graph.input_name)

    live = {graph.input_name: x}
    values = {graph.input_name: x} if keep else {}
    layers, all_weights, all_buffers = [], {}, {}
    started = time.perf_counter()
    for index, node in enumerate(graph.nodes):
        fn = KERNELS.get(node.kind)
        if fn is None:
            raise SpecError(f"layer `{node.name}`: the executor has no kernel for layer kind `{node.kind}`",
                            node.mark, "add a kernel for it in convcalc/executor/ (each layer kind needs one)")
        if progress is not None:
            progress(index, node)
        given = preset.get(node.name, ((), ())) if preset is not None else None
        ctx = Context(node_rng(seed, node.name), np_dtype, weights, max_as_sum, node, given)
        xs = [live[name] for name in node.inputs]
        t0 = time.perf_counter()
        y = fn(ctx, node, xs)
        seconds = time.perf_counter() - t0
        ctx.check_preset()
        if y.dtype != np_dtype:
            y = y.astype(np_dtype)
        live[node.name] = y
        if keep:
            values[node.name] = y
        all_weights[node.name] = ctx.weights
        all_buffers[node.name] = ctx.buffer_arrays
        layers.append(Executed(node.name, node.kind, tuple(int(n) for n in y.shape[1:]), ctx.params,
                               ctx.buffers, ctx.mac_count, seconds))
        for name in set(node.inputs) | {node.name}:  # free what no later node reads
            if last_use.get(name, index) <= index and name != output_name:
                live.pop(name, None)
    output = live.get(output_name, x)
    return Execution(layers=layers, output=output, input=x, weights=all_weights, buffers=all_buffers,
                     values=values, seconds=time.perf_counter() - started, max_as_sum=bool(max_as_sum))
