"""Expanding a parsed spec into the graph: blocks, ``repeat``, ``when:``, expressions and field values.

:meth:`convcalc.spec.loader.Network.expand` evaluates the vars and hands the ``layers:`` list to :class:`Expander`,
which walks it once, item by item, and emits one validated :class:`~convcalc.spec.graph.Node` per kept layer. Every
value is coerced by the layer kind's :class:`~convcalc.spec.fields.Field`; every error points at the YAML position
it came from (docs/spec.md, "Errors").

Expressions see the vars and block arguments in scope and, through :class:`Names`, the item's input shape
(``in_channels``, ``in_size``, ``in_rank``) and its repetition ``index``. The shapes are those of the nodes already
emitted, worked out only when an expression reads one (:meth:`Expander.shape_of`), so a spec that reads none costs
what it did. Per item the order is: `type:` and keys, name, inputs, `when:` (decided before `repeat:` unless it is
a per-repetition list or reads `index`), `repeat:`, then per repetition the fields (docs/spec.md, "The order of
evaluation").

Most layers are a kind word with neither `when:` nor `repeat:`: :meth:`Expander._single` takes them in the same
order with the common case of each step written out. What does not change between layers is worked out once: per
kind, its keys and the values of the fields a layer leaves out (:class:`_Kind`, kept for the spec's `defaults:`
across expansions); per field, the value of each number written for it; per layer of a block, its values, for
every instance when they are constants, else for each set of values of the vars and block arguments in scope (never
when it reads the input's shape). Only what was worked out without an error is remembered: every error is raised by
the same check as before, with the same message and position.

The module is long because the walk is one algorithm over one scope type: blocks, repeats, `when:`, names and
inputs each change the scope the next item sees, and splitting them would pass that state between modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from ..records import field, record
from ..errors import KINDS_LISTING, LazyMark, SpecError, check_name, did_you_mean
from ..limits import layer_beyond, number_text, shorten, within
from .expr import evaluate, forget_values
from .fields import Axes, Padding, ScaleField, Size, describe
from .graph import Node
from .yamlio import YBool, YList, YMap

STRUCTURAL = ("type", "name", "inputs", "repeat", "when", "trainable", "stage")
BLOCK_CALL = ("block", "name", "inputs", "repeat", "when", "stage")
#: expanded layers at most: 10× the 10,000-layer benchmark, a few hundred MB of analysis (docs/spec.md, "Limits");
#: a `repeat: 1000000000` typo fails at once, not in hours
MAX_LAYERS = 100_000
MAX_BLOCK_DEPTH = 100  # blocks inside blocks; each level is a few Python frames, well inside the recursion limit
_PER_AXIS = (Axes, Padding, ScaleField, Size)
#: the names every expression of a layer or block call can read besides the vars and block arguments: its input's
#: shape and its repetition (docs/spec.md, "Numbers and expressions"); no var or block argument may take them
SHAPE_NAMES = ("in_channels", "in_size", "in_rank")
RESERVED = (*SHAPE_NAMES, "index")


class _NeedsIndex(Exception):
    """An expression read `index` where no repetition is chosen yet (a `when:` decided before `repeat:`)."""


class Names(Mapping):
    """What the expressions of one item (one repetition) see: the vars and block arguments in scope, the item's
    input shape (:data:`SHAPE_NAMES`, computed only when an expression reads one) and its repetition ``index``
    (None before the repetitions are known: reading it then raises :class:`_NeedsIndex`)."""

    __slots__ = ("variables", "expander", "source", "index")

    def __init__(self, variables: dict, expander: "Expander", source: str, index: int | None):
        self.variables, self.expander, self.source, self.index = variables, expander, source, index

    def __getitem__(self, key):
        if key in SHAPE_NAMES:
            self.expander.shapes_read += 1  # values that read a shape are not remembered (Expander._fields)
            shape = self.expander.shape_of(self.source)
            return shape[0] if key == "in_channels" else list(shape[1:]) if key == "in_size" else len(shape) - 1
        if key == "index":
            if self.index is None:
                raise _NeedsIndex
            return self.index
        return self.variables[key]

    def __contains__(self, key) -> bool:
        return key in RESERVED or key in self.variables

    def __iter__(self):
        yield from self.variables
        yield from RESERVED

    def __len__(self) -> int:  # the vars and arguments only: with none, an unknown name says "no vars are in scope"
        return len(self.variables)


def positive_int(value, mark, what, calc, least: int = 1) -> int:
    if isinstance(value, YBool):
        raise SpecError(f"`{what}` expects a number, got the YAML boolean `{value.word}`", mark,
                        f"YAML reads yes/no/on/off/true/false as booleans; write a whole number ≥ {least}")
    if isinstance(value, str):
        value = calc(value, mark)
    if isinstance(value, (YBool, bool)) or not isinstance(value, int) or value < least:
        raise SpecError(f"`{what}` must be a whole number ≥ {least}, got {describe(value)}", mark, f"fix `{what}`")
    return int(value)


@record
class Scope:
    prefix: str
    names: dict  # local name -> full node name (or "input")
    variables: dict
    previous: str
    path: tuple
    counters: dict = field(default_factory=dict)
    taken: dict = field(default_factory=dict)  # explicit local names -> their item, to catch duplicates
    #: (full name, what it passes through) of the last item skipped by `when:` that named its own `inputs:`, since
    #: the last kept one: a following layer without `inputs:` reads `previous`, not that pass-through
    skipped: tuple[str, str] | None = None
    #: the block call whose layers this scope holds (None at the top level), with the block's name
    call: YMap | None = None
    block: str = ""
    #: the `stage:` of the enclosing block call ("" when none gave one): its layers' stage unless they name their own
    stage: str = ""
    #: the values of ``variables`` as a number, or False when they cannot be a key (Expander._names_key); None: not
    #: worked out yet
    names_key: int | bool | None = None

    def local_name(self, full: str) -> str:
        """How this scope's layers can refer to the node ``full`` (for a hint): its local or block-input name."""
        if self.prefix and full.startswith(self.prefix):
            return full[len(self.prefix):]
        for local, target in self.names.items():
            if target == full:
                return local  # a block input (`x`), or a top-level name
        return full

    def reads_previous(self, item: YMap, who: str = "") -> list[str]:
        """Notes for a kept item that reads ``previous`` implicitly (no `inputs:`) right after a skipped item that
        named its own inputs: its input then differs from what the skipped one passes through. Resets the marker."""
        notes = []
        if self.skipped is not None and "inputs" not in item and self.skipped[1] != self.previous:
            skipped, through = (f"`{self.local_name(n)}`" for n in self.skipped)
            previous = f"`{self.local_name(self.previous)}`"
            notes.append(f"{who}reads {previous}, the last kept layer: {skipped} before it is skipped by `when:` and "
                         f"would pass {through} through; write `inputs: {previous[1:-1]}` (or "
                         f"`inputs: {through[1:-1]}`) to make the choice explicit")
        self.skipped = None
        return notes


