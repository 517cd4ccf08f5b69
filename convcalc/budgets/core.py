"""Model budgets: parse limits on a network's cost, check a :class:`~convcalc.report.Report` against them, and gate
regressions against a baseline report. The CLI is ``convcalc check`` (docs/check.md); everything here returns
plain dataclasses and knows nothing about output formats (those live in :mod:`convcalc.render.check`).

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

* A limit is inclusive: a value equal to its limit is within budget.
* Values are exact. Suffixes K/k, M, G, T multiply by 10^3, 10^6, 10^9, 10^12; byte quantities also take
  KiB, MiB, GiB, TiB (2^10 … 2^40), and an optional ``B`` (``4MB`` = 4·10^6 bytes). Decimals are read as
  fractions (``1.5M`` = 1,500,000), so no limit is ever rounded.
* ``max_increase`` values ending in ``%`` are relative to the baseline; without ``%`` they are an absolute amount
  (``params=1K``: at most 1,000 more parameters).
* Where one budget is set in several places the last one wins: spec ``budgets:`` < ``--budgets`` file (its
  common section, then its ``specs:`` entry for this spec) < command-line flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction
from math import prod
from pathlib import Path
from typing import Any, Union

from ..errors import Mark, SpecError, did_you_mean
from ..cost.report import LayerReport, Report
from ..spec.yamlio import YBool, YList, YMap
from ..numbers import whole

Number = Union[int, Fraction]

#: total quantities that can be budgeted -> what they are (docs/check.md repeats this table)
QUANTITIES: dict[str, str] = {
    "params": "learnable parameters (weights + biases)",
    "macs": "multiply-accumulates of conv/linear layers, bias excluded, whole batch",
    "flops": "FLOPs, whole batch (docs/flops.md)",
    "activation_bytes": "sum over layers of output elements × dtype bytes × batch",
    "weight_bytes": "params × dtype bytes",
    "peak_activation_bytes": "largest sum of live activations when running the layers in order",
}
BYTE_QUANTITIES = frozenset({"activation_bytes", "weight_bytes", "peak_activation_bytes"})
#: quantities with a per-layer value, for `layer_max`
LAYER_QUANTITIES = ("params", "macs", "flops", "activation_bytes", "weight_bytes")
SECTION_KEYS = (*QUANTITIES, "layer_max", "min_rf", "max_increase")
FILE_KEYS = ("budgets", "specs")
TOP_CONTRIBUTORS = 3

SI_SUFFIXES = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY_SUFFIXES = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_AMOUNT = re.compile(r"^(?P<number>(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)?(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)\s*"
                     r"(?P<suffix>[A-Za-z]*)\s*(?P<percent>%?)$")


# ---- what a budget is ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """One limit.

    ``kind`` is ``max`` (a total), ``layer_max`` (every matching layer), ``min_rf`` (the receptive field of the
    final layer, or of ``layer``) or ``max_increase`` (a total against a baseline report).
    ``limit`` is exact: a count or byte number; for ``min_rf`` an int or one int per spatial axis; for
    ``max_increase`` the allowed increase, as a fraction of the baseline when ``relative`` (2% → 1/50).
    ``mark`` is where the budget was written (None for a command-line flag, described by ``origin``).
    """

    kind: str
    quantity: str
    limit: Any
    text: str
    origin: str
    mark: Mark | None = None
    layers: str | None = None
    relative: bool = False
    layers_mark: Mark | None = None

    @property
    def key(self) -> str:
        """Identity for overriding: a budget with the same key set later replaces this one."""
        if self.kind == "max":
            return self.quantity
        if self.kind == "layer_max":
            return f"layer_max[{self.layers}].{self.quantity}" if self.layers else f"layer_max.{self.quantity}"
        if self.kind == "max_increase":
            return f"max_increase.{self.quantity}"
        return "min_rf"

    @property
    def label(self) -> str:
        """A short human name, e.g. ``macs ≤ 600M`` or ``layer_max.macs ≤ 200M (layers layer4.*)``."""
        if self.kind == "min_rf":
            where = f" ({self.layers})" if self.layers else ""
            return f"min_rf ≥ {self.text}{where}"
        if self.kind == "max_increase":
            return f"{self.quantity} ≤ baseline +{self.text}"
        if self.kind == "layer_max":
            scope = f" (layers {self.layers})" if self.layers else ""
            return f"layer_max.{self.quantity} ≤ {self.text}{scope}"
        return f"{self.quantity} ≤ {self.text}"


# ---- reading values --------------------------------------------------------------------------------------------
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
        text = _plain(amount)
        is_percent = False
    elif isinstance(value, str):
        amount, is_percent, text = _parse_text(value.strip(), mark, what, byte_units, percent)
    else:
        kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "empty"
        raise SpecError(f"`{what}` must be a number, got {kind}", mark,
                        f"write a number such as {_example(byte_units, percent)}")
    if amount < 0:
        raise SpecError(f"`{what}` cannot be negative, got {text}", mark, "a budget is a limit ≥ 0")
    return whole(amount), is_percent, text


def _parse_text(text: str, mark, what, byte_units, percent) -> tuple[Fraction, bool, str]:
    match = _AMOUNT.match(text)
    if not match or not match["number"]:
        hint = f"write a number with an optional suffix, e.g. {_example(byte_units, percent)}"
        if "," in text:
            hint = "use `.` for decimals and `_` (or nothing) between thousands, e.g. 1_500_000 or 1.5M"
        raise SpecError(f"cannot read `{text}` as a value for `{what}`", mark, hint)
    number, suffix, is_percent = match["number"], match["suffix"], bool(match["percent"])
    if not number[0].isdigit() and not number.startswith("."):
        raise SpecError(f"cannot read `{text}` as a value for `{what}`", mark,
                        f"write a number with an optional suffix, e.g. {_example(byte_units, percent)}")
    amount = Fraction(number.replace("_", "").replace(",", ""))
    if is_percent:
        if not percent:
            raise SpecError(f"`{what}: {text}`: a percentage is only allowed in `max_increase`", mark,
                            f"write an absolute limit such as {_example(byte_units, False)}")
        if suffix:
            raise SpecError(f"`{what}: {text}`: a percentage takes no unit suffix", mark, "write e.g. 2%")
        return amount / 100, True, text
    scale = _suffix_scale(suffix, text, mark, what, byte_units)
    return amount * scale, False, text


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
            raise SpecError(f"`{what}: {text}`: byte suffixes are for byte budgets, and `{what}` is a count", mark,
                            "use K, M, G or T (powers of 1000), e.g. 5M")
        known = list(SI_SUFFIXES)
    known = [s for s in known if s]
    hint = did_you_mean(suffix, known)
    if suffix in ("m", "g", "t"):
        hint = f"suffixes are upper case (`{suffix.upper()}`); only kilo may be written `k`"
    raise SpecError(f"`{what}: {text}`: unknown suffix `{suffix}`", mark, hint)


def _example(byte_units: bool, percent: bool) -> str:
    if percent:
        return "2% (of the baseline) or 1M (absolute)"
    return "4MiB or 8M" if byte_units else "600M or 1.5G"


def _plain(value: Fraction) -> str:
    return f"{value.numerator:,}" if value.denominator == 1 else str(float(value))


# ---- reading sections --------------------------------------------------------------------------------------------
def parse_section(data: Any, origin: str, mark: Mark | None = None) -> list[Budget]:
    """The budgets in one ``budgets:`` mapping (of a spec or a budgets file)."""
    if not isinstance(data, YMap):
        raise SpecError("`budgets` must be a mapping", getattr(data, "mark", mark),
                        "write e.g. `budgets: {params: 5M, macs: 600M}`")
    budgets: list[Budget] = []
    for key, value in data.items():
        where, value_mark = data.key_mark(key), data.mark_of(key)
        if key in QUANTITIES:
            amount, _, text = parse_amount(value, value_mark, str(key), byte_units=key in BYTE_QUANTITIES)
            budgets.append(Budget("max", key, amount, text, origin, where))
        elif key == "layer_max":
            budgets += _layer_rules(value, value_mark, origin)
        elif key == "min_rf":
            budgets.append(_min_rf(value, value_mark, where, origin))
        elif key == "max_increase":
            budgets += _increases(value, value_mark, origin)
        else:
            raise SpecError(f"unknown budget `{key}`", where, did_you_mean(str(key), SECTION_KEYS))
    return budgets


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
            budgets.append(Budget("layer_max", key, amount, text, origin, rule.key_mark(key), glob,
                                  layers_mark=rule.mark_of("layers") if glob else None))
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
                raise SpecError(f"`min_rf` has no key `{key}`", value.key_mark(key), did_you_mean(str(key), ("size", "layer")))
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
        return Budget("min_rf", "rf", sizes, "×".join(map(str, sizes)), origin, where, layer)
    size = _rf_size(value, mark)
    return Budget("min_rf", "rf", size, str(size), origin, where, layer)


def _rf_size(value, mark) -> int:
    if isinstance(value, (YBool, bool)) or not isinstance(value, int) or value < 1:
        shown = getattr(value, "word", value)
        raise SpecError(f"`min_rf` must be a whole number of input positions ≥ 1, got {shown!r}", mark,
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
        amount, relative, text = parse_amount(amount_value, value.mark_of(key), f"max_increase.{key}",
                                              byte_units=key in BYTE_QUANTITIES, percent=True)
        budgets.append(Budget("max_increase", key, amount, text, origin, value.key_mark(key), relative=relative))
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

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the budgets file {path}: {exc.__class__.__name__}", None,
                        "check the --budgets path") from None
    doc = load_yaml(text, path)
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
    common = parse_section(doc["budgets"], origin, doc.mark_of("budgets")) if "budgets" in doc else []
    per_spec: dict[str, list[Budget]] = {}
    specs = doc.get("specs")
    if specs is not None:
        if not isinstance(specs, YMap):
            raise SpecError("`specs` must map spec names to budgets", doc.mark_of("specs"),
                            "write `specs: {resnet50: {macs: 4.1G}}`")
        for name, section in specs.items():
            per_spec[str(name)] = parse_section(section, origin, specs.mark_of(name))
    return BudgetsFile(path, common, per_spec)


def parse_cli_max(texts: list[str] | None) -> list[Budget]:
    """``--max KEY=VALUE`` flags: a total (``macs=600M``) or a per-layer maximum (``layer_max.macs=200M``)."""
    budgets = []
    for text in texts or []:
        key, value = _split_flag("--max", text, "macs=600M")
        origin = f"--max {text}"
        if key in QUANTITIES:
            amount, _, shown = parse_amount(value, None, f"--max {key}", byte_units=key in BYTE_QUANTITIES)
            budgets.append(Budget("max", key, amount, shown, origin))
        elif key.startswith("layer_max."):
            quantity = key.split(".", 1)[1]
            if quantity not in LAYER_QUANTITIES:
                raise SpecError(f"--max {text}: `layer_max` has no quantity `{quantity}`", None,
                                did_you_mean(quantity, LAYER_QUANTITIES))
            amount, _, shown = parse_amount(value, None, f"--max {key}", byte_units=quantity in BYTE_QUANTITIES)
            budgets.append(Budget("layer_max", quantity, amount, shown, origin))
        else:
            choices = [*QUANTITIES, *(f"layer_max.{q}" for q in LAYER_QUANTITIES)]
            raise SpecError(f"--max {text}: unknown budget `{key}`", None, did_you_mean(key, choices))
    return budgets


def parse_cli_min_rf(text: str | None) -> list[Budget]:
    """``--min-rf 224`` (every axis) or ``--min-rf 224x160`` (per axis)."""
    if text is None:
        return []
    try:
        sizes = tuple(int(part) for part in text.lower().replace("×", "x").split("x"))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise SpecError(f"--min-rf {text}: need whole sizes ≥ 1", None, "write e.g. --min-rf 224 or --min-rf 224x224")
    limit = sizes[0] if len(sizes) == 1 else sizes
    return [Budget("min_rf", "rf", limit, "×".join(map(str, sizes)), f"--min-rf {text}")]


def parse_cli_increase(texts: list[str] | None) -> list[Budget]:
    """``--max-increase KEY=PCT%`` (relative to the baseline) or ``KEY=AMOUNT`` (absolute)."""
    budgets = []
    for text in texts or []:
        key, value = _split_flag("--max-increase", text, "macs=2%")
        if key not in QUANTITIES:
            raise SpecError(f"--max-increase {text}: unknown quantity `{key}`", None, did_you_mean(key, QUANTITIES))
        amount, relative, shown = parse_amount(value, None, f"--max-increase {key}",
                                               byte_units=key in BYTE_QUANTITIES, percent=True)
        budgets.append(Budget("max_increase", key, amount, shown, f"--max-increase {text}", relative=relative))
    return budgets


def _split_flag(flag: str, text: str, example: str) -> tuple[str, str]:
    if "=" not in text:
        raise SpecError(f"`{flag} {text}` is not KEY=VALUE", None, f"write e.g. {flag} {example}")
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


# ---- checking ----------------------------------------------------------------------------------------------------
@dataclass
class Contributor:
    """A layer (or a live tensor) behind a budgeted quantity: its value and its share of the total."""

    name: str
    value: int
    share: Fraction | None = None
    line: int = 0


@dataclass
class BudgetResult:
    """The outcome of one budget.

    ``status`` is ``pass``, ``fail`` or ``skip`` (a ``max_increase`` without a baseline). ``actual`` and ``limit``
    are absolute (per-axis tuples for ``min_rf``; for ``max_increase`` the limit is the baseline plus the allowed
    increase). ``excess_percent`` is how far past the limit, in % of the limit (positive when failing; for
    ``min_rf`` the shortfall of the worst axis); None when within budget or when the limit is 0.
    ``used_percent`` is actual / limit in %. ``contributors`` are the top layers by the quantity (for
    ``max_increase``: by their increase over the baseline; for ``peak_activation_bytes``: the tensors live at the
    peak). ``offenders`` are, for ``layer_max``, every matching layer over the limit, largest first.
    """

    budget: Budget
    status: str
    actual: Any = None
    limit: Any = None
    excess_percent: Fraction | None = None
    used_percent: Fraction | None = None
    baseline: int | None = None
    change_percent: Fraction | None = None
    subject: str = ""
    contributors: list[Contributor] = field(default_factory=list)
    offenders: list[Contributor] = field(default_factory=list)
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def total_of(report: Report, quantity: str) -> int:
    """The whole-network value of a budgeted quantity."""
    if quantity in ("weight_bytes", "peak_activation_bytes"):
        return getattr(report, quantity)
    return getattr(report.totals, quantity)


def layer_value(report: Report, layer: LayerReport, quantity: str) -> int:
    """A layer's own value of a per-layer quantity."""
    if quantity == "weight_bytes":
        return layer.params * dtype_bytes(report)
    return getattr(layer, quantity)


