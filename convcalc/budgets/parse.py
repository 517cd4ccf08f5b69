"""Reading budgets: values (SI and binary suffixes, percentages), ``budgets:`` sections (in a spec or a budgets
file), budgets files and command-line flags, and merging them. Everything here returns
:mod:`~convcalc.budgets.kinds` budgets; bad input is a :class:`~convcalc.errors.SpecError` at its position.

A budgets section (in a spec under ``budgets:``, or a separate YAML file) looks like::

    budgets:
      params: 5M                    # totals: params, macs, flops, activation_bytes, weight_bytes,
      macs: 600M                    #         peak_activation_bytes
      peak_activation_bytes: 8MiB
      layer_max: {macs: 200M, activation_bytes: 4MiB}      # every layer; or a list of rules, each with an
                                                           # optional `layers: "glob"` restricting it
      min_rf: 224                   # the final layer's RF on every axis (or a per-axis list, or
                                    # {size: 224, layer: NAME})
      max_increase: {macs: 2%, params: 0%}                 # against --baseline (a `convcalc analyze` JSON)

Conventions, stated once here:

* Values are exact. Suffixes K/k, M, G, T multiply by 10^3, 10^6, 10^9, 10^12; byte quantities also take
  KiB, MiB, GiB, TiB (2^10 … 2^40), and an optional ``B`` (``4MB`` = 4·10^6 bytes). Decimals are read as
  fractions (``1.5M`` = 1,500,000), so no limit is ever rounded.
* ``max_increase`` values ending in ``%`` are relative to the baseline; without ``%`` they are an absolute amount
  (``params=1K``: at most 1,000 more parameters).
* Where one budget is set in several places the last one wins: spec ``budgets:`` < ``--budgets`` file (its
  common section, then its ``specs:`` entry for this spec) < command-line flags (:func:`merge`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import Mark, SpecError, SpecErrors, did_you_mean, every_error
from ..limits import check_number, decimal_value, read_file, shorten, whole_number
from ..spec.fields import describe
from ..numbers import decimal_text, whole
from ..spec.yamlio import YBool, YList, YMap
from .kinds import Budget, LayerMax, MaxIncrease, MinRF, Number, RooflineMax, TotalMax
from .quantities import BYTE_QUANTITIES, LAYER_QUANTITIES, QUANTITIES, ROOFLINE_QUANTITIES, TRAINING_QUANTITIES

#: what a baseline lacks for each training quantity, for the `max_increase` refusal
_TRAINING_WORDS = {"backward_macs": "backward MACs", "backward_flops": "backward FLOPs",
                   "train_memory_bytes": "training memory"}

SECTION_KEYS = (*QUANTITIES, *ROOFLINE_QUANTITIES, "layer_max", "min_rf", "max_increase")
FILE_KEYS = ("budgets", "specs")

SI_SUFFIXES = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY_SUFFIXES = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_AMOUNT = re.compile(r"^(?P<number>(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)?(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)\s*"
                     r"(?P<suffix>[A-Za-z]*)\s*(?P<percent>%?)$")


# ---- values ------------------------------------------------------------------------------------------------------
def parse_amount(value: Any, mark: Mark | None, what: str, *, byte_units: bool = False,
                 percent: bool = False) -> tuple[Number, bool, str]:
    """Read a budget value exactly: ``(amount, is_percent, text as written)``.

    ``5M`` → 5,000,000; ``4MiB`` → 4,194,304 (only where ``byte_units``); ``1.5G`` → 1,500,000,000;
    ``2%`` → (2/100, True) (only where ``percent``). YAML ints and decimals are taken as they are.
    """
    if isinstance(value, (YBool, bool)):
        word = getattr(value, "word", str(value).lower())
        raise SpecError(f"`{what}` got the YAML boolean `{word}`, not a number", mark,
                        f"write a number such as {_example(byte_units, percent)}")
    if isinstance(value, (int, Fraction)):
        amount = Fraction(value)
        text = decimal_text(amount)
        is_percent = False
    elif isinstance(value, str):
        amount, is_percent, text = _parse_text(value.strip(), mark, what, byte_units, percent)
    else:
        kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "empty"
        raise SpecError(f"`{what}` must be a number, got {kind}", mark,
                        f"write a number such as {_example(byte_units, percent)}")
    if amount < 0:
        raise SpecError(f"`{what}` cannot be negative, got {shorten(text)}", mark, "a budget is a limit ≥ 0")
    return whole(amount), is_percent, shorten(text)


def _parse_text(text: str, mark, what, byte_units, percent) -> tuple[Fraction, bool, str]:
    match = _AMOUNT.match(text)
    if not match or not match["number"]:
        hint = f"write a number with an optional suffix, e.g. {_example(byte_units, percent)}"
        if "," in text:
            hint = "use `.` for decimals and `_` (or nothing) between thousands, e.g. 1_500_000 or 1.5M"
        raise SpecError(f"cannot read `{shorten(text)}` as a value for `{what}`", mark, hint)
    number, suffix, is_percent = match["number"], match["suffix"], bool(match["percent"])
    if not number[0].isdigit() and not number.startswith("."):
        raise SpecError(f"cannot read `{shorten(text)}` as a value for `{what}`", mark,
                        f"write a number with an optional suffix, e.g. {_example(byte_units, percent)}")
    amount = decimal_value(number.replace(",", ""), mark, f"`{what}`")  # within ±10^100, checked on the text
    if is_percent:
        if not percent:
            raise SpecError(f"`{what}: {shorten(text)}`: a percentage is only allowed in `max_increase`", mark,
                            f"write an absolute limit such as {_example(byte_units, False)}")
        if suffix:
            raise SpecError(f"`{what}: {shorten(text)}`: a percentage takes no unit suffix", mark, "write e.g. 2%")
        return amount / 100, True, text
    scale = _suffix_scale(suffix, text, mark, what, byte_units)
    return check_number(amount * scale, mark, f"`{what}`"), False, text


def _suffix_scale(suffix: str, text: str, mark, what: str, byte_units: bool) -> int:
    if suffix in SI_SUFFIXES:
        return SI_SUFFIXES[suffix]
    if byte_units:
        if suffix in BINARY_SUFFIXES:
            return BINARY_SUFFIXES[suffix]
        if suffix.endswith("B") and suffix[:-1] in SI_SUFFIXES:
            return SI_SUFFIXES[suffix[:-1]]
        known = [*SI_SUFFIXES, *BINARY_SUFFIXES, *(s + "B" for s in SI_SUFFIXES)]
    else:
        if suffix in BINARY_SUFFIXES or suffix.endswith("B"):
            raise SpecError(f"`{what}: {shorten(text)}`: byte suffixes are for byte budgets, and `{what}` is a count",
                            mark,
                            "use K, M, G or T (powers of 1000), e.g. 5M")
        known = list(SI_SUFFIXES)
    known = [s for s in known if s]
    hint = did_you_mean(suffix, known)
    if suffix in ("m", "g", "t"):
        hint = f"suffixes are upper case (`{suffix.upper()}`); only kilo may be written `k`"
    raise SpecError(f"`{what}: {shorten(text)}`: unknown suffix `{shorten(suffix)}`", mark, hint)


def _example(byte_units: bool, percent: bool) -> str:
    if percent:
        return "2% (of the baseline) or 1M (absolute)"
    return "4MiB or 8M" if byte_units else "600M or 1.5G"


# ---- sections, budgets files, flags ------------------------------------------------------------------------------
def parse_section(data: Any, origin: str, mark: Mark | None = None) -> list[Budget]:
    """The budgets in one ``budgets:`` mapping (of a spec or a budgets file)."""
    if not isinstance(data, YMap):
        raise SpecError("`budgets` must be a mapping", getattr(data, "mark", mark),
                        "write e.g. `budgets: {params: 5M, macs: 600M}`")
    budgets: list[Budget] = []
    problems: list[SpecError] = []  # every bad budget is reported, not only the first
    for key in data:
        try:
            budgets += _section_entry(data, key, origin)
        except SpecError as err:
            problems += every_error(err)
    if problems:
        raise SpecErrors(problems, budgets)
    return budgets


def _section_entry(data: YMap, key, origin: str) -> list[Budget]:
    """The budgets of one key of a ``budgets:`` mapping."""
    value, where, value_mark = data[key], data.key_mark(key), data.mark_of(key)
    if key in QUANTITIES:
        amount, _, text = parse_amount(value, value_mark, str(key), byte_units=key in BYTE_QUANTITIES)
        return [TotalMax(quantity=key, limit=amount, text=text, origin=origin, mark=where)]
    if key in ROOFLINE_QUANTITIES:
        amount, _, text = parse_amount(value, value_mark, str(key), byte_units=key in BYTE_QUANTITIES)
        return [RooflineMax(quantity=key, limit=amount, text=text, origin=origin, mark=where)]
    if key == "layer_max":
        return _layer_rules(value, value_mark, origin)
    if key == "min_rf":
        return [_min_rf(value, value_mark, where, origin)]
    if key == "max_increase":
        return _increases(value, value_mark, origin)
    raise SpecError(f"unknown budget `{shorten(key)}`", where, did_you_mean(str(key), SECTION_KEYS))


def _layer_rules(value, mark, origin) -> list[Budget]:
    rules = value if isinstance(value, YList) else [value]
    marks = [value.mark_of(i) for i in range(len(value))] if isinstance(value, YList) else [mark]
    if not rules:
        raise SpecError("`layer_max` is an empty list", mark, "give at least one rule, e.g. `{macs: 200M}`")
    budgets = []
    for rule, rule_mark in zip(rules, marks):
        if not isinstance(rule, YMap):
            raise SpecError("each `layer_max` rule must be a mapping", rule_mark,
                            "write e.g. `layer_max: {macs: 200M, layers: \"layer4.*\"}`")
        glob = rule.get("layers")
        if glob is not None and (not isinstance(glob, str) or not glob):
            raise SpecError("`layers` must be a name glob such as \"layer4.*\"", rule.mark_of("layers"),
                            "quote the glob: `layers: \"layer4.*\"`")
        found = False
        for key, amount_value in rule.items():
            if key == "layers":
                continue
            if key not in LAYER_QUANTITIES:
                raise SpecError(f"`layer_max` has no quantity `{key}`", rule.key_mark(key),
                                did_you_mean(str(key), (*LAYER_QUANTITIES, "layers")))
            amount, _, text = parse_amount(amount_value, rule.mark_of(key), f"layer_max.{key}",
                                           byte_units=key in BYTE_QUANTITIES)
            budgets.append(LayerMax(quantity=key, limit=amount, text=text, origin=origin, mark=rule.key_mark(key),
                                    layers=glob, layers_mark=rule.mark_of("layers") if glob else None))
            found = True
        if not found:
            raise SpecError("a `layer_max` rule with no limit", rule.mark,
                            f"add one of {', '.join(LAYER_QUANTITIES)}, e.g. `macs: 200M`")
    return budgets


def _min_rf(value, mark, where, origin) -> Budget:
    layer = None
    if isinstance(value, YMap):
        for key in value:
            if key not in ("size", "layer"):
                raise SpecError(f"`min_rf` has no key `{key}`", value.key_mark(key),
                                did_you_mean(str(key), ("size", "layer")))
        if "size" not in value:
            raise SpecError("`min_rf` needs `size`", value.mark, "write e.g. `min_rf: {size: 224, layer: conv5}`")
        layer = value.get("layer")
        if layer is not None and not isinstance(layer, str):
            raise SpecError("`min_rf.layer` must be a layer name", value.mark_of("layer"), "e.g. `layer: conv5`")
        mark, value = value.mark_of("size"), value["size"]
    if isinstance(value, YList):
        if not value:
            raise SpecError("`min_rf` is an empty list", mark, "give one size per spatial axis, e.g. [224, 224]")
        sizes = tuple(_rf_size(v, value.mark_of(i)) for i, v in enumerate(value))
        return MinRF(limit=sizes, text="×".join(map(str, sizes)), origin=origin, mark=where, layer=layer)
    size = _rf_size(value, mark)
    return MinRF(limit=size, text=str(size), origin=origin, mark=where, layer=layer)


def _rf_size(value, mark) -> int:
    if isinstance(value, (YBool, bool)) or not isinstance(value, int) or value < 1:
        raise SpecError(f"`min_rf` must be a whole number of input positions ≥ 1, got {describe(value)}", mark,
                        "write e.g. `min_rf: 224` or one size per axis, `min_rf: [224, 224]`")
    return int(value)


def _increases(value, mark, origin) -> list[Budget]:
    if not isinstance(value, YMap):
        raise SpecError("`max_increase` must be a mapping", mark, "write e.g. `max_increase: {macs: 2%, params: 0%}`")
    budgets = []
    for key, amount_value in value.items():
        if key not in QUANTITIES:
            raise SpecError(f"`max_increase` has no quantity `{key}`", value.key_mark(key),
                            did_you_mean(str(key), QUANTITIES))
        if key in TRAINING_QUANTITIES:
            raise SpecError(f"`max_increase` cannot compare `{key}`: a baseline (an analyze JSON) has no "
                            f"{_TRAINING_WORDS[key]}", value.key_mark(key), f"give `{key}` as a maximum instead (`{key}: AMOUNT`)")
        amount, relative, text = parse_amount(amount_value, value.mark_of(key), f"max_increase.{key}",
                                              byte_units=key in BYTE_QUANTITIES, percent=True)
        budgets.append(MaxIncrease(quantity=key, limit=amount, text=text, origin=origin, mark=value.key_mark(key),
                                   relative=relative))
    return budgets


def spec_budgets(network) -> list[Budget]:
    """The budgets in a spec's ``budgets:`` section (a :class:`~convcalc.spec.Network` or ``Graph``)."""
    data = network.budgets
    if data is None:
        return []
    doc = getattr(network, "doc", None)
    return parse_section(data, "spec", doc.mark_of("budgets") if doc is not None else None)


