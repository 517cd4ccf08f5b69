"""The expanded network: a list of nodes in topological order (what the spec reader produces).

Both the cost model and the executor consume this; it holds parsed, validated values and no formulas.
"""

from __future__ import annotations

from ..records import field, record
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any

from ..errors import Mark, real_mark


@record
class Node:
    """One layer after blocks, repeats, `when:` and expressions are expanded.

    ``fields`` maps each YAML key of the kind to its normalised value (defaults filled in).
    ``path`` is the chain of block instances the layer sits in, outermost first (empty at top level).
    """

    name: str
    kind: str
    fields: dict[str, Any]
    inputs: list[str]
    mark: Mark
    field_marks: dict[str, Any] = field(default_factory=dict)  # Mark or LazyMark; read them with mark_of()
    path: tuple[str, ...] = ()
    #: warnings found while expanding the spec (its wiring), reported with the layer's own
    notes: list[str] = field(default_factory=list)
    #: the keys whose value is a flat `defaults:` entry (`defaults: {bias: false}`), not the layer's own value nor a
    #: per-kind default: the analysis warns where that changes a kind's own default (docs/spec.md, "defaults")
    flat_defaults: tuple[str, ...] = ()
    #: False: the spec's `trainable: false` (its params frozen for `convcalc cost --train`, docs/training.md)
    trainable: bool = True
    #: the spec's `stage:` (its own or its block call's; "" when none): the stage of `convcalc analyze --by stage`
    stage: str = ""

    def mark_of(self, key: str | None) -> Mark:
        if key is None:
            return self.mark
        return real_mark(self.field_marks.get(key, self.mark))


@record
class Graph:
    """An expanded network ready to analyse or run."""

    name: str
    input_shape: tuple[int, ...]
    batch: int
    dtype: str
    nodes: list[Node]
    source: str = "<dict>"
    input_name: str = "input"
    output: str = ""
    budgets: Any = None
    vars: dict[str, Any] = field(default_factory=dict)
    #: warnings about the spec as a whole (an input that looks batch-first), reported before the layers'
    warnings: list[str] = field(default_factory=list)
    #: names that stand for a layer without being one, as `inputs:` reads them: a block instance (`layer3.5`, its
    #: output layer) and a repeated name (`layer3`, its last repetition) → the layer
    aliases: dict[str, str] = field(default_factory=dict)

    def layer_named(self, name: str) -> str:
        """The layer ``name`` stands for (``--layer layer3.5`` → ``layer3.5.relu``, as ``inputs:`` reads it),
        or ``name`` itself."""
        return self.aliases.get(name, name)

    @property
    def spatial_rank(self) -> int:
        return len(self.input_shape) - 1