def dtype_bytes(report: Report) -> int:
    from ..cost.conventions import DTYPE_BYTES

    return DTYPE_BYTES[report.dtype]


def evaluate(report: Report, budgets: list[Budget], baseline: Report | None = None) -> list[BudgetResult]:
    """Check ``report`` against ``budgets`` (and ``baseline`` for ``max_increase``).

    Raises :class:`SpecError` (bad input) for a budget that cannot apply: a glob that matches no layer, a
    ``min_rf`` with the wrong number of axes or an unknown layer.
    """
    results = []
    for budget in budgets:
        if budget.kind == "max":
            results.append(_check_total(report, budget))
        elif budget.kind == "layer_max":
            results.append(_check_layers(report, budget))
        elif budget.kind == "min_rf":
            results.append(_check_rf(report, budget))
        else:
            results.append(_check_increase(report, budget, baseline))
    return results


def _over(actual: Number, limit: Number) -> tuple[Fraction | None, Fraction | None]:
    """(excess %, used %) of ``actual`` against a maximum ``limit``."""
    if limit == 0:
        return None, None
    used = Fraction(actual) * 100 / limit
    return (used - 100 if actual > limit else None), used


def _check_total(report: Report, budget: Budget) -> BudgetResult:
    actual = total_of(report, budget.quantity)
    excess, used = _over(actual, budget.limit)
    return BudgetResult(budget, "fail" if actual > budget.limit else "pass", actual, budget.limit, excess, used,
                        contributors=top_contributors(report, budget.quantity))