@dataclass
class BudgetsFile:
    """A ``--budgets`` file: budgets for every spec, plus optional per-spec sections keyed by spec name."""

    path: str
    common: list[Budget] = field(default_factory=list)
    per_spec: dict[str, list[Budget]] = field(default_factory=dict)

    def for_spec(self, *names: str) -> list[Budget]:
        """The common budgets followed by the first per-spec section matching one of ``names``."""
        for name in names:
            if name in self.per_spec:
                return self.common + self.per_spec[name]
        return list(self.common)


def load_budgets_file(path: str) -> BudgetsFile:
    """Read a budgets file. Either a bare budgets mapping, or ``budgets:`` (for every spec) and/or ``specs:``
    (spec name or file stem → budgets)."""
    from ..spec.yamlio import load_yaml

    doc = load_yaml(read_file(path, "the budgets file", hint="check the --budgets path"), path)
    if not isinstance(doc, YMap):
        raise SpecError("a budgets file must be a mapping", getattr(doc, "mark", Mark(path, 1, 1)),
                        "write e.g. `macs: 600M` at the top level, or `budgets:` and `specs:` sections")
    origin = f"budgets file {path}"
    if not any(key in doc for key in FILE_KEYS):
        return BudgetsFile(path, parse_section(doc, origin, doc.mark))
    for key in doc:
        if key not in FILE_KEYS:
            hint = did_you_mean(str(key), FILE_KEYS)
            if key in SECTION_KEYS:
                hint = f"put `{key}` under `budgets:` (for every spec) or under `specs: {{NAME: …}}`"
            raise SpecError(f"unknown key `{key}` in a budgets file with `budgets:`/`specs:` sections",
                            doc.key_mark(key), hint)
    problems: list[SpecError] = []  # every bad budget of every section, not only the first

    def section(data, mark) -> list[Budget]:
        try:
            return parse_section(data, origin, mark)
        except SpecError as err:
            problems.extend(every_error(err))
            return []

    common = section(doc["budgets"], doc.mark_of("budgets")) if "budgets" in doc else []
    per_spec: dict[str, list[Budget]] = {}
    specs = doc.get("specs")
    if specs is not None:
        if not isinstance(specs, YMap):
            raise SpecError("`specs` must map spec names to budgets", doc.mark_of("specs"),
                            "write `specs: {resnet50: {macs: 4.1G}}`")
        for name, entry in specs.items():
            per_spec[str(name)] = section(entry, specs.mark_of(name))
    if problems:
        raise SpecErrors(problems)
    return BudgetsFile(path, common, per_spec)


