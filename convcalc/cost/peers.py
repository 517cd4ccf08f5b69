"""A report's counts under a peer tool's convention (``--convention fvcore|ptflops|thop|torchinfo``).

Each layer is counted by its kind's ``peer_rules`` (convcalc/layers/peers.py: how the peer counts the torch.nn
module of that kind). :func:`peer_totals` adds them up; :func:`under_convention` gives the report with every
layer's MACs and params replaced by the peer's, which analyze, compare and check then show and budget as usual;
:func:`peers_summary` is the one footer line of ``convcalc analyze``. A kind with no rule for the peer is left out
of the total and named in the report's warnings (never a silent zero).
"""

from __future__ import annotations

from ..records import replace

from ..layers import REGISTRY
from ..layers.peers import HEADLINE, PEERS, count
from .conventions import DTYPE_BYTES
from .report import Report, Totals


class PeerTotals:
    """One peer's count of a network: its headline number and params (batch included), each layer's ``(ops,
    params)`` (None where unmapped), the unmapped kinds with their layers, and the bugs reproduced (``--with-bugs``:
    ``kind: why``). ``delta``: kind (``bias`` for the layers with MACs) → the peer's ops less convcalc's MACs over
    its layers (what the footer explains; a kind of several modules adds each module's under that module's
    kind); ``ops_with_bugs``: the headline with the tool's known bugs (what it prints by default), counted in the
    same pass. (A plain class: a record compiles its ``__init__`` at import,
    0.1 ms of every ``convcalc analyze``.)"""

    __slots__ = ("peer", "ops", "params", "layers", "unmapped", "bugs", "delta", "ops_with_bugs")

    def __init__(self, peer: str):
        self.peer, self.ops, self.params, self.ops_with_bugs = peer, 0, 0, 0
        self.layers: list = []
        self.unmapped: dict[str, list[str]] = {}
        self.bugs: dict[str, str] = {}
        self.delta: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"PeerTotals({', '.join(f'{name}={getattr(self, name)!r}' for name in self.__slots__)})"


def _walk(report: Report, graph) -> list:
    """``(node, layer, its input shapes, its output shape, its report, its key)`` for every layer, in order. Layers
    with the same key are counted alike by every peer (see :func:`_key`); a key is a small int, or None where it
    cannot be made."""
    shapes = {graph.input_name: tuple(report.input)}
    kept = graph.__dict__.get("_layers")
    made = kept if kept is not None and len(kept) == len(graph.nodes) else None
    steps = []
    keys: dict = {}  # what a layer's counts depend on → its number: hashed once here (a Fraction hashes slowly)
    for index, (node, layer_report) in enumerate(zip(graph.nodes, report.layers)):
        layer = made[index] if made is not None else REGISTRY[node.kind](node)
        ins = [shapes[name] for name in node.inputs]
        out = shapes[node.name] = tuple(layer_report.output_shape)
        try:
            key = keys.setdefault(_key(layer, node, ins, out, layer_report.params), len(keys))
        except TypeError:  # a field value that cannot be hashed (a list of sub-layers)
            key = None
        steps.append((node, layer, ins, out, layer_report, key))
    return steps


def _key(layer, node, ins, out, params) -> tuple:
    """What a peer's count of a layer depends on: its kind's class, its fields, its input and output shapes and its
    params (a rule reads nothing else, convcalc/layers/peers.py; each field's values are of the one type its
    ``Field`` gives, so equal values are the same). ResNet-50's 175 layers are 55 distinct ones, so
    :func:`peer_totals` counts each once per peer."""
    return type(layer), tuple(node.fields.items()), tuple(ins), out, params


def _parts(layer, peer: str, ins, bugs: bool):
    """What the peer counts of each module of a kind that torch runs as several (the kind's ``torch_parts``, the
    modules its ``peers.composed`` rule counts): ``(what, the peer's ops, convcalc's MACs)`` per part, per sample —
    ``what`` is ``bias`` for a part with MACs (its extra is its bias adds), else the part's kind. None for a kind
    of one module."""
    parts = getattr(layer, "torch_parts", None)
    if parts is None:
        return None
    out = []
    for part, part_ins in parts(ins):
        macs = part.counts(part_ins).macs
        ops = count(part, peer, part_ins, part.output_shape(part_ins), bugs)[0]
        out.append(("bias" if macs else part.kind, ops, macs))
    return out


def _counted(layer, peer: str, ins, out, bugs: bool, params: int):
    """A layer's count under ``peer`` (``params``: the layer's): None (unmapped), or ``(ops, params, rule, whether
    the peer's known bug changed the count, the count with its known bugs, its parts)``, per sample (the parts:
    :func:`_parts`)."""
    counted = count(layer, peer, ins, out, bugs, params)
    if counted is None:
        return None
    ops, counted_params, rule = counted
    parts = _parts(layer, peer, ins, bugs)
    if bugs:
        return ops, counted_params, rule, count(layer, peer, ins, out)[0] != ops, ops, parts
    # only a rule with a known bug counts otherwise with it
    buggy = ops if rule.bug is None else count(layer, peer, ins, out, True, params)[0]
    return ops, counted_params, rule, False, buggy, parts


