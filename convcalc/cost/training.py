"""``convcalc cost --train``: the backward compute of one training step, per layer (docs/training.md).

Which layers do backward work (the rule, stated once here):

* a layer is **trainable** when it has params, its spec does not say ``trainable: false`` and no ``--freeze``
  pattern matches it (batch-norm and other affine params count: their weight gradients are elementwise FLOPs);
* its **input gradient** (dX) is needed iff some layer upstream of it (an ancestor in the graph) is trainable: the
  first layer, fed by the network input, has none, and neither has any layer before the first trainable one;
* its **weight gradient** (dW) is computed iff it is trainable;
* a layer **needs backward** when it needs either, and its output reaches the network's output.

The MACs of each come from the layer's kind (``backward_macs``, in its class next to ``counts``), per sample, times
the batch; so do its backward FLOPs (``backward_flops``, right after it: 2 per backward MAC, bias gradients and
the backward per-op table of :mod:`convcalc.cost.conventions`). A layer that needs no backward contributes 0; one
whose input gradient is not needed skips that part, a frozen one its parameter gradients. The executor's training pass (:mod:`convcalc.executor.backward.train`) counts the same from what it
computes, and ``convcalc verify --train`` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from ..errors import SpecError


@dataclass
class LayerTraining:
    """One layer's backward compute for the whole batch (exact ints)."""

    name: str
    type: str
    trainable: bool
    needs_input_grad: bool
    needs_backward: bool
    dx_macs: int
    dw_macs: int
    backward_flops: int = 0

    @property
    def backward_macs(self) -> int:
        return self.dx_macs + self.dw_macs

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "trainable": self.trainable,
                "needs_input_grad": self.needs_input_grad, "needs_backward": self.needs_backward,
                "dx_macs": self.dx_macs, "dw_macs": self.dw_macs, "backward_macs": self.backward_macs,
                "backward_flops": self.backward_flops}


@dataclass
class TrainingCompute:
    """The backward compute of a network: one :class:`LayerTraining` per layer, in graph order."""

    name: str
    batch: int
    layers: list[LayerTraining]
    frozen: list[str] = field(default_factory=list)   # the layers with params that are frozen
    forward_macs: int = 0
    forward_flops: int = 0

    def totals(self) -> dict:
        dx = sum(row.dx_macs for row in self.layers)
        dw = sum(row.dw_macs for row in self.layers)
        backward_flops = sum(row.backward_flops for row in self.layers)
        return {"forward_macs": self.forward_macs, "dx_macs": dx, "dw_macs": dw, "backward_macs": dx + dw,
                "training_macs": self.forward_macs + dx + dw,
                "forward_flops": self.forward_flops, "backward_flops": backward_flops,
                "training_flops": self.forward_flops + backward_flops,
                "trainable_layers": sum(row.trainable for row in self.layers), "frozen_layers": len(self.frozen)}

    def layer(self, name: str) -> LayerTraining:
        return next(row for row in self.layers if row.name == name)

    def to_dict(self) -> dict:
        return {"batch": self.batch, "frozen": list(self.frozen), "totals": self.totals(),
                "layers": [row.to_dict() for row in self.layers]}


def _matches(pattern: str, name: str) -> bool:
    """A layer name or glob (``fnmatch``, case-sensitive), matched against the full name or any block prefix of it
    (``layer1`` freezes ``layer1.0.conv1``)."""
    parts = name.split(".")
    return any(fnmatchcase(".".join(parts[:i]), pattern) for i in range(1, len(parts) + 1))


def frozen_names(graph, patterns) -> set[str]:
    """The layers that ``--freeze`` patterns and ``trainable: false`` keys freeze; a pattern matching no layer is
    an error naming the option."""
    names = {node.name for node in graph.nodes if not node.trainable}
    for pattern in patterns or ():
        hits = {node.name for node in graph.nodes if _matches(pattern, node.name)}
        if not hits:
            sample = ", ".join(node.name for node in graph.nodes[:4])
            raise SpecError(f"--freeze {pattern}: matches no layer of `{graph.name}`", None,
                            f"give a layer name or a glob such as `layer1.*` (layers: {sample}, …; "
                            "`convcalc analyze` lists them)")
        names |= hits
    return names


def training(graph, report=None, freeze=()) -> TrainingCompute:
    """Per layer: trainable, which gradients it needs, and its dX and dW MACs for ``graph.batch`` samples."""
    from ..layers import REGISTRY
    from ..layers.base import Layer, own
    from .analysis import analyze

    report = report if report is not None else analyze(graph)
    frozen = frozen_names(graph, freeze)
    rows = {row.name: row for row in report.layers}
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})
    output = graph.output or (graph.nodes[-1].name if graph.nodes else graph.input_name)
    reaches = {output}
    for node in reversed(graph.nodes):
        if node.name in reaches:
            reaches.update(node.inputs)
    upstream_trainable = {graph.input_name: False}   # name → a trainable layer at or above it
    layers, frozen_with_params = [], []
    for node in graph.nodes:
        row = rows[node.name]
        cls = REGISTRY[node.kind]
        if cls.placeholder:
            raise SpecError(f"layer `{node.name}` stands in for an operator convcalc has no kind for: its backward "
                            "compute is unknown", node.mark, "`convcalc cost --train` needs every layer described")
        trainable = bool(row.params) and node.name not in frozen
        if row.params and node.name in frozen:
            frozen_with_params.append(node.name)
        input_grad = any(upstream_trainable[name] for name in node.inputs)
        upstream_trainable[node.name] = input_grad or trainable
        live = node.name in reaches
        input_grad, trainable_live = input_grad and live, trainable and live
        answer = own(cls, "backward_macs") or Layer.backward_macs
        flops_answer = own(cls, "backward_flops") or Layer.backward_flops
        if input_grad or trainable_live:
            layer, ins = cls(node), [shapes[name] for name in node.inputs]
            dx, dw = answer(layer, ins, input_grad, trainable_live)
            flops = flops_answer(layer, ins, input_grad, trainable_live)
        else:
            dx = dw = flops = 0
        layers.append(LayerTraining(node.name, node.kind, trainable, input_grad, input_grad or trainable_live,
                                    dx * graph.batch, dw * graph.batch, flops * graph.batch))
    forward = sum(row.macs for row in report.layers)
    forward_flops = sum(row.flops for row in report.layers)
    return TrainingCompute(graph.name, graph.batch, layers, frozen_with_params, forward, forward_flops)