def parse_cli_max(texts: list[str] | None) -> list[Budget]:
    """``--max KEY=VALUE`` flags: a total (``macs=600M``) or a per-layer maximum (``layer_max.macs=200M``)."""
    budgets = []
    for text in texts or []:
        key, value = _split_flag("--max", text, "macs=600M")
        origin = f"--max {shorten(text)}"
        if key in QUANTITIES:
            amount, _, shown = parse_amount(value, None, f"--max {key}", byte_units=key in BYTE_QUANTITIES)
            budgets.append(TotalMax(quantity=key, limit=amount, text=shown, origin=origin))
        elif key in ROOFLINE_QUANTITIES:
            amount, _, shown = parse_amount(value, None, f"--max {key}", byte_units=key in BYTE_QUANTITIES)
            budgets.append(RooflineMax(quantity=key, limit=amount, text=shown, origin=origin))
        elif key.startswith("layer_max."):
            quantity = key.split(".", 1)[1]
            if quantity not in LAYER_QUANTITIES:
                raise SpecError(f"--max {shorten(text)}: `layer_max` has no quantity `{shorten(quantity)}`", None,
                                did_you_mean(quantity, LAYER_QUANTITIES))
            amount, _, shown = parse_amount(value, None, f"--max {key}", byte_units=quantity in BYTE_QUANTITIES)
            budgets.append(LayerMax(quantity=quantity, limit=amount, text=shown, origin=origin))
        else:
            choices = [*QUANTITIES, *ROOFLINE_QUANTITIES, *(f"layer_max.{q}" for q in LAYER_QUANTITIES)]
            raise SpecError(f"--max {shorten(text)}: unknown budget `{shorten(key)}`", None, did_you_mean(key, choices))
    return budgets