class Expander:
    def __init__(self, network: "Network", variables: dict, input_shape: tuple):  # noqa: F821 (spec.loader)
        from ..layers import REGISTRY

        forget_values()  # an expansion remembers its own expressions' values only (convcalc.spec.expr.evaluate)
        self.registry = REGISTRY
        self.network = network
        self.rank = len(input_shape) - 1
        #: output shapes of the emitted nodes, worked out only when an expression reads a shape (:meth:`shape_of`)
        self.shapes: dict[str, tuple] = {"input": tuple(input_shape)}
        self.shaped = 0  # self.nodes[:shaped] have their shape in self.shapes
        self.nodes: list[Node] = []
        self.passed = 0  # the names taken by skipped items' repetitions (:meth:`_pass_through`), within MAX_LAYERS
        self.full_names: dict[str, str] = {"input": "input"}
        self.claimed: dict[str, YMap] = {}  # full name of every kept layer and block instance → its item
        self.calls: list[str] = []  # the block calls being expanded, outermost first
        self.defaults = self._read_defaults(network.doc)
        self.kinds: dict[type, _Kind] = {}  # the kinds met so far (:meth:`_kind`)
        self.coerced: dict[tuple, int] = {}  # (field, a number written for it) → its value (:meth:`_fields`)
        #: the values of a block's layer, remembered for its next instances (:meth:`_fields`): by the id of its item
        #: → (kind, values, marks, flat keys), or (kind, None, None, None) when they read names, then by (that id,
        #: :meth:`_names_key`) → (kind, values, marks, flat keys)
        self.block_fields: dict = {}
        self.name_sets: dict[tuple, int] = {}  # the sets of values of names met, numbered (:meth:`_names_key`)
        self.shapes_read = 0  # how many times an expression read the input's shape (:class:`Names`)

    # defaults -------------------------------------------------------------------------------------------------
    def _read_defaults(self, doc):
        raw = doc.get("defaults") or YMap()
        if not isinstance(raw, YMap):
            raise SpecError("`defaults` must be a mapping", doc.mark_of("defaults"), "write `defaults: {bias: false}`")
        self.defaults_source = raw if raw else None  # what the kinds' tables are remembered for (:meth:`_kind`)
        common, per_kind = {}, {}
        all_fields = self.registry.all_field_names()  # from the index: listing the classes imports every kind
        for key, value in raw.items():
            if key in self.registry and isinstance(value, YMap):
                for sub, sub_value in value.items():
                    if sub not in self.registry[key].fields:
                        raise SpecError(f"`{key}` has no key `{sub}`", value.key_mark(sub),
                                        did_you_mean(str(sub), self.registry[key].fields))
                    per_kind.setdefault(key, {})[sub] = (sub_value, value.mark_of(sub))
            elif key in all_fields:
                common[key] = (value, raw.mark_of(key))
            elif key in self.registry:
                raise SpecError(f"`defaults: {key}` must be a mapping of `{key}` keys, got {describe(value)}",
                                raw.mark_of(key), f"write e.g. `defaults: {{{key}: {{…}}}}`; "
                                f"`convcalc explain {key}` lists its keys")
            else:
                raise SpecError(f"`defaults` key `{key}` is not a field of any layer kind", raw.key_mark(key),
                                did_you_mean(str(key), sorted(all_fields | set(self.registry)),
                                            "`convcalc explain KIND` lists the keys of a kind"))
        return common, per_kind

    # the walk -------------------------------------------------------------------------------------------------
    def expand_list(self, items: YList, scope: Scope):
        later = _Later(items)  # one per list, moved along it: it builds anything only for an error
        registry = self.registry
        for index, item in enumerate(items):
            if not isinstance(item, YMap):
                raise SpecError("each layer must be a mapping with `type:` (or `block:`)", items.mark_of(index),
                                "write `- {type: conv, out: 64, kernel: 3}`")
            later.index = index
            if "block" in item:
                self._block_call(item, scope, later)
            elif "type" in item:
                written = item["type"]
                cls = registry.get(written) if type(written) is str else None  # a kind word (most items)
                if cls is not None and "when" not in item and "repeat" not in item:
                    self._single(item, scope, cls, later)
                else:
                    self._layer(item, scope, later)
            else:
                raise SpecError("a layer needs `type:` (or `block:` to use a block)", item.mark,
                                "add e.g. `type: conv`")

    # shapes and names -----------------------------------------------------------------------------------------
    def shape_of(self, name: str) -> tuple:
        """The output shape of node ``name`` (or of the network input), as the analysis will find it.

        Only an expression reading :data:`SHAPE_NAMES` asks, so a spec that reads none pays nothing. The nodes not
        yet shaped are worked out in order up to ``name``, each by its kind's ``output_shape`` and ``counts`` (the
        questions the analysis asks first), so a shape error found here is the one the analysis would report, with
        the same message and position."""
        shapes = self.shapes
        while name not in shapes:
            node = self.nodes[self.shaped]
            self.shaped += 1
            ins = [shapes[n] for n in node.inputs]
            layer = self.registry[node.kind](node)
            out = tuple(layer.output_shape(ins))
            layer.counts(ins)
            if not all(within(v) for v in out):
                layer_beyond(node, "its output shape or a count", out)
            shapes[node.name] = out
        return shapes[name]

    def _calc(self, names, words: bool = False):
        return lambda text, mark: evaluate(text, names, mark, words)

    def _repeat(self, item: YMap, names: Names) -> int:
        """The repetitions of an item, 0 or more. `repeat:` sees the item's input shape but no `index`."""
        if "repeat" not in item:
            return 1
        try:
            count = positive_int(item["repeat"], item.mark_of("repeat"), "repeat", self._calc(names), least=0)
        except _NeedsIndex:
            raise SpecError("`repeat:` cannot read `index`: the repetitions are not counted yet",
                            item.mark_of("repeat"), "give the count from vars, block arguments or the input "
                            "shape (`in_channels`, `in_size`, `in_rank`)") from None
        if len(self.nodes) + count > MAX_LAYERS:  # every repetition adds at least one layer
            raise SpecError(f"`repeat: {count:,}` expands the network past {MAX_LAYERS:,} layers",
                            item.mark_of("repeat"), "check the repeat count")
        return count

    def _when_first(self, item: YMap, scope: Scope, names: Names) -> bool | None:
        """The item's `when:` decided once, before `repeat:` (so a skipped item evaluates none of its fields, its
        `repeat:` included); None when it must wait for the repetitions: a list (one value per repetition) or a
        condition that reads `index`."""
        value = item.get("when", True)
        if isinstance(value, YList):
            return None
        try:
            return self._when(item, scope, value, 1, names)
        except _NeedsIndex:
            return None

    def _when(self, item: YMap, scope: Scope, value, count: int, names: Names) -> bool:
        """Whether to keep one repetition. ``value`` is its `when:` (a per-repetition list already picked). An
        error in a condition that is just a block argument points at the call's value, as a field's does."""
        try:
            return self._condition(item, value, count, names)
        except SpecError as err:
            raise _in_call(err, scope, "when", value) from None

    def _condition(self, item: YMap, value, count: int, names: Names) -> bool:
        if isinstance(value, YList):  # a list left whole: not one value per repetition
            repeats = f"repeats {count} times" if count > 1 else "does not repeat"
            raise SpecError(f"`when:` lists {len(value)} value{'s' if len(value) != 1 else ''} but the item {repeats}",
                            item.mark_of("when"),
                            "give one condition, or a list of exactly `repeat:` true/false values")
        if isinstance(value, str):
            value = evaluate(value, names, LazyMark(item, "when"), words=True)
        if not isinstance(value, (bool, YBool)):
            raise SpecError(f"`when:` must be true or false, got {describe(value)}", item.mark_of("when"),
                            "write a condition such as `stride == 1`, a boolean var, or true/false")
        return bool(value)

    def _per_repetition(self, item: YMap, key, value, count: int, index: int, field_obj=None):
        """The value of ``key`` for repetition ``index`` of ``count``."""
        if count == 1 or not isinstance(value, YList) or len(value) != count:
            return value
        if getattr(field_obj, "takes_list", False) and not all(isinstance(v, YList) for v in value):
            return value  # a list-valued field (e.g. `mid: [batchnorm, relu]`): per repetition only when nested
        if field_obj is not None and isinstance(field_obj, _PER_AXIS) and self.rank == count \
                and not any(isinstance(v, YList) for v in value) and len({repr(v) for v in value}) > 1:
            shown = describe(list(value))
            raise SpecError(f"`{key}: {shown}` is ambiguous under `repeat: {count}`: one value per "
                            f"repetition, or one per axis?", item.mark_of(key),
                            f"for the same per-axis value in every repetition write "
                            f"[{', '.join([shown] * count)}]; for one value per repetition keep the list and nest "
                            f"per-axis entries")
        return value[index]

    def _written_name(self, item: YMap, scope: Scope) -> str | None:
        """The item's own `name:`, checked (and taken in its scope), or None when it has none."""
        if "name" not in item:
            return None
        name = item["name"]
        # most names are plain printable words used once: taken without looking up a mark (only errors need one)
        if type(name) is str and name and name != "input" and " " not in name and name.isprintable():
            first = scope.taken.get(name)
            if first is None or first is item:
                scope.taken[name] = item
                return name
        if isinstance(name, (YMap, YList)) or name is None:
            got = "nothing" if name is None else "a mapping" if isinstance(name, YMap) else "a list"
            raise SpecError(f"a layer name must be a word, got {got}", item.mark_of("name"),
                            "write e.g. `name: conv1`")
        name = name.word if isinstance(name, YBool) else str(name)
        if not name:
            raise SpecError("a layer name cannot be empty", item.mark_of("name"), "write e.g. `name: conv1`")
        if name == "input":
            raise SpecError("`input` cannot be used as a layer name", item.mark_of("name"),
                            "`input` names the network input; choose another name")
        check_name(name, item.mark_of("name"), "a layer name", "layer1.0.conv1")
        first = scope.taken.get(name)
        if first is not None and first is not item:
            raise SpecError(f"duplicate layer name `{name}` (first used at line {first.mark_of('name').line})",
                            item.mark_of("name"), "give each layer a unique name")
        scope.taken[name] = item  # its mark is looked up only for the error
        return name

    def _name(self, item: YMap, scope: Scope, base: str, count: int, index: int,
              name: str | None = None) -> tuple[str, str]:
        """(local name, full name) of one repetition; ``name`` is its checked `name:` (:meth:`_written_name`)."""
        if name is not None:
            local = f"{name}.{index}" if count > 1 else name
        else:
            while True:
                scope.counters[base] = scope.counters.get(base, 0) + 1
                local = f"{base}{scope.counters[base]}"
                if local not in scope.names and local not in scope.taken:
                    break
        return local, scope.prefix + local

    def _pass_through(self, item: YMap, scope: Scope, base: str | None, through: str, count: int | None):
        """An item that yields nothing (skipped by a `when:` decided before its `repeat:`, or `repeat: 0`): its
        names refer to what it would have read. It takes the names its repetitions would have taken when their
        number is known without evaluating anything (``count``, or a `repeat:` written as a plain number), else its
        bare name; an unnamed item whose `type:` was not resolved takes none."""
        if count is None:
            written = item.get("repeat", 1)
            count = written if type(written) is int and written >= 0 else 1
        full = None
        name = self._written_name(item, scope)
        if base is not None or name is not None:
            # a name per repetition, as if it had expanded: counted against the layers' limit like the layers, or a
            # skipped `repeat: 10**100` would take names for ever
            if len(self.nodes) + self.passed + count > MAX_LAYERS:
                shown = f"{count:,}" if count < 10**30 else number_text(count)  # its size, past 30 digits
                raise SpecError(f"`repeat: {shown}` takes names past {MAX_LAYERS:,} layers (an item "
                                "skipped by its `when:` still takes the names of its repetitions)",
                                item.mark_of("repeat") if "repeat" in item else item.mark, "check the repeat count")
            self.passed += count
            for index in range(max(count, 1)):
                local, full = self._name(item, scope, base, count, index, name)
                scope.names[local] = through
            if "name" in item:
                scope.names[str(item["name"])] = through
                full = scope.prefix + str(item["name"]) if count <= 1 else full
        if "inputs" in item and full is not None:
            scope.skipped = (full, through)

    def _resolve_inputs(self, item: YMap, scope: Scope, later: "_Later", own_name: str | None) -> list[str]:
        if "inputs" not in item:
            return [scope.previous]
        raw = item["inputs"]
        if type(raw) is str:  # one name of this scope (most `inputs:`)
            target = scope.names.get(raw)
            if target is not None:
                return [target]
        elif type(raw) is YList and raw:  # names of this scope (a merge's)
            get = scope.names.get
            resolved = [get(name) if type(name) is str else None for name in raw]
            if None not in resolved:
                return resolved
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
            raise SpecError("`inputs` must be a layer name or a list of names", item.mark_of("inputs"),
                            "write `inputs: conv1` or `inputs: [conv1, shortcut]`")
        resolved = []
        local, full_names = scope.names, self.full_names
        for i, name in enumerate(names):
            target = local.get(name)  # the targets are names, never None
            if target is None:
                target = full_names.get(name)
            if target is not None:
                resolved.append(target)
                continue
            name_mark = names.mark_of(i) if isinstance(names, YList) else item.mark_of("inputs")  # for errors
            if own_name is not None and name == own_name:
                raise SpecError(f"layer `{name}` uses itself as an input: that is a cycle", name_mark,
                                "take the input from an earlier layer")
            elif name in later:
                target = later[name]
                back = target.get("inputs")
                back = [back] if isinstance(back, str) else (back or [])
                cycle = f" and `{name}` takes `{own_name}` back, a cycle" if own_name and own_name in back else ""
                raise SpecError(f"`{name}` is defined later (line {target.mark.line}){cycle}", name_mark,
                                "a layer can only take inputs from earlier layers; move it after its inputs")
            else:
                raise SpecError(f"unknown input `{name}`", name_mark,
                                did_you_mean(name, [n for n in scope.names if n != "input" or not scope.prefix]))
        return resolved

    def _literal_kind(self, item: YMap, scope: Scope):
        """The class of a `type:` written as a registered kind; None when it names a var or block argument, or is
        an expression, to be resolved once the item is kept (:meth:`_resolved_kind`)."""
        kind = item["type"]
        if not isinstance(kind, str):
            raise SpecError(f"`type` must name a layer kind, got {describe(kind)}", item.mark_of("type"),
                            f"write e.g. `type: conv`; {KINDS_LISTING}")
        if kind in self.registry:
            return self.registry[kind]
        text = kind.strip()
        if text.isidentifier() and text not in scope.variables and text not in RESERVED:  # a misspelt kind
            raise SpecError(f"unknown layer type `{kind}`", item.mark_of("type"),
                            did_you_mean(str(kind), self.registry, KINDS_LISTING))
        return None

    def _resolved_kind(self, item: YMap, scope: Scope, names: Names):
        """The class of a `type:` that names a var or block argument holding a kind word, or an expression giving
        one (``'hardswish' if use_hs else 'relu'``). Errors point at the `type:` value, or for a block argument at
        the call's value."""
        written = item["type"]
        mark = item.mark_of("type")
        try:
            text = written.strip()
            try:
                value = names[text] if text.isidentifier() else evaluate(written, names, mark, words=True)
            except _NeedsIndex:
                raise SpecError(f"`type: {shorten(text)}` cannot read `index`: the kind is chosen once for every "
                                "repetition", mark, "choose the kind with a block argument per repetition, or "
                                "split the repetitions") from None
            if not isinstance(value, str):
                raise SpecError(f"`type: {shorten(text)}` must give a layer kind, got {describe(value)}", mark,
                                f"give a kind word such as `relu`; {KINDS_LISTING}")
            if value not in self.registry:
                raise SpecError(f"unknown layer type `{shorten(value)}`", mark,
                                did_you_mean(value, self.registry, KINDS_LISTING))
        except SpecError as err:
            raise _in_call(err, scope, "type", written) from None
        return self.registry[value]

    def _check_keys(self, item: YMap, cls):
        if item.keys() <= self._kind(cls).allowed:  # one set comparison; the walk below finds the key to report
            return
        for key in item:
            if key not in cls.fields and key not in STRUCTURAL:
                raise SpecError(f"`{cls.kind}` has no key `{key}`", item.key_mark(key),
                                did_you_mean(str(key), list(cls.fields) + list(STRUCTURAL)))

    def _layer(self, item: YMap, scope: Scope, later: "_Later"):
        """One layer item: its `type:` and keys, its inputs, then `when:` (decided first when it can be),
        `repeat:`, and per repetition its name, fields and node (docs/spec.md, "The order of evaluation")."""
        cls = self._literal_kind(item, scope)
        if cls is not None:
            self._check_keys(item, cls)
        name = self._written_name(item, scope)
        inputs = self._resolve_inputs(item, scope, later, item.get("name"))
        names = Names(scope.variables, self, inputs[0], None)
        keep = self._when_first(item, scope, names)
        if keep is False:
            return self._pass_through(item, scope, cls.kind if cls else None, inputs[0], None)
        count = self._repeat(item, names)
        if cls is None:
            cls = self._resolved_kind(item, scope, names)
            self._check_keys(item, cls)
        kind = cls.kind
        if count == 0:
            return self._pass_through(item, scope, kind, inputs[0], 0)
        for index in range(count):
            local, full = self._name(item, scope, kind, count, index, name)
            if index:
                inputs = self._resolve_inputs(item, scope, later, item.get("name"))
            names.source, names.index = inputs[0], index  # this repetition's input and number
            if keep is None:
                when = self._per_repetition(item, "when", item.get("when", True), count, index)
                if not self._when(item, scope, when, count, names):
                    scope.names[local] = inputs[0]  # a skipped layer passes its input through
                    if count > 1 and "name" in item:
                        scope.names[str(item["name"])] = inputs[0]
                    if "inputs" in item:
                        scope.skipped = (full, inputs[0])
                    continue
            lo, hi = cls.arity
            if not (lo <= len(inputs) and (hi is None or len(inputs) <= hi)):
                _wrong_arity(item, kind, lo, hi, len(inputs))
            self._claim(full, item)
            fields, marks, flat = self._fields(item, self._kind(cls), scope, count, index, names)
            if "inputs" in item:  # merges point their shape errors at the `inputs:` value
                marks["inputs"] = LazyMark(item, "inputs")
            node = Node(full, kind, fields, inputs, item.mark, marks, scope.path,
                        scope.reads_previous(item) + _same_tensor(item, cls, inputs, scope), flat,
                        _trainable(item), _stage(item, scope))
            self.nodes.append(node)
            if len(self.nodes) > MAX_LAYERS:  # nested repeats multiply
                raise SpecError(f"the network expands past {MAX_LAYERS:,} layers", item.mark,
                                "check the repeat counts of this layer and of the blocks around it")
            scope.names[local] = full
            if count > 1 and "name" in item:
                scope.names[str(item["name"])] = full  # the bare name refers to the last repetition
            self.full_names[full] = full
            scope.previous = full

    def _single(self, item: YMap, scope: Scope, cls, later: "_Later"):
        """A layer of a kind word with neither `when:` nor `repeat:` (most layers): what :meth:`_layer` does for its
        one repetition, in the same order, with the common case of each step written out here (a call per step
        costs as much as the step) and the general one, with its errors, left to the step's method."""
        table = self.kinds.get(cls) or self._kind(cls)
        if not item.keys() <= table.allowed:
            self._check_keys(item, cls)  # raises: a key the kind does not have
        kind = table.kind
        if "name" in item:
            name = item["name"]
            # a plain printable word used once (most names) is taken without looking up a mark
            if not (type(name) is str and name and name != "input" and " " not in name and name.isprintable()
                    and scope.taken.setdefault(name, item) is item):
                name = self._written_name(item, scope)
        else:
            name = None
        if "inputs" in item:
            raw = item["inputs"]
            source = scope.names.get(raw) if type(raw) is str else None  # one name of this scope (most `inputs:`)
            inputs = [source] if source is not None else self._resolve_inputs(item, scope, later, item.get("name"))
        else:
            inputs = [scope.previous]
        if name is not None:
            local, full = name, scope.prefix + name
        else:
            local, full = self._name(item, scope, kind, 1, 0)
        lo, hi = table.arity
        if len(inputs) < lo or (hi is not None and len(inputs) > hi):
            _wrong_arity(item, kind, lo, hi, len(inputs))
        if full in self.claimed:
            self._claim(full, item)  # raises: the name is taken
        self.claimed[full] = item
        if table.bare and item.keys().isdisjoint(table.keys):  # no value of its own (a relu): the kind's defaults
            fields, marks, flat = dict(table.values), dict(table.marks), table.flat
        else:
            fields, marks, flat = self._fields(item, table, scope, 1, 0, None, inputs[0])
        if "inputs" in item:  # merges point their shape errors at the `inputs:` value
            marks["inputs"] = LazyMark(item, "inputs")
        notes = scope.reads_previous(item) if scope.skipped is not None else []
        if lo >= 2 and len(set(inputs)) != len(inputs):
            notes += _same_tensor(item, cls, inputs, scope)
        nodes = self.nodes
        nodes.append(Node(full, kind, fields, inputs, item.mark, marks, scope.path, notes, flat,
                          _trainable(item) if "trainable" in item else True,
                          _stage(item, scope) if "stage" in item else scope.stage))
        if len(nodes) > MAX_LAYERS:
            raise SpecError(f"the network expands past {MAX_LAYERS:,} layers", item.mark,
                            "check the repeat counts of this layer and of the blocks around it")
        scope.names[local] = full
        self.full_names[full] = full
        scope.previous = full

    def _kind(self, cls) -> "_Kind":
        """What this expansion reads of the kind ``cls``, worked out on its first layer, or remembered from an
        expansion of a spec with the same `defaults:` (a network expanded again, a sweep over its vars)."""
        table = self.kinds.get(cls)
        if table is None:
            source = self.defaults_source
            key = (cls, id(source), len(self.registry))  # (a kind registered since may read a default differently)
            known = _TABLES.get(key)
            if known is not None and known[0] is source and known[1].fields_of is cls.fields:
                table = known[1]
            else:
                table = _Kind(cls, self.defaults)
                if len(_TABLES) >= _TABLES_KEPT:
                    _TABLES.clear()
                _TABLES[key] = (source, table)  # the source is kept, so its id names no other mapping
            self.kinds[cls] = table
        return table

    def _claim(self, full: str, item: YMap):
        """Each full name belongs to one layer or block instance: `a` repeated twice is `a.0`, `a.1`, so a later
        `name: a.0` would give two layers one name (and inputs by that name would silently pick one)."""
        first = self.claimed.get(full)
        if first is not None:
            raise SpecError(f"two layers would be named `{full}`: this one and the one at line {first.mark.line}",
                            item.mark_of("name") if "name" in item else item.mark,
                            "rename one of them (a repeated `name: a` gives `a.0`, `a.1`, …, and the layers of a "
                            "block instance `b` are named `b.…`)")
        self.claimed[full] = item

    def _fields(self, item, table: "_Kind", scope, count, index, names: Names | None, source: str = ""):
        """The layer's field values and their marks, each from the layer, its kind's default, the flat default or
        the built-in one (in that order), and the keys a flat default gave (the analysis checks them against the
        kind's ``own_defaults``). ``names`` is None for a layer that has built none yet (:meth:`_single`): they
        are built, for input ``source``, when a value needs them.

        The values that do not come from the layer are the same for every layer of the kind (:class:`_Kind`), so
        only the layer's own keys are coerced, in the kind's order, as :meth:`_each_field` does; a kind whose
        defaults must be evaluated per layer, or a layer missing a required key, takes :meth:`_each_field`. A
        layer of a block (one repetition) gets the values of its earlier instances when they cannot differ: all
        constants, or read from the same values of the same names (:meth:`_names_key`) and not from a shape. Only
        values that were worked out without an error are remembered, so every error is raised afresh."""
        if not table.constant or not table.needed <= item.keys():
            if names is None:
                names = Names(scope.variables, self, source, index)
            return self._each_field(item, self.registry[table.kind], scope, count, index, names)
        memo = None  # the key this layer's values are remembered under (:attr:`block_fields`), if any
        if scope.call is not None and count == 1:  # a layer of a block: met again in every instance
            memo = id(item)
            known = self.block_fields.get(memo)
            if known is not None and known[0] is table:  # (a `type:` given by an argument may change the kind)
                if known[1] is None:  # its values read names: remembered per set of values of the names
                    memo = self._names_key(scope) and (memo, scope.names_key)
                    known = self.block_fields.get(memo) if memo else None
                if known is not None:
                    return dict(known[1]), dict(known[2]), known[3]
        values, marks = dict(table.values), dict(table.marks)
        coerced, calc, constant, shapes_read = self.coerced, None, True, self.shapes_read
        for key, field_obj in table.fields:
            if key not in item:
                continue
            raw = item[key]
            if count != 1:
                raw = self._per_repetition(item, key, raw, count, index, field_obj)
            if constant and memo is not None and not _constant(raw):
                constant = False  # its values depend on the instance's names
            marks[key] = mark = LazyMark(item, key)
            if type(raw) is int:  # a number (most values) coerces alike wherever it is written: once per field
                value = coerced.get((field_obj, raw))
                if value is not None:
                    values[key] = value
                    continue
            elif isinstance(raw, str):
                if names is None:
                    names = Names(scope.variables, self, source, index)
                if raw.strip() in names:
                    word = names[raw.strip()]
                    if isinstance(word, (str, list)):
                        raw = word  # a block argument holding a word or a per-axis list, or `in_size`
            if calc is None:
                if names is None:  # the names are built when an expression is read: most values are numbers
                    def calc(text, mark):
                        return evaluate(text, Names(scope.variables, self, source, index), mark, False)
                else:
                    calc = self._calc(names)
            try:
                value = field_obj.coerce(raw, mark, calc)
            except SpecError as err:
                raise _in_call(err, scope, key, item[key]) from None
            if type(raw) is int and type(value) is int:
                coerced[field_obj, raw] = value
            elif memo and not _immutable(value):
                memo = None  # a value the nodes could change: each instance gets its own
            values[key] = value
        flat = table.flat
        if flat and not item.keys().isdisjoint(flat):
            flat = tuple(key for key in flat if key not in item)
        if memo:  # (the kind's defaults in ``values`` are every layer's objects anyway; the layer's own were checked)
            if constant:  # every instance gets these values: coerced once
                self.block_fields[memo] = (table, values, marks, flat)
                return dict(values), dict(marks), flat
            if self.shapes_read == shapes_read:  # the same names give the same values: once per set of values
                if type(memo) is int:
                    self.block_fields[memo] = (table, None, None, None)
                    memo = self._names_key(scope) and (memo, scope.names_key)
                if memo:
                    self.block_fields[memo] = (table, values, marks, flat)
                    return dict(values), dict(marks), flat
        return values, marks, flat

    def _names_key(self, scope: Scope) -> bool:
        """Whether the values of the scope's vars and block arguments can be a key (:attr:`block_fields`), kept in
        ``scope.names_key``: a number naming that set of values (types included: `true` is no 1), or False."""
        if scope.names_key is None:
            snapshot = tuple((name, type(value), value) for name, value in scope.variables.items())
            if all(kind in _KEYED for _, kind, _ in snapshot):  # not a list given from Python
                scope.names_key = self.name_sets.setdefault(snapshot, len(self.name_sets))
            else:
                scope.names_key = False
        return scope.names_key is not False

    def _each_field(self, item, cls, scope, count, index, names: Names):
        """:meth:`_fields` worked out field by field, each default evaluated for this layer."""
        common, per_kind = self.defaults
        calc = self._calc(names)
        values, marks, flat = {}, {}, []
        for key, field_obj in cls.fields.items():
            if key in item:
                raw = self._per_repetition(item, key, item[key], count, index, field_obj)
                mark = LazyMark(item, key)
            elif key in per_kind.get(cls.kind, {}):
                raw, mark = per_kind[cls.kind][key]
            elif key in common:
                raw, mark = common[key]
                flat.append(key)
            elif field_obj.required:
                raise SpecError(f"`{cls.kind}` layer is missing `{key}`", item.mark,
                                f"add `{key}:`" + (f" ({field_obj.doc})" if field_obj.doc else ""))
            else:
                values[key] = field_obj.default
                continue
            if isinstance(raw, str) and raw.strip() in names:
                word = names[raw.strip()]
                if isinstance(word, (str, list)):
                    raw = word  # a block argument holding a word or a per-axis list, or `in_size`
            try:
                values[key] = field_obj.coerce(raw, mark, calc)
            except SpecError as err:
                raise _in_call(err, scope, key, item[key] if key in item else raw) from None
            marks[key] = mark
        return values, marks, tuple(flat)

    def _block_call(self, item: YMap, scope: Scope, later: "_Later"):
        block_name = item["block"]
        blocks = self.network.blocks
        if not isinstance(block_name, str):
            written = getattr(block_name, "word", None) or str(block_name)  # a YBool keeps its word
            raise SpecError(f"`block` must name a block, got {describe(block_name)}", item.mark_of("block"),
                            f"quote the name, `block: \"{written}\"`: unquoted, YAML reads it as "
                            + ("the number " if type(block_name) in (int, float) else "")
                            + f"{describe(block_name)}, not as text" if written in blocks else
                            "write `block: NAME` with a name defined under `blocks:`")
        if block_name not in blocks:
            raise SpecError(f"unknown block `{block_name}`", item.mark_of("block"),
                            did_you_mean(str(block_name), blocks) if blocks else "define it under `blocks:`")
        block = blocks[block_name]
        declared = block.get("args") or YMap()
        for key in item:
            if key not in BLOCK_CALL and key not in declared:
                raise SpecError(f"block `{block_name}` has no argument `{key}`", item.key_mark(key),
                                did_you_mean(str(key), list(declared) + list(BLOCK_CALL)))
        if block_name in self.calls:
            chain = " → ".join(self.calls[self.calls.index(block_name):] + [block_name])
            raise SpecError(f"block `{block_name}` uses itself ({chain})", item.mark_of("block"),
                            "a block cannot contain a call of itself, directly or through other blocks")
        if len(self.calls) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nest more than {MAX_BLOCK_DEPTH} deep at `{block_name}`", item.mark,
                            "flatten some levels of blocks")
        name = self._written_name(item, scope)
        inputs = self._resolve_inputs(item, scope, later, item.get("name"))
        names = Names(scope.variables, self, inputs[0], None)
        keep = self._when_first(item, scope, names)
        if keep is False:
            return self._pass_through(item, scope, str(block_name), inputs[0], None)
        count = self._repeat(item, names)
        if count == 0:
            return self._pass_through(item, scope, str(block_name), inputs[0], 0)
        self.calls.append(block_name)
        block_inputs = block.get("inputs", ["x"])
        block_inputs = [block_inputs] if isinstance(block_inputs, str) else list(block_inputs)
        layers = block["layers"]
        for index in range(count):
            if name is not None:
                local = f"{name}.{index}" if count > 1 else name
                full = scope.prefix + local
            else:
                local, full = self._name(item, scope, str(block_name), count, index)
            if index:
                inputs = self._resolve_inputs(item, scope, later, item.get("name"))
            names.source, names.index = inputs[0], index  # this repetition's input and number
            if keep is None:
                when = self._per_repetition(item, "when", item.get("when", True), count, index)
                if not self._when(item, scope, when, count, names):
                    scope.names[local] = inputs[0]
                    if "inputs" in item:
                        scope.skipped = (full, inputs[0])
                    continue
            if full in self.claimed:
                self._claim(full, item)  # raises: the name is taken
            self.claimed[full] = item
            if len(inputs) != len(block_inputs):
                raise SpecError(f"block `{block_name}` takes {len(block_inputs)} input(s) "
                                f"({', '.join(map(str, block_inputs))}), got {len(inputs)}",
                                item.mark_of("inputs") if "inputs" in item else item.mark,
                                "pass them with `inputs: [...]`")
            variables = dict(scope.variables)
            for arg, default in declared.items():
                if arg in item:
                    value = self._per_repetition(item, arg, item[arg], count, index)
                    mark = LazyMark(item, arg)  # looked up only for an error
                    variables[arg] = _argument(value, mark, names)
                elif default is None:
                    raise SpecError(f"block `{block_name}` needs argument `{arg}`", item.mark,
                                    f"add `{arg}: …` to this `block: {block_name}` item")
                else:
                    variables[arg] = _argument(default, LazyMark(declared, arg), names)
            notes = scope.reads_previous(item, who=f"block `{local}` ") if scope.skipped is not None else None
            inner = Scope(prefix=full + ".", names={str(n): i for n, i in zip(block_inputs, inputs)},
                           variables=variables, previous=inputs[0], path=scope.path + (full,), call=item,
                           block=str(block_name), stage=_stage(item, scope) if "stage" in item else scope.stage)
            first = len(self.nodes)
            self.expand_list(layers, inner)
            if notes and len(self.nodes) > first:  # the block's first layer reports how the block was wired
                self.nodes[first].notes[:0] = notes
            output = inner.previous
            if "output" in block:
                out_name = str(block["output"])
                if out_name not in inner.names:
                    raise SpecError(f"block `{block_name}` output `{out_name}` is not one of its layers",
                                    block.mark_of("output"), did_you_mean(out_name, inner.names))
                output = inner.names[out_name]
            scope.names[local] = output
            if count > 1 and "name" in item:
                scope.names[str(item["name"])] = output
            self.full_names[full] = output
            scope.previous = output
        self.calls.pop()