def top_contributors(report: Report, quantity: str, count: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """The ``count`` layers with the most of ``quantity`` (for ``peak_activation_bytes``: the live tensors at
    the peak), with their share of the total."""
    if quantity == "peak_activation_bytes":
        live = live_at_peak(report)
        if live is not None:
            peak = report.peak_activation_bytes or 1
            return [Contributor(name, size, Fraction(size, peak), line) for name, size, line in live[:count]]
        quantity = "activation_bytes"
    total = total_of(report, quantity)
    values = [(layer_value(report, layer, quantity), index, layer) for index, layer in enumerate(report.layers)]
    values.sort(key=lambda item: (-item[0], item[1]))
    return [Contributor(layer.name, value, Fraction(value, total) if total else None, layer.line)
            for value, _, layer in values[:count] if value > 0]


def live_at_peak(report: Report) -> list[tuple[str, int, int]] | None:
    """The tensors alive when activation memory peaks, largest first: ``(name, bytes, line)``.

    Read from ``report.peak_live`` (computed by the analysis); None for a report without it (an older JSON), so the
    caller can fall back to the largest activations.
    """
    if not report.peak_live:
        return None
    by_name = {layer.name: layer for layer in report.layers}
    input_bytes = prod(report.input) * dtype_bytes(report) * report.batch
    out = []
    for name in report.peak_live:
        layer = by_name.get(name)
        out.append((name, layer.activation_bytes, layer.line) if layer else (name, input_bytes, 0))
    return out


def _matching_layers(report: Report, budget: Budget) -> list[LayerReport]:
    if not budget.layers:
        return list(report.layers)
    layers = [layer for layer in report.layers if fnmatchcase(layer.name, budget.layers)]
    if not layers:
        raise SpecError(f"`layers: {budget.layers}` matches no layer of `{report.name}`",
                        budget.layers_mark or budget.mark,
                        did_you_mean(budget.layers, [layer.name for layer in report.layers])
                        + " (globs match whole names: `*` any text, `?` one character)")
    return layers


def _check_layers(report: Report, budget: Budget) -> BudgetResult:
    values = [(layer_value(report, layer, budget.quantity), index, layer)
              for index, layer in enumerate(_matching_layers(report, budget))]
    values.sort(key=lambda item: (-item[0], item[1]))
    total = total_of(report, budget.quantity)
    ranked = [Contributor(layer.name, value, Fraction(value, total) if total else None, layer.line)
              for value, _, layer in values]
    worst = ranked[0]
    excess, used = _over(worst.value, budget.limit)
    offenders = [c for c in ranked if c.value > budget.limit]
    return BudgetResult(budget, "fail" if offenders else "pass", worst.value, budget.limit, excess, used,
                        subject=worst.name, contributors=ranked[:TOP_CONTRIBUTORS], offenders=offenders)


def _check_rf(report: Report, budget: Budget) -> BudgetResult:
    if budget.layers:
        named = [layer for layer in report.layers if layer.name == budget.layers]
        if not named:
            raise SpecError(f"`min_rf.layer: {budget.layers}`: no such layer in `{report.name}`", budget.mark,
                            did_you_mean(budget.layers, [layer.name for layer in report.layers]))
        layer = named[0]
    else:
        layer = report.layers[-1]
    actual = tuple(layer.rf.size)
    if not actual:
        raise SpecError(f"`min_rf`: `{report.name}` has no spatial axes", budget.mark, "remove `min_rf`")
    if isinstance(budget.limit, tuple):
        if len(budget.limit) != len(actual):
            raise SpecError(f"`min_rf` gives {len(budget.limit)} sizes but `{report.name}` has {len(actual)} "
                            f"spatial axes", budget.mark, f"give {len(actual)} sizes, or one for every axis")
        limit = budget.limit
    else:
        limit = (budget.limit,) * len(actual)
    short = [Fraction(want - got, want) * 100 for got, want in zip(actual, limit) if got < want]
    used = min(Fraction(got, want) * 100 for got, want in zip(actual, limit))
    return BudgetResult(budget, "fail" if short else "pass", actual, limit, max(short) if short else None, used,
                        subject=layer.name)


def _check_increase(report: Report, budget: Budget, baseline: Report | None) -> BudgetResult:
    if baseline is None:
        return BudgetResult(budget, "skip", note="no baseline: pass --baseline REPORT.json")
    actual, base = total_of(report, budget.quantity), total_of(baseline, budget.quantity)
    allowed = base * (1 + budget.limit) if budget.relative else base + budget.limit
    allowed = whole(Fraction(allowed))
    excess, used = _over(actual, allowed)
    change = Fraction(actual - base) * 100 / base if base else None
    return BudgetResult(budget, "fail" if actual > allowed else "pass", actual, allowed, excess, used,
                        baseline=base, change_percent=change,
                        contributors=top_increases(report, baseline, budget.quantity))


def top_increases(report: Report, baseline: Report, quantity: str,
                  count: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """The layers whose ``quantity`` grew most over the baseline (matched by name; new layers count whole).
    ``share`` is the layer's part of the total increase."""
    if quantity == "peak_activation_bytes":
        quantity = "activation_bytes"
    before = {layer.name: layer_value(baseline, layer, quantity) for layer in baseline.layers}
    growth = [(layer_value(report, layer, quantity) - before.get(layer.name, 0), index, layer)
              for index, layer in enumerate(report.layers)]
    growth = [item for item in growth if item[0] > 0]
    growth.sort(key=lambda item: (-item[0], item[1]))
    total = total_of(report, quantity) - total_of(baseline, quantity)
    return [Contributor(layer.name, delta, Fraction(delta, total) if total > 0 else None, layer.line)
            for delta, _, layer in growth[:count]]


# ---- whole specs -------------------------------------------------------------------------------------------------
EXIT_OK, EXIT_OVER, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class SpecCheck:
    """The check of one spec: its results, or the bad-input error that stopped it."""

    spec: str
    source: str = ""
    name: str = ""
    results: list[BudgetResult] = field(default_factory=list)
    error: SpecError | None = None
    skipped: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return EXIT_BAD_INPUT
        return EXIT_OVER if any(r.failed for r in self.results) else EXIT_OK

    @property
    def status(self) -> str:
        """``pass``, ``fail``, ``error`` or ``skipped``."""
        if self.error is not None:
            return "error"
        if self.skipped:
            return "skipped"
        return "fail" if self.exit_code else "pass"

    @property
    def file(self) -> str:
        return self.source or self.spec


@dataclass
class CheckRun:
    """All specs of one ``convcalc check`` run. The exit code is the worst of all (2 > 1 > 0)."""

    specs: list[SpecCheck]

    @property
    def exit_code(self) -> int:
        return max((s.exit_code for s in self.specs), default=EXIT_OK)

    def count(self, status: str) -> int:
        return sum(1 for s in self.specs if s.status == status)


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


def check_spec(spec: str, options: CheckOptions) -> SpecCheck:
    """Load, expand and analyse ``spec``, gather its budgets and check them. Bad input is caught into
    :attr:`SpecCheck.error` so that the other specs of the run are still checked."""
    from ..cost.analysis import analyze
    from ..spec.loader import load

    result = SpecCheck(spec)
    try:
        try:
            network = load(spec)
        except SpecError:
            if options.skip_unbudgeted and not _looks_like_spec(spec):
                result.skipped = "not a convcalc spec"
                return result
            raise
        result.source, result.name = network.source, network.name
        stem = Path(network.source).stem
        budgets = merge(spec_budgets(network),
                        options.budgets_file.for_spec(network.name, stem) if options.budgets_file else [],
                        options.flags)
        if not budgets:
            if options.skip_unbudgeted:
                result.skipped = "no budgets"
                return result
            # an error in the spec itself is the more useful answer, so analyse before saying "no budgets"
            analyze(network.expand(options.overrides, input_shape=options.input_shape, batch=options.batch))
            raise SpecError(f"no budgets for `{network.name}`", Mark(network.source, 1, 1),
                            "add a `budgets:` section, or pass --budgets FILE or --max KEY=VALUE")
        graph = network.expand(options.overrides, input_shape=options.input_shape, batch=options.batch)
        report = analyze(graph)
        result.name = report.name
        baseline = None
        if options.baseline:
            if not any(b.kind == "max_increase" for b in budgets):
                raise SpecError(f"--baseline given but no `max_increase` budget applies to `{report.name}`", None,
                                "add --max-increase macs=2% (or `max_increase:` to the budgets)")
            baseline = load_baseline(options.baseline, stem, report.name)
            if baseline.name != report.name:
                result.warnings.append(f"the baseline is for `{baseline.name}`, the spec is `{report.name}`")
        result.results = evaluate(report, budgets, baseline)
    except SpecError as err:
        result.error = err
    return result


def _looks_like_spec(spec: str) -> bool:
    """True unless ``spec`` is readable YAML that is clearly something else (no top-level ``layers:``)."""
    from ..spec.yamlio import load_yaml

    try:
        doc = load_yaml(Path(spec).read_text(encoding="utf-8"), spec)
    except (OSError, UnicodeDecodeError):
        return not Path(spec).exists()
    except SpecError:
        return True
    return isinstance(doc, YMap) and "layers" in doc


def load_baseline(path: str, *names: str) -> Report:
    """A baseline report (``convcalc analyze --format json`` output). ``path`` is a file, or a directory holding
    ``NAME.json`` for each spec (by file stem, then by spec name)."""
    import json

    location = Path(path)
    if location.is_dir():
        candidates = [location / f"{name}.json" for name in names if name]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise SpecError(f"no baseline for `{names[-1]}` in {path}", None,
                            f"expected {candidates[0]} (from `convcalc analyze SPEC --format json`)")
        location = found[0]
    try:
        text = location.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the baseline {location}: {exc.__class__.__name__}", None,
                        "check the --baseline path") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"the baseline is not JSON: {exc.msg}", Mark(str(location), exc.lineno, exc.colno),
                        "create it with `convcalc analyze SPEC --format json > baseline.json`") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        found_version = data.get("version") if isinstance(data, dict) else None
        raise SpecError(f"the baseline is not a version-1 convcalc report (version {found_version!r})",
                        Mark(str(location), 1, 1), "create it with `convcalc analyze SPEC --format json`")
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise SpecError(f"the baseline is not a complete convcalc report ({exc.__class__.__name__}: {exc})",
                        Mark(str(location), 1, 1), "create it with `convcalc analyze SPEC --format json`") from None


def check(specs: list[str], options: CheckOptions) -> CheckRun:
    """Check every spec; see :class:`CheckRun` for the exit code."""
    return CheckRun([check_spec(spec, options) for spec in specs])