def parse_cli_min_rf(text: str | None) -> list[Budget]:
    """``--min-rf 224`` (every axis) or ``--min-rf 224x160`` (per axis)."""
    if text is None:
        return []
    parts = text.lower().replace("×", "x").split("x")
    try:
        if len(parts) > 3:
            raise ValueError
        sizes = tuple(whole_number(part, "--min-rf", shown=text) for part in parts)
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise SpecError(f"--min-rf {shorten(text)}: need whole sizes ≥ 1, one to three", None,
                        "write e.g. --min-rf 224 or --min-rf 224x224")
    limit = sizes[0] if len(sizes) == 1 else sizes
    return [MinRF(limit=limit, text="×".join(map(str, sizes)), origin=f"--min-rf {shorten(text)}")]


def parse_cli_increase(texts: list[str] | None) -> list[Budget]:
    """``--max-increase KEY=PCT%`` (relative to the baseline) or ``KEY=AMOUNT`` (absolute)."""
    budgets = []
    for text in texts or []:
        key, value = _split_flag("--max-increase", text, "macs=2%")
        if key not in QUANTITIES:
            raise SpecError(f"--max-increase {shorten(text)}: unknown quantity `{shorten(key)}`", None,
                            did_you_mean(key, QUANTITIES))
        if key in TRAINING_QUANTITIES:
            raise SpecError(f"--max-increase {shorten(text)}: a baseline (an analyze JSON) has no "
                            f"{_TRAINING_WORDS[key]}",
                            None, f"give it as a maximum instead (--max {key}=AMOUNT)")
        amount, relative, shown = parse_amount(value, None, f"--max-increase {key}",
                                               byte_units=key in BYTE_QUANTITIES, percent=True)
        budgets.append(MaxIncrease(quantity=key, limit=amount, text=shown, origin=f"--max-increase {shorten(text)}",
                                   relative=relative))
    return budgets


