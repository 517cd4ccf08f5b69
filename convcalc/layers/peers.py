"""How the peer tools count a layer: the vocabulary of the kinds' ``peer_rules`` tables.

convcalc's own numbers follow torchvision (MACs of conv and linear layers, bias excluded). fvcore, ptflops, thop
and torchinfo each print one headline count with rules of their own; ``convcalc analyze --convention PEER`` gives
their number. Each kind states, in its class, how each peer counts the ``torch.nn`` module tests/torch_build.py
builds for it: a table ``peer_rules`` of ``{peer: Rule}`` (read with :func:`rules_of`, an *own* answer: a kind
derived from another never inherits its table). A kind without a rule for a peer is **unmapped**: the totals leave
it out and say so, never a silent zero. A rule of 0 is the peer's documented behaviour (the ``why`` says which).

Versions read and run (docs/flops.md, "Peers' conventions", cites each file): fvcore 0.1.5.post20221221,
ptflops 0.7.5, thop 0.1.1.post2209072238, torchinfo 1.8.0.

Every count is per sample, from the layer's fields, its input shapes ``ins`` and output shape ``out`` (channels
first), and from nothing else (not the layer's name or its inputs' names): layers alike in those count alike, and
the footer counts each distinct one once (convcalc/cost/peers.py).
"""

from __future__ import annotations

from math import prod
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Callable

from ..cost.conventions import CONVENTIONS

#: the peers, in the order the footer and ``--convention`` list them
PEERS = CONVENTIONS[1:]
#: what each peer's headline number is called, and where it comes from
HEADLINE = {
    "torchvision": "MACs (conv and linear multiply-accumulates, bias excluded)",
    "fvcore": "fvcore's FlopCountAnalysis(model, x).total(): one fused multiply-add per \"flop\"",
    "ptflops": "ptflops' get_model_complexity_info(model, res, backend='pytorch') MACs, module hooks "
               "(backend_specific_config={'count_functional': False})",
    "thop": "thop's profile(model, (x,)) ops",
    "torchinfo": "torchinfo's summary(model, input_data=x).total_mult_adds",
}
#: the versions whose source the rules follow and that the tests run
VERSIONS = {"fvcore": "0.1.5.post20221221", "ptflops": "0.7.5", "thop": "0.1.1.post2209072238",
            "torchinfo": "1.8.0"}


class Rule:
    """How one peer counts one kind: ``ops(layer, ins, out)`` per sample (None: the peer cannot count this layer,
    which is then unmapped: a composite with a part of an unmapped kind), ``why`` in a few words, whether the peer
    counts the kind's params (thop counts only modules it has a rule for; or ``params(layer, ins)``, what it
    counts), and ``bug``: the peer's actual, wrong count (another Rule, its ``why`` naming the version it was seen
    in), used only with ``--with-bugs``."""

    __slots__ = ("ops", "why", "params", "bug")

    def __init__(self, ops: Callable, why: str, params: bool = True, bug: "Rule | None" = None):
        self.ops, self.why, self.params, self.bug = ops, why, params, bug


def zero(why: str, params: bool = True) -> Rule:
    """The peer counts nothing for the kind: its documented behaviour, said in ``why``."""
    return Rule(lambda layer, ins, out: 0, why, params)


def per_input(n, why: str, **kw) -> Rule:
    """``n`` per element of the first input (``n`` an int, or ``n(layer)``)."""
    return Rule(lambda layer, ins, out: _n(n, layer) * prod(ins[0]), why, **kw)


def per_output(n, why: str, **kw) -> Rule:
    """``n`` per output element (``n`` an int, or ``n(layer)``)."""
    return Rule(lambda layer, ins, out: _n(n, layer) * prod(out), why, **kw)


def macs(why: str, **kw) -> Rule:
    """The kind's MACs (convcalc's, which the peer counts the same way)."""
    return Rule(lambda layer, ins, out: layer.counts(ins).macs, why, **kw)


def params_times(positions: Callable, why: str, **kw) -> Rule:
    """torchinfo's rule: the layer's ``weight`` and ``bias`` params times ``positions(layer, ins, out)``."""
    return Rule(lambda layer, ins, out: layer.counts(ins).params * positions(layer, ins, out), why, **kw)


def _n(n, layer) -> int:
    return n(layer) if callable(n) else n


def macs_bias(why: str, **kw) -> Rule:
    """The kind's MACs plus one per output element for the bias add, when it has a bias."""
    return Rule(lambda layer, ins, out: layer.counts(ins).macs + (prod(out) if layer.bias else 0), why, **kw)


