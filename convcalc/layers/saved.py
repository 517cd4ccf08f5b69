"""What a kind answers when ``convcalc cost --train`` asks what its backward pass needs
(:mod:`convcalc.cost.train_memory`; the table with its sources is docs/training.md, "Training memory").

A kind answers ``saved_for_backward(ins)`` with a :class:`SavedTensors`: the tensors autograd keeps from the
forward pass for the layer's backward (what PyTorch's derivative formulas in ``tools/autograd/derivatives.yaml``
save, as measured with ``torch.autograd.graph.saved_tensors_hooks``), and whether its output is a view of its input
(flatten, permute, a channel slice: no new storage). Each saved tensor names *which* tensor it is, so that a tensor
saved by several layers (a ReLU's output that the next conv saves as its input) is counted once, as its storage is:

* ``in0``, ``in1``, … — the layer's inputs (their storage is the producing layer's output);
* ``out`` — the layer's output;
* any other name — a tensor the layer makes for its backward (max pooling's indices, batch norm's per-channel mean
  and 1/σ, dropout's mask, a composite's inner stage outputs), with its elements per sample (or in all, with
  ``per_sample=False``) and its dtype.

Weights are parameters, not saved activations: never listed. It is an own answer
(:func:`convcalc.layers.base.own`): a kind without one is an error of ``--train``, never zero.
"""

from __future__ import annotations

from math import prod

#: dtypes of saved tensors: ``data`` is the activations' (the training precision); the others are fixed
FIXED_DTYPE_BYTES = {"int64": 8, "bool": 1, "float32": 4}


class Saved:
    """One tensor kept for backward: ``tensor`` (``in0``, ``out`` or a name of the layer's own), ``what`` it is
    (printed), its ``elements`` (own tensors only), ``dtype`` (``data`` or a key of :data:`FIXED_DTYPE_BYTES`),
    ``per_sample`` (elements per sample, times the batch; False: in all) and ``when``: ``always`` (whenever the
    layer runs backward) or ``trainable`` (only when its own params get gradients: linear's input serves dW only)."""

    __slots__ = ("tensor", "what", "elements", "dtype", "per_sample", "when")

    def __init__(self, tensor: str, what: str, elements: int | None = None, dtype: str = "data",
                 per_sample: bool = True, when: str = "always"):
        self.tensor, self.what, self.elements, self.dtype = tensor, what, elements, dtype
        self.per_sample, self.when = per_sample, when

    def __repr__(self):
        return f"Saved({self.tensor!r}, {self.what!r}, {self.elements!r}, {self.dtype!r})"


class SavedTensors:
    """A kind's answer: the tensors it saves, and ``alias``: None (its output is a new tensor), ``view`` (its output
    shares its first input's storage), ``strided`` (a view that is not contiguous: a permute, a channel slice) or
    ``if_contiguous`` (a view when the input is contiguous, else a copy, as ``torch.reshape``)."""

    __slots__ = ("saved", "alias")

    def __init__(self, saved: tuple[Saved, ...] = (), alias: str | None = None):
        self.saved, self.alias = tuple(saved), alias


NOTHING = SavedTensors()


def saves(*items: Saved) -> SavedTensors:
    return SavedTensors(items)


def input_(index: int = 0, what: str = "input", when: str = "always") -> Saved:
    return Saved(f"in{index}", what, when=when)


def output(what: str = "output") -> Saved:
    return Saved("out", what)


def own(name: str, what: str, elements: int, dtype: str = "data", per_sample: bool = True) -> Saved:
    return Saved(name, what, elements, dtype, per_sample)


# ---- answers shared by many kinds (assigned in their class bodies: ``saved_for_backward = saves_input``) ----------
def saves_nothing(self, ins) -> SavedTensors:
    """Nothing: the gradient needs only shapes (add, concat, a copy or rearrangement)."""
    return NOTHING


def saves_input(self, ins) -> SavedTensors:
    """Its input: the derivative is a function of x (GELU, SiLU, leaky ReLU, …)."""
    return saves(input_())


def saves_output(self, ins) -> SavedTensors:
    """Its output: the derivative is a function of y (ReLU, sigmoid, tanh, softmax)."""
    return saves(output())


def is_view(self, ins) -> SavedTensors:
    """Nothing, and its output is a view of its input (no new storage)."""
    return SavedTensors((), "view")


def is_strided_view(self, ins) -> SavedTensors:
    """Nothing, and its output is a strided (non-contiguous) view of its input: a permute, a channel slice."""
    return SavedTensors((), "strided")


def is_reshape(self, ins) -> SavedTensors:
    """Nothing, and its output is a view of a contiguous input (a copy of a permuted one), as ``torch.reshape``."""
    return SavedTensors((), "if_contiguous")


def elements(shape) -> int:
    return prod(shape)