class _Kind:
    """A layer kind as a spec's expansions read it, worked out on the kind's first layer: the keys its items may
    have, and the values, marks and flat-default keys of the fields a layer leaves out. Those come from the spec's
    `defaults:` or the built-in defaults, the same for every layer of the kind; a default written as a constant is
    coerced here once (``constant`` stays true only if every one gives an immutable value without an error:
    otherwise each layer coerces them again, with its names and its error, :meth:`Expander._each_field`)."""

    __slots__ = ("kind", "fields_of", "fields", "keys", "allowed", "arity", "needed", "values", "marks", "flat",
                 "constant", "bare")

    def __init__(self, cls, defaults):
        common, per_kind = defaults
        own = per_kind.get(cls.kind, {})
        self.kind, self.arity, self.fields_of = cls.kind, cls.arity, cls.fields
        self.fields = tuple(cls.fields.items())
        self.keys = frozenset(cls.fields)
        self.allowed = frozenset(cls.fields).union(STRUCTURAL)
        #: the required keys no default gives: a layer without one takes the field-by-field walk, which reports it
        self.needed = frozenset(key for key, field_obj in self.fields
                                if field_obj.required and key not in own and key not in common)
        self.values, self.marks, flat = {}, {}, []
        self.constant = True
        for key, field_obj in self.fields:
            if key in own:
                raw, mark = own[key]
            elif key in common:
                raw, mark = common[key]
                flat.append(key)
            else:
                self.values[key] = field_obj.default  # for a required key, a place that the layer's value takes
                continue
            value = _coerced_constant(field_obj, raw, mark)
            if value is _PER_LAYER:
                self.constant = False
                break
            self.values[key], self.marks[key] = value, mark
        self.flat = tuple(flat)
        #: a layer that writes none of the kind's keys takes the values above as they are
        self.bare = self.constant and not self.needed


