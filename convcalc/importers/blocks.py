"""Blocks in the spec of an imported model: repeated module instances become one block, called with arguments.

:func:`block_spec` is what ``writer.write_spec(model, flat=False)`` returns. It works in four steps:

1. **Instances** (:func:`instances`): every scope path (``layer1.0``) whose layers are one contiguous run of the
   model, each named below the path (``layer1.0.conv1``). Its *pattern* is its structure: each layer's name below
   the path, its kind and its inputs (a layer of the instance, or the n-th tensor it reads from outside).
2. **Candidates** (:func:`candidates`): the instances of one class (PyTorch's module class; ONNX gives none) with
   one pattern; and the instances of one *family* (the class, or without one the path with its numbers as ``#``,
   ``layer#.#``) whose patterns differ in a few layers only, such as torchvision's ``downsample``, present in
   ``layerN.0`` alone: those layers are then kept by ``when:``.
3. **Choice** (:func:`choose`): greedily the candidate that saves the most lines, among the instances that no
   chosen block holds yet (blocks do not nest).
4. **Writing**: a field with one value in every instance is written in the block, the others become arguments
   (one argument for fields with equal values, ``4 * out`` for an integer multiple of one). Instances named
   ``P.0``, ``P.1``, … in a chain are one call ``{block: …, name: P, repeat: N}`` with per-repetition lists.

**The round trip.** The written spec is expanded again and compared node by node (names, kinds, fields, inputs,
expansion notes) with the expansion of the flat spec. A block whose layers do not come out exactly as the model's
is dropped (its instances go to other blocks, or are written flat) and the spec written again, until it expands
to exactly the model's layers, under their own names (``layer1.0.conv1``: the names map the weights).

The module is long because the four steps are one algorithm over one pair of data types (:class:`Instance`,
:class:`Block`), each step meaningful only with the others.
"""

from __future__ import annotations

import heapq
import keyword
import re
from collections import Counter
from dataclasses import dataclass, field

from ..compare.yamlwrite import yaml_scalar
from ..errors import SpecError
from ..spec.expand import RESERVED
from ..spec.expr import FUNCTIONS
from .spec_text import Expr, flow, layer_item, value_text

#: at most this fraction of a block's layers may be kept by `when:` (the others are in every instance)
MAX_OPTIONAL = 1 / 3
#: patterns of one family tried against each other for a block with `when:`, at most (keeps large models linear)
MAX_PATTERNS = 40
#: names an argument cannot have: words of the expression language, and YAML words an unquoted value would be
_RESERVED = set(keyword.kwlist) | set(FUNCTIONS) | set(RESERVED) | {"true", "false", "null", "yes", "no", "on", "off",
                                                                   "y", "n", "input"}


@dataclass(eq=False)
class Instance:
    """One module instance: the layers ``start:stop`` of the model, all under the scope ``path``."""

    path: str
    cls: str        # the module's class; empty for ONNX
    family: str     # what instances must share to differ by `when:` layers: the class, else the path's shape
    start: int
    stop: int
    externals: tuple  # the names of the tensors it reads from outside, in the order it first reads them
    pattern: tuple    # per layer: (name below the path, kind, inputs as ("L", name below the path) or ("E", n))

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(eq=False)
class Block:
    """A block and its calls: the instances it writes, its layer items, its arguments."""

    candidate: int  # which candidate it was made from (the round trip drops candidates)
    members: list   # of Instance, in the model's order
    inputs: list    # the names its layers give the tensors an instance reads from outside
    layers: list    # its layer items, with names below the instance path
    args: dict      # argument → its value in each member
    defaults: dict  # argument → its default (None: required)
    runs: list = field(default_factory=list)  # member indices per call: a chain P.0, P.1, … is one call
    name: str = ""

    def definition_lines(self) -> int:
        return 2 + bool(self.args) + (self.inputs != ["x"]) + len(self.layers)

    def lines_saved(self) -> int:
        return sum(m.size for m in self.members) - self.definition_lines() - len(self.runs)


