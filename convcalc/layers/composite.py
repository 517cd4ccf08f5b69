"""Helpers of the composite kinds: layers made of stages (depthwise separable, spatially separable, flattened,
squeeze-and-excitation, deformable).

A composite kind is one row in the report. It lists its :class:`Stage` objects (:meth:`Staged.stages`, each with
counts written with the quantities of :mod:`convcalc.layers.formula`); its counts are their sums, and
``details()["sub_rows"]`` lists them (name, type, output_shape, params, macs, flops — per sample), which the table
renderer prints indented under the row. Stages that are plain convolutions use
:func:`convcalc.layers.conv.conv_counts`; shape-keeping inner layers (``mid:``) are written as a :class:`SubLayers`
field and counted by their own kinds.
"""

from __future__ import annotations

from ..errors import KINDS_LISTING, SpecError, did_you_mean
from ..spec.fields import Field
from ..spec.yamlio import YBool, YMap
from .base import REGISTRY
from .conv import Conv, as_itself
from .formula import NUMERIC, Counts


#: the stage types that are matrix products (:meth:`Staged.gemm_flops`); a ``conv`` stage has ≥ 2 input channels per
#: group (the one-channel stages are typed ``depthwise``)
GEMM_STAGES = frozenset({"conv", "pointwise", "linear"})


class Stage:
    """One stage of a composite kind: its name, the kind it acts as, its output shape (per sample), its counts, and
    ``note``: what the stage's own symbols mean, printed with its formula."""

    __slots__ = ("name", "type", "output_shape", "counts", "note")

    def __init__(self, name: str, type: str, output_shape: tuple, counts: Counts, note: str = ""):
        self.name, self.type, self.output_shape, self.counts, self.note = name, type, output_shape, counts, note


class Staged:
    """Mixin of the composite kinds: their counts are the sums of their :meth:`stages`, each named after its stage
    (so the printed formula reads ``depthwise + pointwise`` with each stage defined below it)."""

    def stages(self, ins, q=NUMERIC) -> list[Stage]:
        raise NotImplementedError

    def counts(self, ins, q=NUMERIC):
        stages = self.stages(ins, q)
        return Counts(*(sum(q.named(stage.name, stage.counts[i], note=stage.note) for stage in stages)
                        for i in range(4)))

    def gemm_flops(self, ins):
        """The FLOPs of its matrix-product stages (``conv``, ``pointwise``, ``linear``: each a GEMM, as the kinds
        they act as are); its ``depthwise`` stages, sampling, pooling and elementwise stages are vector work."""
        return sum(stage.counts.flops for stage in self.stages(ins) if stage.type in GEMM_STAGES)

    def backward_macs(self, ins, input_grad=True, trainable=True):
        """``(dX, dW)`` per sample, stage by stage: each conv or linear stage's input gradient and weight gradient
        cost its forward MACs. A stage's input gradient is needed when the layer's is, or, in a trainable layer,
        when a stage with params comes before it (its weight gradient needs the gradient to flow back to it): a
        trainable separable conv fed by the network input still computes the second stage's input gradient."""
        dx = dw = 0
        weighted_before = False
        for stage in self.stages(ins):
            macs = stage.counts.macs
            if input_grad or (trainable and weighted_before):
                dx += macs
            if trainable:
                dw += macs
            weighted_before = weighted_before or bool(stage.counts.params)
        return dx, dw

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """2 FLOPs per backward MAC (:meth:`backward_macs`), plus the stages' other forward FLOPs (bias adds, inner
        activations and norms, the gate's multiply) once more for their backward: the bias gradients' adds when
        trainable, the elementwise stages at their forward cost. An approximation for the elementwise stages
        (docs/flops.md, "Backward"): the stages are not layers of their own, so they do not answer the table."""
        counts = self.counts(ins)
        dx, dw = self.backward_macs(ins, input_grad, trainable)
        return 2 * (dx + dw) + (counts.flops - 2 * counts.macs if (input_grad or trainable) else 0)

    def sub_rows(self, ins) -> list[dict]:
        """The stages as the JSON report lists them (per sample)."""
        return [{"name": s.name, "type": s.type, "output_shape": list(s.output_shape), "params": s.counts.params,
                 "macs": s.counts.macs, "flops": s.counts.flops} for s in self.stages(ins)]

    def details(self, ins):
        return {"sub_rows": self.sub_rows(ins)}


class ConvVariant(Staged, Conv):
    """A variant that reads a conv's fields (out, kernel, stride, padding, dilation, bias) and has no groups, so
    that ``compare --as`` can swap it in for a conv. Its overall window is the conv's: same output shape and RF."""

    groups = None
    written_as = as_itself
    padding_mode = None  # its stages are convcalc's own; their kernels pad with zeros

    def group_count(self, c_in):
        return 1


class SubLayers(Field):
    """Shape-keeping layers inside a composite kind: a list of kind names or ``{type: …, key: value}`` mappings.

    Normalised to a tuple of ``(kind, fields)`` pairs, each field coerced as in a top-level layer.
    """

    type_name = "list of layers"
    takes_list = True  # under `repeat: N` a list of N names is still one value (convcalc.spec)

    @staticmethod
    def allowed(cls) -> bool:
        """Whether kind ``cls`` may be a sub-layer: one input, shape-keeping (normalisation, activation, other)."""
        return cls.arity == (1, 1) and cls.family in ("activation", "norm", "other")

    def value_schema(self):
        kinds = sorted(kind for kind, cls in REGISTRY.items() if self.allowed(cls))
        return {"type": "array", "items": {"anyOf": [
            {"enum": kinds},
            {"type": "object", "required": ["type"], "properties": {"type": {"enum": kinds}}}]}}

    def coerce(self, value, mark, evaluate):
        if not isinstance(value, list):
            self._fail("expects a list of layers", mark, "write e.g. `mid: [batchnorm, relu]`")
        out = []
        for index, item in enumerate(value):
            item_mark = value.mark_of(index) if hasattr(value, "mark_of") else mark
            if isinstance(item, YBool):
                item = item.word
            if isinstance(item, str):
                kind, given = item, {}
            elif isinstance(item, (dict, YMap)) and "type" in item:
                kind, given = item["type"], {k: v for k, v in item.items() if k != "type"}
            else:
                self._fail("entries must be kind names or `{type: …}` mappings", item_mark,
                           "write e.g. `mid: [batchnorm, {type: leaky_relu, negative_slope: 0.1}]`")
            cls = REGISTRY.get(kind)
            if cls is None:
                raise SpecError(f"`{self.name}`: unknown layer type `{kind}`", item_mark,
                                did_you_mean(str(kind), REGISTRY, KINDS_LISTING))
            if not self.allowed(cls):
                self._fail(f"entry `{kind}` is not a shape-keeping layer", item_mark,
                           "use normalisation, activation, dropout or identity layers here")
            fields = {}
            for key in given:
                if key not in cls.fields:
                    raise SpecError(f"`{kind}` has no key `{key}`", item_mark, did_you_mean(str(key), cls.fields))
            for key, field_obj in cls.fields.items():
                if key in given:
                    fields[key] = field_obj.coerce(given[key], item_mark, evaluate)
                elif field_obj.required:
                    raise SpecError(f"`{kind}` in `{self.name}` is missing `{key}`", item_mark, f"add `{key}:`")
                else:
                    fields[key] = field_obj.default
            out.append((kind, fields))
        return tuple(out)