#: (kind class, id of a spec's `defaults:` mapping or of None, number of kinds) → (that mapping, the kind's table),
#: see Expander._kind
_TABLES: dict = {}
_TABLES_KEPT = 1000  # at most (a few kinds per spec, for the specs of a session)


_PER_LAYER = object()
_KEYED = frozenset((int, bool, str, Fraction, type(None)))  # the types of values of names that key a memo
_CONSTANTS = (int, YBool, Fraction, type(None))
_IMMUTABLE = (int, bool, str, Fraction, type(None))


def _constant(raw) -> bool:
    """Whether a written value holds no text: nothing in it is an expression, a var or a word."""
    return type(raw) in _CONSTANTS or (type(raw) is YList and all(map(_constant, raw)))


def _immutable(value) -> bool:
    return type(value) in _IMMUTABLE or (type(value) is tuple and all(map(_immutable, value)))


def _reads_no_names(text, mark):
    raise LookupError("a constant has no expression")  # never called: only text is evaluated


def _coerced_constant(field_obj, raw, mark):
    """``raw`` coerced by ``field_obj`` when it is a constant that coerces to an immutable value (so one result
    serves every layer), else :data:`_PER_LAYER`."""
    if not _constant(raw):
        return _PER_LAYER
    try:
        value = field_obj.coerce(raw, mark, _reads_no_names)
    except Exception:  # noqa: BLE001 - an error is reported by the layer that reads the default, as before
        return _PER_LAYER
    return value if _immutable(value) else _PER_LAYER