# ---- 1. instances -----------------------------------------------------------------------------------------------
def instances(model) -> list[Instance]:
    """Every scope path of ``model`` that can be a block instance, outermost first within the model's order."""
    layers = model.layers
    spans: dict = {}
    for index, layer in enumerate(layers):
        for entry in layer.scope:
            span = spans.get(entry)
            if span is None:
                spans[entry] = [index, index + 1, 1]
            else:
                span[1], span[2] = index + 1, span[2] + 1
    names = {layer.name for layer in layers}
    found = []
    for (path, cls), (start, stop, count) in spans.items():
        if not path or path in names or count != stop - start:
            continue  # a path that is also a layer's name, or whose layers are not one run
        pattern = _pattern(layers[start:stop], path + ".")
        if pattern is not None:
            found.append(Instance(path, cls, cls or re.sub(r"\d+", "#", path), start, stop, *pattern))
    return found


def _pattern(run, prefix: str):
    """(externals, pattern) of the layers ``run``, or None when a layer is not named below ``prefix``."""
    local, externals, pattern = {}, {}, []
    for layer in run:
        name = layer.name[len(prefix):]
        if not layer.name.startswith(prefix) or not name or name == "input":
            return None
        tokens = tuple(("L", local[i]) if i in local else ("E", externals.setdefault(i, len(externals)))
                       for i in layer.inputs)
        local[layer.name] = name
        pattern.append((name, layer.kind, tokens))
    return tuple(externals), tuple(pattern)


# ---- 2. candidates ----------------------------------------------------------------------------------------------
def candidates(found: list[Instance]) -> list[list[Instance]]:
    """Groups of instances that one block may write: one class and pattern; or one family, a few layers apart."""
    exact: dict = {}
    for instance in found:
        exact.setdefault((instance.cls, instance.pattern), []).append(instance)
    groups = [members for members in exact.values() if len(members) > 1]
    families: dict = {}
    for members in exact.values():
        for family in dict.fromkeys(m.family for m in members):
            families.setdefault(family, []).append(members)
    for clusters in families.values():
        pools: list = []  # [names in a merged order, kind of each name, the clusters]
        for cluster in sorted(clusters, key=len, reverse=True)[:MAX_PATTERNS]:
            names = [name for name, _, _ in cluster[0].pattern]
            kinds = {name: kind for name, kind, _ in cluster[0].pattern}
            for pool in pools:
                merged = _close(pool, names, kinds)
                if merged is not None:
                    pool[0], pool[1] = merged
                    pool[2].append(cluster)
                    break
            else:
                pools.append([names, kinds, [cluster]])
        groups += [[m for cluster in pool[2] for m in cluster] for pool in pools if len(pool[2]) > 1]
    return groups


def _close(pool, names, kinds):
    """The pool's layer order and kinds with the pattern ``names`` added, or None when they differ by too much
    (a name with another kind, another order, or more than MAX_OPTIONAL of the layers in only some patterns)."""
    order = _merge_orders(pool[0], names)
    if order is None or any(pool[1].get(name, kind) != kind for name, kind in kinds.items()):
        return None
    common = set(names).intersection(pool[0])
    if len(order) - len(common) > MAX_OPTIONAL * len(order):
        return None
    return order, {**pool[1], **kinds}


def _merge_orders(first: list, second: list) -> list | None:
    """One order of the names of both lists that keeps the order of each, or None when they disagree."""
    position = {name: i for i, name in enumerate(first)}
    merged, done = [], 0
    for name in second:
        if name not in position:
            merged.append(name)
            continue
        at = position[name]
        if at < done:
            return None
        merged += first[done:at + 1]
        done = at + 1
    return merged + first[done:]


# ---- 3. the choice ----------------------------------------------------------------------------------------------
def choose(groups: list, model, dropped: set) -> list[Block]:
    """The blocks to write: greedily the group that saves the most lines, over instances not yet in a block."""
    layer_names = {layer.name for layer in model.layers}
    heap = []
    for index, members in enumerate(groups):
        block = None if index in dropped else build_block(index, members, model, layer_names)
        if block is not None and block.lines_saved() > 0:
            heap.append((-block.lines_saved(), index, block))
    heapq.heapify(heap)
    taken = bytearray(len(model.layers))
    chosen = []
    while heap:
        _, index, block = heapq.heappop(heap)
        free = [m for m in block.members if taken.find(1, m.start, m.stop) < 0]
        if len(free) < len(block.members):  # some instances went to a block that saves more: try without them
            block = build_block(index, free, model, layer_names) if len(free) > 1 else None
            if block is not None and block.lines_saved() > 0:
                heapq.heappush(heap, (-block.lines_saved(), index, block))
            continue
        chosen.append(block)
        for m in block.members:
            taken[m.start:m.stop] = b"\1" * m.size
    chosen.sort(key=lambda b: b.members[0].start)
    _name_blocks(chosen)
    return chosen