def _split_flag(flag: str, text: str, example: str) -> tuple[str, str]:
    if "=" not in text:
        raise SpecError(f"`{flag} {shorten(text)}` is not KEY=VALUE", None, f"write e.g. {flag} {example}")
    key, value = (part.strip() for part in text.split("=", 1))
    return key, value


def merge(*sources: list[Budget]) -> list[Budget]:
    """Budgets from several sources; a later budget with the same :attr:`Budget.key` replaces an earlier one
    (and takes its place in the order)."""
    merged: dict[str, Budget] = {}
    for source in sources:
        for budget in source:
            merged[budget.key] = budget
    return list(merged.values())


def run_options(specs, budgets, max_, min_rf, baseline, max_increase, skip_unbudgeted, batch, input, sets,
                allow_unsupported=False, device=None, convention="torchvision", with_bugs=False):
    """The options of one ``convcalc check`` run, from its command line; any problem here is bad input for every
    spec (exit 2 before checking)."""
    from ..spec.loader import parse_input_override, parse_override

    increases = parse_cli_increase(max_increase)
    flags = parse_cli_max(max_) + parse_cli_min_rf(min_rf) + increases
    if increases and not baseline:
        raise SpecError("--max-increase needs --baseline", None,
                        "create one with `convcalc analyze SPEC --format json > baseline.json`")
    if baseline:
        if not os.path.exists(baseline):
            raise SpecError(f"--baseline {baseline}: no such file or directory", None, "check the path")
        if not os.path.isdir(baseline) and len(specs) > 1:
            raise SpecError(f"--baseline {baseline} is one report but {len(specs)} specs are checked", None,
                            "pass a directory holding NAME.json for each spec (NAME = the spec's file stem)")
    budgets_file = load_budgets_file(budgets) if budgets else None
    shape = parse_input_override(input) if input is not None else None
    overrides = dict(parse_override(text) for text in sets or [])
    profile = None
    if device is not None:
        from ..cost.devices import find_device

        profile = find_device(device)
    from ..cost.peers import check_convention

    check_convention(convention, with_bugs)
    return CheckOptions(overrides, shape, batch, budgets_file, flags, baseline, skip_unbudgeted, allow_unsupported,
                        profile, convention, with_bugs)


@dataclass
class CheckOptions:
    """What applies to every spec of a run: the common expansion options and the non-spec budget sources."""

    overrides: dict = field(default_factory=dict)
    input_shape: tuple | None = None
    batch: int | None = None
    budgets_file: BudgetsFile | None = None
    flags: list[Budget] = field(default_factory=list)
    baseline: str | None = None
    skip_unbudgeted: bool = False
    #: an import source's operators without a kind become zero-cost placeholders (a warning says so)
    allow_unsupported: bool = False
    #: the device profile of `latency_ms` budgets (`--device`), or None
    device: Any = None
    #: `--convention`: params and MACs as that peer tool counts them (convcalc/cost/peers.py), `--with-bugs`
    convention: str = "torchvision"
    with_bugs: bool = False