def _wrong_arity(item: YMap, kind: str, lo: int, hi: int | None, given: int):
    want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
    raise SpecError(f"`{kind}` takes {want} input{'s' if want != '1' else ''}, got {given}",
                    item.mark_of("inputs") if "inputs" in item else item.mark,
                    "list the inputs with `inputs: [a, b]`" if lo > 1 else "give a single input")


def _same_tensor(item: YMap, cls, inputs: list[str], scope: Scope) -> list[str]:
    """A note for a merge (a kind that takes two or more inputs) given one tensor more than once: legal (`add`
    doubles it, `multiply` squares it) but usually a miswiring, as `inputs: [a, a]`, or two names of which one
    stands for the other (a layer skipped by `when:` passes its input through; a block input is what the call
    passes)."""
    if cls.arity[0] < 2 or len(set(inputs)) == len(inputs):
        return []
    notes = []
    for target in dict.fromkeys(inputs):
        names = [str(name) for name, resolved in zip(item["inputs"], inputs) if resolved == target]
        if len(names) < 2:
            continue
        inside = scope.prefix and target.startswith(scope.prefix)
        tensor = target[len(scope.prefix):] if inside else target  # the layer itself, not a block input naming it
        times = "twice" if len(names) == 2 else f"{len(names)} times"
        written = ", ".join(f"`{name}`" for name in names)
        aliases = [f"`{name}`" for name in dict.fromkeys(names) if name != tensor]
        through = f" ({' and '.join(aliases)} {'stands' if len(aliases) == 1 else 'stand'} for it: a layer " \
                  "skipped by `when:` passes its input through, a block input is what the call passes)" \
            if aliases else ""
        every = "both" if len(names) == 2 else "all"
        notes.append(f"`{cls.kind}` receives the same tensor {times}: its inputs {written} are {every} `{tensor}`"
                     f"{through}; if that is meant, ignore this, else name distinct layers in `inputs:`")
    return notes