def _name_blocks(blocks: list[Block]) -> None:
    """``Bottleneck`` → ``bottleneck``; without a class, after the path's last word: ``layer1.0`` → ``layer_block``,
    ``Mixed_5b`` → ``mixed``."""
    from ..layers import REGISTRY

    used: set = set()
    for block in blocks:
        first = block.members[0]
        if first.cls:
            base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", first.cls).lower()
        else:
            parts = first.path.split(".")
            words = [re.match(r"[A-Za-z_]*", p).group().strip("_").lower() for p in parts]
            base = next((w for w in reversed(words) if w), "block") + ("_block" if not words[-1] else "")
        base = re.sub(r"\W+", "_", base) or "block"
        if base in REGISTRY:  # `block: conv` would read as a layer kind
            base += "_block"
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        block.name = name


# ---- a block from its instances ---------------------------------------------------------------------------------
def build_block(candidate: int, members: list, model, layer_names: set) -> Block | None:
    """The block that writes ``members`` (instances of one structure, up to `when:` layers), or None when they
    cannot be one block: another order or kind, wiring that no names reproduce, a field without a writable
    default."""
    from ..layers import REGISTRY

    members = sorted(members, key=lambda m: m.start)
    if any(a.stop > b.start for a, b in zip(members, members[1:])) or len({len(m.externals) for m in members}) > 1:
        return None
    order = [name for name, _, _ in members[0].pattern]
    for pattern in dict.fromkeys(m.pattern for m in members[1:]):
        order = _merge_orders(order, [name for name, _, _ in pattern])
        if order is None:
            return None
    views = [{name: (model.layers[m.start + i], tokens) for i, (name, _, tokens) in enumerate(m.pattern)}
             for m in members]
    kinds = {}
    for view in views:
        for name, (layer, _) in view.items():
            if kinds.setdefault(name, layer.kind) != layer.kind:
                return None
    inputs = _input_names(len(members[0].externals), set(order))
    wiring = _wiring(order, views)
    if wiring is None:
        return None
    words = {v for view in views for layer, _ in view.values() for v in layer.fields.values() if isinstance(v, str)}
    arguments = _Arguments(len(members), _RESERVED | words)
    items = []
    for name in order:
        present = [i for i, view in enumerate(views) if name in view]
        fields = arguments.fields(name, {i: views[i][name][0].fields for i in present}, REGISTRY[kinds[name]])
        if fields is None:
            return None
        when = arguments.condition(name, kinds[name], present) if len(present) < len(members) else None
        written = wiring[name]
        names = None if written is None else [inputs[t[1]] if t[0] == "E" else t[1] for t in written]
        items.append(layer_item(kinds[name], name, fields, names, when))
    args, defaults = arguments.finish()
    items = [arguments.rename(item) for item in items]
    block = Block(candidate, members, inputs, items, args, defaults)
    block.runs = _runs(members, model.layers, layer_names)
    return block


def _input_names(count: int, taken: set) -> list[str]:
    names = []
    for i in range(count):
        name = "x" if i == 0 else f"x{i + 1}"
        while name in taken:
            name += "_"
        names.append(name)
    return names


