"""The network at a glance: a report's layers summed per stage, per type or per block, and its heaviest layers.

Plain data for ``convcalc analyze --by stage|type|block`` and ``--top N --sort KEY`` (rendered by
:mod:`convcalc.render.analyze`) and for the report's JSON ``stages``:

* **stage** — the spec's ``stage:`` of the layer or of a block call around it (docs/spec.md), else the top-level
  prefix of its name, the part before its first dot: torchvision's names give ``layer1`` … ``layer4`` for
  ``layer1.0.conv1`` …; a layer outside any such prefix (``conv1``, ``fc``) is a stage of its own
  (:func:`stage_name`; ``convcalc compare`` matches the stages of its networks by the same rule);
* **block** — the innermost block instance a layer was expanded from (``layer1.0``), or the layer itself outside
  any block;
* **type** — the layer's kind.

Groups keep the order of their first layer. Every count is the exact sum of the group's layers, so the groups of
any roll-up sum to the report's totals.

It imports nothing of the report (:mod:`convcalc.cost.report` imports it for the JSON ``stages``), and its classes
are plain, not dataclasses: ``convcalc analyze`` loads it on its fast path.
"""

from __future__ import annotations

from fractions import Fraction

#: the counts a report sums over its layers (re-exported by convcalc.cost.report)
COUNT_FIELDS = ("params", "buffers", "macs", "flops", "activation_bytes")

#: `--by` choices
ROLL_UPS = ("stage", "type", "block")
#: `--sort` choice → the LayerReport field it ranks by
SORT_FIELDS = {"macs": "macs", "params": "params", "flops": "flops", "memory": "activation_bytes"}


def stage_of(name: str) -> str:
    """The stage a layer belongs to: its top-level block instance or layer, without the repetition index.

    ``layer1.0.conv1`` → ``layer1`` (torchvision's stages), ``block7_11.3.dw`` → ``block7_11``, ``conv1`` → ``conv1``.
    """
    return name.split(".", 1)[0]


def _block_of(layer) -> str:
    return layer.path[-1] if layer.path else layer.name


def stage_name(layer) -> str:
    """The stage of a report's layer: the spec's ``stage:`` (its ``stage`` field), else :func:`stage_of` its
    name."""
    return layer.stage or stage_of(layer.name)


KEYS = {"stage": stage_name, "type": lambda layer: layer.type,
        "block": _block_of}


class Group:
    """The layers of one stage, type or block, and their summed counts (the batch included, as in the report)."""

    __slots__ = ("name", "layers", *COUNT_FIELDS)

    def __init__(self, name: str):
        self.name, self.layers = name, 0
        self.params = self.buffers = self.macs = self.flops = self.activation_bytes = 0

    def __repr__(self) -> str:
        return f"Group({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    def to_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.__slots__}


def roll_up(layers, by: str) -> list[Group]:
    """``layers`` (a report's LayerReports) summed per ``by`` (one of :data:`ROLL_UPS`), in the order of each
    group's first layer."""
    key = KEYS[by]
    groups: dict[str, Group] = {}
    for layer in layers:
        name = key(layer)
        group = groups.get(name)
        if group is None:
            group = groups[name] = Group(name)
        group.layers += 1
        for field in COUNT_FIELDS:
            setattr(group, field, getattr(group, field) + getattr(layer, field))
    return list(groups.values())


class Heavy:
    """One of the heaviest layers: the layer, its value of the sorted quantity and its exact share of the total
    (None when the total is 0)."""

    __slots__ = ("layer", "value", "share")

    def __init__(self, layer, value: int, share: Fraction | None):
        self.layer, self.value, self.share = layer, value, share

    def to_dict(self) -> dict:
        share = None if self.share is None else round(float(self.share) * 100, 4)
        return {"name": self.layer.name, "type": self.layer.type, "value": self.value, "share_percent": share}


def heaviest(report, count: int, sort: str = "macs") -> list[Heavy]:
    """The ``count`` layers with the most ``sort`` (a key of :data:`SORT_FIELDS`), heaviest first; ties keep the
    network's order."""
    field = SORT_FIELDS[sort]
    total = getattr(report.totals, field)
    ranked = sorted(report.layers, key=lambda layer: -getattr(layer, field))[:count]
    return [Heavy(layer, getattr(layer, field), Fraction(getattr(layer, field), total) if total else None)
            for layer in ranked]