def _in_call(err: SpecError, scope: Scope, key: str, written) -> SpecError:
    """A field error inside a block instance, told where the value came from. When the field is just an argument
    (`kernel: k`) that the call passes, the error points at the call's value (`k: 2.5`), the thing to fix;
    otherwise it names the instance and its call's line."""
    call = scope.call
    if call is None:
        return err
    arg = written.strip() if isinstance(written, str) else None
    if arg is not None and arg in call and arg not in BLOCK_CALL:
        where = f"`{key}: {arg}` in block `{scope.block}`, line {err.mark.line}" if err.mark else f"`{key}: {arg}`"
        return SpecError(f"{err.message} (from {where})", call.mark_of(arg), err.hint)
    return SpecError(f"{err.message} (in `{scope.prefix[:-1]}`, the call of block `{scope.block}` at line "
                     f"{call.mark.line})", err.mark, err.hint)


class _Later:
    """The named items after position ``index`` of a layer list, by name (the last one wins), for the error
    "defined later". Built only when a lookup misses, so a long list costs O(n), not O(n²); the walk moves
    ``index`` along the list (one object per list, not per item)."""

    def __init__(self, items: YList, index: int = 0):
        self.items, self.index, self.names, self.built_at = items, index, None, -1

    def _built(self) -> dict:
        if self.names is None or self.built_at != self.index:
            self.names = {str(it["name"]): it for it in self.items[self.index + 1:]
                          if isinstance(it, YMap) and "name" in it}
            self.built_at = self.index
        return self.names

    def __contains__(self, name) -> bool:
        return name in self._built()

    def __getitem__(self, name):
        return self._built()[name]