def peer_totals(report: Report, graph, peer: str, bugs: bool = False, steps: list | None = None,
                memo: dict | None = None) -> PeerTotals:
    """``peer``'s count of the analysed ``graph`` (its ``report`` gives every layer's shapes; ``steps``: its
    :func:`_walk`, when already made; ``memo``: the counts of distinct layers, shared between calls)."""
    totals = PeerTotals(peer)
    memo = {} if memo is None else memo
    batch = report.batch
    for node, layer, ins, out, layer_report, key in steps or _walk(report, graph):
        if key is None:
            counted = _counted(layer, peer, ins, out, bugs, layer_report.params)
        else:
            counted = memo.get((key, peer, bugs), memo)  # the memo itself: not counted yet
            if counted is memo:
                counted = memo[key, peer, bugs] = _counted(layer, peer, ins, out, bugs, layer_report.params)
        if counted is None:
            totals.unmapped.setdefault(node.kind, []).append(node.name)
            totals.layers.append(None)
            continue
        ops, params, rule, buggy_differs, buggy, parts = counted
        if buggy_differs:
            totals.bugs.setdefault(node.kind, rule.why)
        totals.ops_with_bugs += buggy * batch
        ops *= batch
        totals.layers.append((ops, params))
        totals.ops += ops
        totals.params += params
        delta = totals.delta
        if parts is None:
            what = "bias" if layer_report.macs else node.kind  # a MAC layer's extra is its bias adds
            delta[what] = delta.get(what, 0) + ops - layer_report.macs
            continue
        # a kind of several modules: each module's extra under its own name (a squeeze-excitation's gate is a
        # sigmoid, not a bias), and what convcalc counts beyond its modules' MACs under the kind's
        part_macs = 0
        for what, part_ops, macs in parts:
            delta[what] = delta.get(what, 0) + (part_ops - macs) * batch
            part_macs += macs * batch
        if part_macs != layer_report.macs:
            delta[node.kind] = delta.get(node.kind, 0) + part_macs - layer_report.macs
    return totals


def unmapped_warning(totals: PeerTotals) -> str:
    """The loud note of the layers a peer's count leaves out ("" when none)."""
    if not totals.unmapped:
        return ""
    kinds = ", ".join(f"{kind} ×{len(names)} (`{names[0]}`{', …' if len(names) > 1 else ''})"
                      for kind, names in totals.unmapped.items())
    return (f"--convention {totals.peer}: no rule for {kinds}: these layers are left out of {totals.peer}'s total "
            "(no torch.nn module the peer hooks; what it prints depends on how the model writes them)")


def under_convention(report: Report, graph, convention: str, bugs: bool = False) -> Report:
    """``report`` with its MACs and params counted as ``convention`` does (``torchvision``: unchanged). FLOPs stay
    convcalc's: no peer counts FLOPs as 2 per multiply-add."""
    check_convention(convention, bugs)
    if convention == "torchvision":
        return report
    totals = peer_totals(report, graph, convention, bugs)
    layers = [layer if counted is None else replace(layer, macs=counted[0], params=counted[1])
              for layer, counted in zip(report.layers, totals.layers)]
    by_type: dict[str, Totals] = {}
    for layer in layers:
        by_type.setdefault(layer.type, Totals()).add(layer)
    new_totals = Totals()
    for layer in layers:
        new_totals.add(layer)
    warnings = list(report.warnings)
    note = unmapped_warning(totals)
    if note:
        warnings.append(note)
    warnings += [f"--with-bugs: {kind}: {why}" for kind, why in totals.bugs.items()]
    conventions = {**report.conventions, "convention": convention, "with_bugs": "yes" if bugs else "no",
                   "macs": f"MACs = {HEADLINE[convention]} (convcalc explain conventions)"}
    return replace(report, layers=layers, totals=new_totals, by_type=by_type, warnings=warnings,
                   conventions=conventions, weight_bytes=new_totals.params * DTYPE_BYTES[report.dtype])


def check_convention(convention: str, bugs: bool) -> None:
    """``--with-bugs`` needs a peer's convention (convcalc's own has none to reproduce)."""
    if bugs and convention == "torchvision":
        from ..errors import SpecError

        raise SpecError("--with-bugs reproduces a peer tool's known bugs, and the torchvision convention has none",
                        None, "add --convention fvcore, ptflops, thop or torchinfo")


def peers_summary(report: Report, graph, units: str = "auto") -> str:
    """The footer line: what each peer would print for this network, and why in one clause."""
    from ..numbers import fmt_count

    parts = []
    steps, memo = _walk(report, graph), {}
    for peer in PEERS:
        totals = peer_totals(report, graph, peer, steps=steps, memo=memo)
        adds = [kind for kind, delta in sorted(totals.delta.items(), key=lambda item: -abs(item[1])) if delta > 0]
        drops = [kind for kind, delta in totals.delta.items() if delta < 0]
        why = []
        if adds:
            why.append("adds " + ", ".join(adds[:3]) + (", …" if len(adds) > 3 else ""))
        if drops:
            why.append("less " + ", ".join(drops[:2]) + (", …" if len(drops) > 2 else ""))
        if totals.unmapped:
            layers = sum(len(names) for names in totals.unmapped.values())
            why.append(f"{layers} layer{'s' if layers != 1 else ''} unmapped")
        if totals.ops_with_bugs != totals.ops:
            why.append(f"{fmt_count(totals.ops_with_bugs, units)} with its bugs")
        parts.append(f"{peer} {fmt_count(totals.ops, units)} ({'; '.join(why) or 'the same'})")
    return "Peers would print: " + ", ".join(parts) + " — why: convcalc explain conventions."

