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
    groups = []
    for name, count, *sums in group_sums(layers, by):
        group = Group(name)
        group.layers = count
        group.params, group.buffers, group.macs, group.flops, group.activation_bytes = sums
        groups.append(group)
    return groups


def group_sums(layers, by: str) -> list[list]:
    """:func:`roll_up`'s groups as ``[name, layers, params, buffers, macs, flops, activation_bytes]`` lists (what the
    JSON writes, without making the :class:`Group` objects)."""
    from itertools import repeat
    from operator import attrgetter

    groups: dict[str, list] = {}
    if by == "stage":  # stage_name, inlined below: this runs for every layer of every JSON report
        rows = map(attrgetter("stage", "name", *COUNT_FIELDS), layers)
    else:  # no stage, and the key where the name stands
        rows = zip(repeat(""), map(KEYS[by], layers), *(map(attrgetter(f), layers) for f in COUNT_FIELDS))
    key = sums = None
    count = params = buffers = macs = flops = activation_bytes = 0
    # A run of layers in one group (most layers follow one of their group) adds up in local variables, which start
    # from the group's sums so far: each sum is the same additions in the same order as adding layer by layer.
    for stage, name, layer_params, layer_buffers, layer_macs, layer_flops, layer_bytes in rows:
        if stage:
            layer_key = stage
        elif by == "stage":
            layer_key = name.split(".", 1)[0]
        else:
            layer_key = name
        if layer_key != key:
            if sums is not None:
                sums[1:] = count, params, buffers, macs, flops, activation_bytes
            key = layer_key
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [key, 0, 0, 0, 0, 0, 0]
            _, count, params, buffers, macs, flops, activation_bytes = sums
        count += 1
        params += layer_params
        buffers += layer_buffers
        macs += layer_macs
        flops += layer_flops
        activation_bytes += layer_bytes
    if sums is not None:
        sums[1:] = count, params, buffers, macs, flops, activation_bytes
    return list(groups.values())


def groups_json(sums: list[list], indent: str, level: int) -> str | None:
    """``json.dumps([group.to_dict() …], indent=…)`` for :func:`group_sums`' groups, at nesting ``level`` of a
    document indented by ``indent`` (a record per group, a key a line), or None when some value is not a string
    or an exact int (then json writes them). One f-string a group, its keys those of :class:`Group` in order:
    json's indented dump runs in pure Python."""
    from json.encoder import encode_basestring

    if not sums:
        return "[]"
    outer, inner = "\n" + indent * (level + 1), ",\n" + indent * (level + 2)
    records = []
    for name, count, params, buffers, macs, flops, activation_bytes in sums:
        if type(name) is not str or not (
                type(count) is type(params) is type(buffers) is type(macs) is type(flops) is type(activation_bytes)
                is int):
            return None
        records.append(f'{{{inner[1:]}"name": {encode_basestring(name)}{inner}"layers": {count}{inner}'
                       f'"params": {params}{inner}"buffers": {buffers}{inner}"macs": {macs}{inner}"flops": {flops}'
                       f'{inner}"activation_bytes": {activation_bytes}{outer}}}')
    return f"[{outer}" + f",{outer}".join(records) + f"\n{indent * level}]"


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