def _argument(value, mark, names: Names):
    """A block argument, evaluated in the caller's scope (with the call's input shape and `index`). It may give a
    word: a plain word that names nothing (`mode: bilinear`, `act: relu`) is passed as text, and an expression may
    choose between quoted words (`"'hardswish' if use_hs else 'relu'"`)."""
    if isinstance(value, str):
        if value.isidentifier() and value not in names:
            return value  # a plain word, e.g. a padding mode or an upsample mode, passed as text
        return evaluate(value, names, mark, words=True)
    if isinstance(value, YBool):
        return bool(value)
    return value


def _stage(item: YMap, scope: Scope) -> str:
    """The item's `stage:` (a name; a number is written as its digits), else its enclosing block call's: what
    `convcalc analyze --by stage` rolls it up under instead of its name's top-level prefix."""
    value = item.get("stage")
    if value is None:
        return scope.stage
    if isinstance(value, (bool, YBool)) or not isinstance(value, (str, int)) or not str(value).strip():
        raise SpecError(f"`stage` must be a name, got {describe(value)}", item.mark_of("stage"),
                        "write e.g. `stage: layer1`: the stage `convcalc analyze --by stage` rolls this item up under")
    return str(value)


def _trainable(item: YMap) -> bool:
    """The layer's `trainable:` key (default true): false freezes its params for `convcalc cost --train`."""
    value = item.get("trainable", True)
    if isinstance(value, YBool):
        return bool(value)
    if not isinstance(value, bool):
        raise SpecError(f"`trainable` must be true or false, got {describe(value)}", item.mark_of("trainable"),
                        "write `trainable: false` to freeze the layer's params (docs/training.md)")
    return value