def _wiring(order: list, views: list) -> dict | None:
    """What each block layer writes as ``inputs`` (None: the previous layer), such that in every instance each
    layer reads what it reads in the model, a layer skipped by `when:` passing on what it would have read
    (docs/spec.md, "when:"). Layers kept by `when:` name their inputs, so that what they pass is their data path
    (the ``downsample`` of a bottleneck passes on its input ``x``); a layer after one reads the previous layer
    only where the expansion gives no note about it. None when no written names reproduce the model's wiring."""
    count = len(views)
    previous = [("E", 0)] * count  # per instance: the last kept layer
    passes = [{} for _ in range(count)]  # per instance: skipped layer → what references to it resolve to
    noted = [None] * count  # per instance: what the last skipped layer that names its inputs passes, since then
    written = {}

    def resolve(i, token):
        return passes[i][token[1]] if token[0] == "L" and token[1] not in views[i] else token

    for name in order:
        here = [i for i in range(count) if name in views[i]]
        reads = {i: views[i][name][1] for i in here}
        if len({len(r) for r in reads.values()}) > 1:
            return None
        if len(here) == count and all(reads[i] == (previous[i],) and noted[i] in (None, previous[i]) for i in here):
            names = None
        else:
            names = []
            for slot in range(len(reads[here[0]])):
                options = sorted({reads[i][slot] for i in here}, key=lambda t: (t[0] != "L", str(t[1])))
                token = next((t for t in options if all(resolve(i, t) == reads[i][slot] for i in here)), None)
                if token is None:
                    return None
                names.append(token)
        written[name] = names
        for i in range(count):
            if name in views[i]:
                previous[i], noted[i] = ("L", name), None
            else:
                passes[i][name] = previous[i] if names is None else resolve(i, names[0])
                if names is not None:
                    noted[i] = passes[i][name]
    return written


class _Arguments:
    """A block's arguments as they are found: each a value per member (None where no member needed it yet)."""

    def __init__(self, count: int, taken: set):
        self.count = count
        self.taken = set(taken)
        self.values: dict = {}   # name → [value or None per member]
        self.texts: dict = {}    # name → [value_text or None per member], to compare values
        self.conditions: dict = {}  # name → (presence per member)
        self.quantity: dict = {}    # name → what its values count (see _quantity)
        self.renamed: dict = {}     # name → the better name it gets when the block is done

    def fields(self, layer: str, per_member: dict, kind) -> dict | None:
        """The block's fields of one layer, from its fields in the members that have it (member → fields)."""
        keys = list(dict.fromkeys(key for fields in per_member.values() for key in fields))
        written = {}
        for key in keys:
            default = kind.fields[key].default if key in kind.fields else None
            values = {}
            for i, fields in per_member.items():
                if key in fields:
                    values[i] = fields[key]
                elif default is None:
                    return None  # no value to give this member (the field's default depends on others)
                else:
                    values[i] = _plain(default)
            texts = {i: value_text(v) for i, v in values.items()}
            if len(set(texts.values())) == 1:
                value = next(iter(values.values()))
                if default is None or value_text(_plain(default)) != texts[next(iter(texts))]:
                    written[key] = value
                continue
            if any(isinstance(v, str) and not v.isidentifier() for v in values.values()):
                return None  # a call passes a word as text only when it is one (anything else is an expression)
            written[key] = self._argument(key, layer, values, texts)
        return written

    def _argument(self, key: str, layer: str, values: dict, texts: dict) -> Expr:
        """An argument for a field with other values in some members: one with the same values where both are
        known, or one those values are a whole multiple or quotient of (``4 * out``), else a new one. Only
        arguments of the same quantity count (a conv's ``out`` may be another's ``groups``, never 8 × a kernel)."""
        quantity = _quantity(key)
        same = [name for name in self.texts if self.quantity.get(name) == quantity]
        for name in same:
            known = self.texts[name]
            if any(known[i] is not None for i in texts) and all(known[i] in (None, t) for i, t in texts.items()):
                self._fill(name, values, texts)
                if key == "out" and "out" not in self.taken:  # a conv's width reads best as `out`
                    self.taken.add("out")
                    self.renamed[name] = "out"
                return Expr(name)
        for name in same:
            expression = _multiple(name, self.values[name], values)
            if expression is not None:
                return Expr(expression)
        name = self._new(key if key not in self.taken else f"{key}_{layer}")
        self.values[name], self.texts[name] = [None] * self.count, [None] * self.count
        self.quantity[name] = quantity
        self._fill(name, values, texts)
        return Expr(name)

    def condition(self, layer: str, kind: str, present: list) -> Expr:
        """The `when:` of a layer in the members ``present`` only: an argument named after the layer (its first
        word: ``downsample`` for ``downsample.0``), or after its kind when its name is a number."""
        present = set(present)
        flags = tuple(i in present for i in range(self.count))
        for name, known in self.conditions.items():
            if known == flags:
                return Expr(name)
            if known == tuple(not f for f in flags):
                return Expr(f"not {name}")
        word = layer.split(".")[0]
        name = self._new(word if word[:1].isalpha() else kind)
        self.conditions[name] = flags
        self.values[name] = list(flags)
        self.texts[name] = [value_text(f) for f in flags]
        return Expr(name)

    def _fill(self, name: str, values: dict, texts: dict):
        for i, value in values.items():
            self.values[name][i], self.texts[name][i] = value, texts[i]

    def _new(self, base: str) -> str:
        base = re.sub(r"\W+", "_", base).strip("_") or "arg"
        if base[0].isdigit():
            base = f"arg_{base}"
        name, n = base, 2
        while name in self.taken or name.lower() in _RESERVED:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def finish(self) -> tuple[dict, dict]:
        """(argument → value per member, argument → default): the default is the value most members have when
        more than half have it, else None (a required argument); a member that needs no value gets the default
        (or the commonest value), so that calls stay short."""
        args, defaults = {}, {}
        for name, values in self.values.items():
            texts = self.texts[name]
            counts = Counter(t for t in texts if t is not None)
            common, times = counts.most_common(1)[0]
            usual = values[texts.index(common)]
            name = self.renamed.get(name, name)
            defaults[name] = usual if 2 * times > self.count else None
            args[name] = [usual if v is None else v for v in values]
        return args, defaults

    def rename(self, fields: dict) -> dict:
        """``fields`` with the arguments in their expressions renamed as :meth:`finish` names them."""
        if not self.renamed:
            return fields
        swap = lambda m: self.renamed.get(m.group(), m.group())  # noqa: E731
        return {key: Expr(re.sub(r"[A-Za-z_]\w*", swap, v)) if isinstance(v, Expr) else v for key, v in fields.items()}


