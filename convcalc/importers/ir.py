"""The importers' intermediate form: a model read from ONNX or PyTorch, as a list of convcalc layers.

A frontend (``onnx_*`` for ONNX files, ``torch_*`` for PyTorch modules) reads the model, maps every operator onto
a convcalc layer kind and returns an :class:`ImportedModel`. Everything after that is shared: ``writer`` turns it
into a spec a person can read (blocks, ``repeat``, the model's own names), the spec loader analyses it like any
other spec, and ``original`` checks it numerically against the model it came from (``verify --against-original``).

The contract between a frontend and the rest:

* ``layers`` are in a topological order; the last one is the network's output. Each name is unique and is the
  model's own (``layer1.0.conv1``); ``inputs`` name earlier layers or ``"input"``.
* ``fields`` are the layer's spec fields as a person would write them (ints, floats, words, lists; no tuples),
  with defaults left out, so the written spec is short and the loader applies the kind's own defaults.
* ``scope`` is the chain of enclosing modules, outermost first, as ``(path, class name)`` pairs
  (``(("layer1", "Sequential"), ("layer1.0", "Bottleneck"))``): the writer turns instances of one class with the
  same structure into one block. ONNX files carry the path in the node names or metadata; the class name may be
  empty there.
* ``origin`` says what the layer came from (``Conv node '/layer1/layer1.0/conv1/Conv'``, ``torch.nn.Conv2d``), for
  messages; ``tensor`` is the original's name for the value this layer computes (an ONNX tensor, an fx node), the
  key of :meth:`Original.run`'s result; empty when the original has no such value.
* ``arrays`` loads the layer's learnable arrays and buffers from the model, only when called (shapes come from the
  graph, so importing never reads the weights): ``(weights, buffers)``, each a list of NumPy arrays in the order
  and layout in which the executor's kernel for the kind allocates them, which is the order and layout of the
  matching ``torch.nn`` module's ``state_dict`` (a conv: weight ``(C_out, C_in/g, *k)`` then bias; batch norm:
  weight, bias, then running mean and variance as buffers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol


@dataclass
class ImportedLayer:
    """One layer of an imported model (see the module docstring for each field's contract)."""

    name: str
    kind: str
    fields: dict = field(default_factory=dict)
    inputs: list = field(default_factory=lambda: ["input"])
    scope: tuple = ()
    origin: str = ""
    tensor: str = ""
    arrays: Callable[[], tuple[list, list]] | None = None


@dataclass
class Unsupported:
    """Operators with no layer kind: their type, how many nodes have it, and the first few node names."""

    op: str
    count: int
    nodes: list


class Original(Protocol):
    """The model an import came from, ready to run (onnxruntime for ONNX, torch for a module)."""

    #: whether it can run in float64 (torch can; onnxruntime lacks float64 kernels for some ops)
    supports_float64: bool
    #: optional: when it cannot, why (a phrase the check's error shows, e.g. the operators with no float64 kernel)
    float64_unavailable: str = ""

    def run(self, x, dtype: str) -> dict:
        """Run on the batch ``x`` (a NumPy array, batch first) in ``dtype`` ("float32" or "float64"): the value of
        every tensor named by a layer's ``tensor``, as NumPy arrays, batch first."""


@dataclass
class ImportedModel:
    """A model read by a frontend: its layers, where it came from, and what could not be mapped."""

    name: str
    source: str                      # as the user gave it: `model.onnx`, `torch:pkg.mod:build`
    input_shape: tuple               # per sample, channels first: (C, H, W)
    layers: list                     # of ImportedLayer
    input_name: str = "input"        # the original's name for its input (an ONNX graph input, an fx placeholder)
    batch: int = 1
    unsupported: list = field(default_factory=list)   # of Unsupported, kept as zero-cost placeholders
    warnings: list = field(default_factory=list)      # plain sentences, printed to stderr
    #: loads the original, weights included, ready to run; None when the frontend cannot run it
    original: Callable[[], Original] | None = None