def twice(rule: Rule) -> Rule:
    """``rule`` with ptflops' double count as its bug: with ``count_functional`` (its default) ptflops also counts
    the ``torch.nn.functional`` call that the hooked module makes (F.relu inside nn.ReLU, …)."""
    rule.bug = Rule(lambda layer, ins, out: 2 * rule.ops(layer, ins, out),
                    f"counted twice: the module hook and the patched functional it calls (ptflops {VERSIONS['ptflops']}, "
                    "count_functional=True, its default)", rule.params)
    return rule


def functional(rule: Rule, n) -> Rule:
    """``rule`` (the module hooks: nothing) with ptflops' default run as its bug: its patched functional counts
    ``n`` per output element (``F.silu``, ``F.softmax`` called by a module it does not hook)."""
    rule.bug = per_output(n, f"counted by its patched functional only (ptflops {VERSIONS['ptflops']}, "
                              "count_functional=True)")
    return rule


def pool(fvcore: Rule, thop: Rule) -> dict:
    """The rules of a torch.nn pooling module: ptflops' pool hook counts 1 per input element (twice in its default
    run: the module and the patched F.*_pool* it calls); torchinfo counts parameters only."""
    return {"fvcore": fvcore, "ptflops": twice(per_input(1, "pool hook: 1 per input element")), "thop": thop,
            "torchinfo": zero("no weight or bias")}


_RULES: dict = {}  # class → its own table, found once


def rules_of(cls) -> dict:
    """The kind's own ``peer_rules`` table (``{}`` when it has none: every peer unmapped)."""
    rules = _RULES.get(cls)
    if rules is None:
        from .base import own

        rules = _RULES[cls] = own(cls, "peer_rules") or {}
    return rules


#: the rules of the kinds that hold no arithmetic any peer counts (views, copies, reshapes): 0 everywhere
def free(why: str) -> dict:
    return {peer: zero(why) for peer in PEERS}


#: the modules none of the four counts (most activations, the merges, torch_build's Lambda and per-channel
#: modules): fvcore has no handler (an "unsupported operator" warning, counted 0), ptflops hooks neither the module
#: nor a functional it calls, thop has no rule ("zero Macs and zero Params": their params too), torchinfo counts
#: only layers with a ``weight`` or ``bias``
UNCOUNTED = {
    "fvcore": zero("no handler: an unsupported operator, skipped"),
    "ptflops": zero("no module hook"),
    "thop": zero("no rule: zero ops and zero params", params=False),
    "torchinfo": zero("no weight or bias"),
}


def count(layer, peer: str, ins, out, bugs: bool = False, params: int | None = None):
    """``(ops, params, rule)`` per sample for ``layer`` under ``peer``, or None when its kind has no rule for the
    peer, or its rule cannot count this layer (unmapped). With ``bugs``, a rule's known bug is what counts.
    ``params``: the layer's, when known."""
    rule = rules_of(type(layer)).get(peer)
    if rule is None:
        return None
    if bugs and rule.bug is not None:
        rule = rule.bug
    ops = rule.ops(layer, ins, out)
    if ops is None:
        return None
    if not rule.params:
        params = 0
    elif callable(rule.params):
        params = rule.params(layer, ins)
    elif params is None:
        params = layer.counts(ins).params
    return ops, params, rule


def composed(parts: Callable, why: str) -> dict:
    """The rules of a kind that torch runs as several modules: ``parts(layer, ins)`` gives ``(part, its ins)``
    pairs (layers of other kinds), each counted by its own kind's rule, its params too (thop's only where it has a
    rule); anything else it does counts nothing. A part of a kind the peer has no rule for leaves the whole layer
    unmapped (a ``mid`` layer of depthwise_separable may be of any shape-keeping kind)."""
    def rule(peer: str, bugs: bool) -> Rule:
        def each(layer, ins):
            return [count(part, peer, part_ins, part.output_shape(part_ins), bugs)
                    for part, part_ins in parts(layer, ins)]

        def ops(layer, ins, out):
            counted = each(layer, ins)
            return None if None in counted else sum(c[0] for c in counted)

        def params(layer, ins):
            return sum(c[1] for c in each(layer, ins))
        return Rule(ops, "the known bugs of its modules' rules, if any" if bugs else why, params)

    table = {}
    for peer in PEERS:
        table[peer] = rule(peer, False)
        table[peer].bug = rule(peer, True)
    return table