#: fields that count channels: an argument of one may feed another (``groups: out`` for a depthwise conv)
_CHANNELS = {"out", "groups", "mid", "squeeze", "start", "stop", "num_parameters", "offset_groups"}


def _quantity(key: str) -> str:
    """What a field's values count, for sharing arguments: channels, or the field itself (stride, kernel, …)."""
    return "channels" if key in _CHANNELS else key


def _plain(value):
    from ..spec.fields import plain_value

    return plain_value(value)


def _multiple(name: str, known: list, values: dict) -> str | None:
    """``k * name`` or ``name // k`` (k ≥ 2) when that gives ``values`` in every member, else None."""
    pairs = [(known[i], v) for i, v in values.items()]
    if not all(type(a) is int and type(b) is int and a > 0 and b > 0 for a, b in pairs):
        return None
    for big, small, text in ((1, 0, "{k} * {name}"), (0, 1, "{name} // {k}")):
        factors = {p[big] // p[small] if p[big] % p[small] == 0 else 0 for p in pairs}
        if len(factors) == 1 and (k := factors.pop()) >= 2:
            return text.format(k=k, name=name)
    return None


def _runs(members: list, layers: list, layer_names: set) -> list[list[int]]:
    """The calls of a block, as member indices: instances ``P.0``, ``P.1``, … in a chain (each reading only the
    layer before it, so the first reads the previous item and each other the one before) are one ``repeat`` call
    named ``P``; the rest one call each."""
    runs: list = []
    chain = None  # the parent path of the chain runs[-1] is, while it can go on
    for index, member in enumerate(members):
        parent, _, number = member.path.rpartition(".")
        chained = member.externals == (layers[member.start - 1].name if member.start else "input",)
        if chained and chain == parent and members[runs[-1][-1]].stop == member.start \
                and number == str(len(runs[-1])):
            runs[-1].append(index)
            continue
        runs.append([index])
        chain = parent if chained and number == "0" and parent and parent not in layer_names else None
    return runs


# ---- 4. writing, and the round trip -----------------------------------------------------------------------------
def block_spec(model, head: list[str], flat_text: str) -> str:
    """The spec of ``model`` with blocks: ``head`` (the header comments, name, input), then ``blocks:`` and
    ``layers:``; ``flat_text`` (the flat spec) when no block expands to exactly its instances' layers."""
    try:
        expected = _expanded(flat_text, model.source)
    except SpecError:
        return flat_text  # nothing to compare with (the flat spec's own error is check_layers' to report)
    groups = candidates(instances(model))
    dropped: set = set()
    while True:
        blocks = choose(groups, model, dropped)
        if not blocks:
            return flat_text
        text, line_owner, layer_owner = render(model, blocks, head)
        wrong = _wrong_block(text, expected, model.source, line_owner, layer_owner)
        if wrong is None:
            return text
        if wrong < 0:
            return flat_text
        dropped.add(wrong)


def render(model, blocks: list[Block], head: list[str]) -> tuple[str, dict, list]:
    """(spec text, line number → candidate of the block that wrote it, per layer the candidate that wrote it)."""
    lines = list(head) + ["blocks:"]
    line_owner: dict = {}
    calls = {}
    for block in blocks:
        first = len(lines)
        lines.append(f"  {yaml_scalar(block.name)}:")
        if block.args:
            lines.append(f"    args: {flow(block.defaults)}")
        if block.inputs != ["x"]:
            lines.append(f"    inputs: {value_text(block.inputs)}")
        lines.append("    layers:")
        lines += [f"      - {flow(item)}" for item in block.layers]
        line_owner.update({n + 1: block.candidate for n in range(first, len(lines))})
        calls.update({block.members[run[0]].start: (block, run) for run in block.runs})
    lines.append("layers:")
    layer_owner = [None] * len(model.layers)
    previous, index = "input", 0
    while index < len(model.layers):
        if index in calls:
            block, run = calls[index]
            line_owner[len(lines) + 1] = block.candidate
            lines.append("  - " + flow(_call(block, run, previous)))
            stop = block.members[run[-1]].stop
            layer_owner[index:stop] = [block.candidate] * (stop - index)
            index = stop
        else:
            layer = model.layers[index]
            inputs = None if list(layer.inputs) == [previous] else list(layer.inputs)
            lines.append("  - " + flow(layer_item(layer.kind, layer.name, layer.fields, inputs)))
            index += 1
        previous = model.layers[index - 1].name
    return "\n".join(lines) + "\n", line_owner, layer_owner


def _call(block: Block, run: list, previous: str) -> dict:
    """The call of ``block`` for its members ``run``: one instance, or a chain ``P.0`` … as ``repeat``."""
    first = block.members[run[0]]
    item = {"block": block.name}
    if len(run) == 1:
        item["name"] = first.path
        if first.externals != (previous,):
            item["inputs"] = first.externals[0] if len(first.externals) == 1 else list(first.externals)
    else:
        item["name"], item["repeat"] = first.path.rpartition(".")[0], len(run)
    for arg, values in block.args.items():
        mine = [values[i] for i in run]
        texts = {value_text(v) for v in mine}
        default = block.defaults[arg]
        if default is not None and texts == {value_text(default)}:
            continue
        # a list value is one value only in a call without repeat (under repeat, a list is one per repetition)
        item[arg] = mine[0] if len(run) == 1 or (len(texts) == 1 and not isinstance(mine[0], list)) else mine
    return item


def _expanded(text: str, source: str) -> list[tuple]:
    """What the round trip compares: every node's name, kind, fields, inputs and expansion notes, in order."""
    from ..spec.loader import Network
    from ..spec.yamlio import load_yaml

    graph = Network(load_yaml(text, source), source).expand()
    return [(node.name, node.kind, node.fields, list(node.inputs), list(node.notes)) for node in graph.nodes]


def _wrong_block(text: str, expected: list, source: str, line_owner: dict, layer_owner: list) -> int | None:
    """None when ``text`` expands to ``expected``; else the candidate of the block to drop (-1: every block)."""
    try:
        found = _expanded(text, source)
    except SpecError as err:
        line = err.mark.line if err.mark is not None and err.mark.file == source else None
        return line_owner.get(line, -1)
    at = next((i for i, (a, b) in enumerate(zip(found, expected)) if a != b), None)
    if at is None:
        if len(found) == len(expected):
            return None
        at = min(len(found), len(expected))
    # the block that wrote the first wrong node, or else the last one before it (whose output it may read)
    for index in range(min(at, len(layer_owner) - 1), -1, -1):
        if layer_owner[index] is not None:
            return layer_owner[index]
    return -1
