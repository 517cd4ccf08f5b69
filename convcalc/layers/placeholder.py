"""Placeholders: an imported operator that no layer kind describes, kept so that the rest of the model is counted.

``convcalc import --allow-unsupported`` (docs/import.md) writes such an operator as ``type: unsupported``, with the
operator (``op``), the shape of its output (``shape``, read off the original's graph) and the original's node name
(``of``). The layers around it are counted exactly; the placeholder itself is counted as zero because its cost is
*unknown*, not because it is free, so every report says so: the analysis lists it (``Report.unsupported``), the
JSON has a top-level ``unsupported`` list, the table a line under the totals, and a warning goes to stderr.

It has no definition to run: the executor's kernel for it refuses (``convcalc verify`` and the measured ERF stop
before running, naming the layer and the operator), it has no VJP and no analytic-ERF rule, and its receptive
field is marked not tracked from here on (the analytic ERF refuses every unit downstream).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import ClassVar

from ..spec.fields import Text
from .base import Example, Layer, register
from .reshape import IntList


@register
class Unsupported(Layer):
    """A zero-cost stand-in for an operator with no layer kind (``torch.cumsum``, ONNX ``CumSum``)::

        shape  → ``shape`` (the original's output shape, per sample)
        params = buffers = MACs = FLOPs = 0  (unknown: listed in the report, never a silent zero)

    RF: not tracked from here on (the output of an unknown operator may depend on any input position); the values
    carried are its first input's, marked position-dependent, and the analytic ERF cannot follow it.
    """

    kind = "unsupported"
    summary = "placeholder for an imported operator with no layer kind: zero cost, listed as unsupported"
    family = "placeholder"
    arity = (1, None)
    any_layout = True  # it reads nothing by role: whatever its inputs' layout, its field is untracked
    placeholder: ClassVar[bool] = True
    example = Example((4, 5, 5), {"op": "CumSum", "shape": [4, 5, 5], "of": "/cumsum/CumSum"})
    shape_rule = "the given `shape` (the original's output)"
    rf_rule = "not tracked from here (an unknown operator)"
    op = Text(doc="the operator it stands in for (`torch.cumsum`, ONNX `CumSum`)")
    shape = IntList(min=1, doc="the per-sample output shape, as the original computes it")
    of = Text(default="", doc="the original's node name")

    def output_shape(self, ins):
        return tuple(self.shape)

    def stands_in_for(self) -> tuple[str, str]:
        return self.op, self.of

    def describe(self) -> str:
        """``torch.cumsum (node 'cumsum')``: the operator and, when known, the original's node."""
        return f"{self.op} (node '{self.of}')" if self.of else self.op

    def receptive_field(self, rfs, ins):
        """Its first input's values, marked not tracked: the note is the layer's warning (the analysis adds it) and
        the reason the analytic ERF gives for refusing a unit downstream."""
        note = (f"a placeholder for {self.describe()}, an operator with no layer kind: counted as zero (its params, "
                "MACs and FLOPs are unknown), and the receptive field is not tracked from here")
        rf = rfs[0].untracked_from(note)
        out = self.output_shape(ins)
        if len(out) in (1, len(rf.size) + 1):
            return rf
        from ..cost import layout  # another rank than the input's grid: its layout is explicit

        return rf.replaced(layout=layout.standard(out, len(rf.size)))

    def details(self, ins):
        return {"op": self.op, "of": self.of}
