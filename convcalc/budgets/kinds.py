"""The kinds of budget, one class each: a maximum on a total (:class:`TotalMax`), on every matching layer
(:class:`LayerMax`) and on a total's growth over a baseline report (:class:`MaxIncrease`), all three
:class:`Maximum`; and a minimum receptive field (:class:`MinRF`).

A kind answers every question about itself: its key (identity for overriding), its label, its evaluation against
a report (and baseline), and the texts that :mod:`convcalc.render.check` prints for its results (the failure and
pass messages, the value column of the table, the detail line, the cells of the Markdown table, the GitHub
annotations on layer lines). The renderers call these methods and never ask which kind a budget is.

A limit is inclusive: a value equal to its limit is within budget.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import Any, ClassVar, Union

from ..cost.report import LayerReport, Report
from ..errors import Mark, SpecError, did_you_mean
from ..numbers import whole
from .quantities import TOP_CONTRIBUTORS, ranked_layers, top_contributors, top_increases, total_of
from .results import BudgetResult, Contributor, Status
from .text import amount, exact, layer_list, limit_text, percent, short

Number = Union[int, Fraction]


@dataclass(frozen=True, kw_only=True)
class Budget(ABC):
    """One limit on a network's cost.

    ``quantity`` is what is limited (a key of :data:`~convcalc.budgets.quantities.QUANTITIES`, or ``rf``).
    ``limit`` is exact: a count or a number of bytes (a kind may say otherwise). ``text`` is the limit as written
    (``600M``), ``origin`` where it came from (``spec``, ``budgets file PATH``, or the flag), and ``mark`` where it
    was written (None for a command-line flag).
    """

    #: the kind's name, carried by the JSON output
    kind: ClassVar[str]
    #: whether the kind compares with a baseline report (``--baseline``)
    needs_baseline: ClassVar[bool] = False
    #: whether the kind reads the roofline (convcalc/cost/roofline.py), which the check computes for it and
    #: hands over with :meth:`with_roofline`
    needs_roofline: ClassVar[bool] = False
    #: the layers a budget looks at, by name (JSON ``layers``): None for the whole network
    layers = None
    #: whether ``limit`` is relative to a baseline (JSON ``relative``)
    relative = False

    quantity: str
    limit: Any
    text: str
    origin: str
    mark: Mark | None = None

    @property
    def written(self) -> str:
        """How an error message names the budget: the key as a file writes it (with the position in ``mark``), or
        the command-line flag it came from (``--min-rf 224x224``), which has no position."""
        return f"`{self.key}`" if self.mark is not None else self.origin

    @property
    @abstractmethod
    def key(self) -> str:
        """Identity for overriding: a budget with the same key set later replaces this one."""

    @property
    @abstractmethod
    def label(self) -> str:
        """A short human name, e.g. ``macs ≤ 600M`` or ``layer_max.macs ≤ 200M (layers layer4.*)``."""

    @abstractmethod
    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        """Check ``report`` (and ``baseline``, for a kind that needs one). Raises :class:`SpecError` (bad input)
        for a budget that cannot apply to ``report``."""

    # ---- the texts the renderers print ---------------------------------------------------------------------
    @abstractmethod
    def failure_message(self, result: BudgetResult) -> str:
        """One line for a failed result: actual, limit, excess %, top contributing layers."""

    @abstractmethod
    def pass_message(self, result: BudgetResult) -> str:
        """One line for a result within budget."""

    @abstractmethod
    def table_value(self, result: BudgetResult) -> str:
        """The table's value column: the actual value and how it stands against the limit."""

    def table_detail(self, result: BudgetResult) -> str:
        """The table's second line under a failure, the layers behind it; empty when there is none."""
        return ""

    def cell(self, value: Any) -> str:
        """A compact value for the Markdown table's Actual and Limit columns (``–`` for none)."""
        return short(self.quantity, value) if value is not None else "–"

    def layer_annotations(self, result: BudgetResult, spec_name: str) -> list[tuple[int, str]]:
        """For a kind whose failures the GitHub format annotates on the offending layers' lines in the spec:
        ``(line, text)`` for each. Empty (the default) for one annotation at the line that set the budget."""
        return []


@dataclass(frozen=True, kw_only=True)
class Maximum(Budget):
    """A limit that a value must not exceed. The result's ``excess_percent`` is how far past the limit and
    ``used_percent`` how much of it is used, both in % of the limit (None for a limit of 0)."""

    def actual_text(self, result: BudgetResult) -> str:
        """What the actual value is, as the table's value column starts: ``1,622,336 (1.62 M)``."""
        return amount(self.quantity, result.actual)

    def table_value(self, result: BudgetResult) -> str:
        value = self.actual_text(result)
        if result.failed:
            return f"{value}, {percent(result.excess_percent)} over"
        return value + _used(result)


@dataclass(frozen=True, kw_only=True)
class TotalMax(Maximum):
    """A maximum on a whole-network total: ``macs: 600M``."""

    kind: ClassVar[str] = "max"

    @property
    def key(self) -> str:
        return self.quantity

    @property
    def label(self) -> str:
        return f"{self.quantity} ≤ {self.text}"

    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        actual = total_of(report, self.quantity)
        excess, used = _over(actual, self.limit)
        return BudgetResult(self, _status(actual <= self.limit), actual, self.limit, excess, used,
                            contributors=top_contributors(report, self.quantity))

    @property
    def contributors_title(self) -> str:
        """What the contributors are: the tensors live at the peak for ``peak_activation_bytes``, else layers."""
        if self.quantity == "train_memory_bytes":
            return "most saved for backward"
        return "live at the peak" if self.quantity == "peak_activation_bytes" else "top layers"

    def failure_message(self, result: BudgetResult) -> str:
        q = self.quantity
        return (f"{q} {amount(q, result.actual)} is over the limit {limit_text(q, self.text, self.limit)} by "
                f"{percent(result.excess_percent)}" + _top(self.contributors_title, q, result.contributors))

    def pass_message(self, result: BudgetResult) -> str:
        return f"{self.quantity} {amount(self.quantity, result.actual)}{_used(result)}"

    def table_detail(self, result: BudgetResult) -> str:
        if not result.failed or not result.contributors:
            return ""
        return f"{self.contributors_title}: {layer_list(self.quantity, result.contributors)}"


@dataclass(frozen=True, kw_only=True)
class RooflineMax(TotalMax):
    """A maximum on a roofline total: ``latency_ms: 20`` (with ``convcalc check --device NAME``) or
    ``bytes_moved: 200MiB`` (docs/roofline.md: each tensor through main memory once, no fusion). ``roofline`` is
    the :class:`~convcalc.cost.roofline.RooflineReport` of the spec, set by :meth:`with_roofline`."""

    needs_roofline: ClassVar[bool] = True
    roofline: Any = field(default=None, compare=False, repr=False)

    def with_roofline(self, roofline) -> "RooflineMax":
        from dataclasses import replace

        return replace(self, roofline=roofline)

    def _value(self, layer):
        """A layer's value: milliseconds (rounded to the nanosecond, exact from there) or bytes."""
        if self.quantity == "latency_ms":
            return Fraction(round(layer.time * 10 ** 9), 10 ** 6)
        return layer.bytes

    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        rl = self.roofline
        if rl is None or (self.quantity == "latency_ms" and rl.device is None):
            raise SpecError(f"{self.written}: `{self.quantity}` is a roofline latency, which needs a device",
                            self.mark, "pass --device NAME (convcalc device list) or a profile file")
        values = [(self._value(layer), index, layer) for index, layer in enumerate(rl.layers)]
        actual = sum((v for v, _, _ in values), Fraction(0) if self.quantity == "latency_ms" else 0)
        excess, used = _over(actual, self.limit)
        lines = {row.name: row.line for row in report.layers}
        values.sort(key=lambda item: (-item[0], item[1]))
        top = [Contributor(layer.name, value, Fraction(value, 1) / actual if actual else None, lines.get(layer.name, 0))
               for value, _, layer in values[:TOP_CONTRIBUTORS]]
        return BudgetResult(self, _status(actual <= self.limit), actual, self.limit, excess, used, contributors=top)


@dataclass(frozen=True, kw_only=True)
class LayerMax(Maximum):
    """A maximum for every layer, or for the layers whose names match the glob ``layers`` (``*`` any text,
    including dots; ``?`` one character): ``layer_max: {macs: 200M, layers: "layer4.*"}``. The result's
    ``subject`` is the largest matching layer, and ``offenders`` every matching layer over the limit."""

    kind: ClassVar[str] = "layer_max"
    #: in the failure message and the table detail, how many offenders are named before "…" / "and N more"
    MESSAGE_OFFENDERS: ClassVar[int] = 3
    DETAIL_OFFENDERS: ClassVar[int] = 5

    layers: str | None = None
    layers_mark: Mark | None = None

    @property
    def key(self) -> str:
        return f"layer_max[{self.layers}].{self.quantity}" if self.layers else f"layer_max.{self.quantity}"

    @property
    def label(self) -> str:
        scope = f" (layers {self.layers})" if self.layers else ""
        return f"layer_max.{self.quantity} ≤ {self.text}{scope}"

    def matching_layers(self, report: Report) -> list[LayerReport]:
        """The layers the budget applies to; a glob that matches none is bad input, so a typo cannot pass."""
        if not self.layers:
            return list(report.layers)
        layers = [layer for layer in report.layers if fnmatchcase(layer.name, self.layers)]
        if not layers:
            raise SpecError(f"`layers: {self.layers}` matches no layer of `{report.name}`",
                            self.layers_mark or self.mark,
                            did_you_mean(self.layers, [layer.name for layer in report.layers])
                            + " (globs match whole names: `*` any text, `?` one character)")
        return layers

    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        ranked = ranked_layers(report, self.matching_layers(report), self.quantity)
        worst = ranked[0]
        excess, used = _over(worst.value, self.limit)
        offenders = [c for c in ranked if c.value > self.limit]
        return BudgetResult(self, _status(not offenders), worst.value, self.limit, excess, used,
                            subject=worst.name, contributors=ranked[:TOP_CONTRIBUTORS], offenders=offenders)

    @property
    def rule_text(self) -> str:
        """``layer_max.macs ≤ 1M (= 1,000,000)``."""
        return f"layer_max.{self.quantity} ≤ {limit_text(self.quantity, self.text, self.limit)}"

    def failure_message(self, result: BudgetResult) -> str:
        q, count, shown = self.quantity, len(result.offenders), self.MESSAGE_OFFENDERS
        over = f"{count} layer{'s' if count != 1 else ''} over the limit"
        return (f"layer_max.{q}: `{result.subject}` has {amount(q, result.actual)}, over the limit "
                f"{limit_text(q, self.text, self.limit)} by {percent(result.excess_percent)}; {over}: "
                + layer_list(q, result.offenders[:shown]) + (", …" if count > shown else ""))

    def pass_message(self, result: BudgetResult) -> str:
        return (f"layer_max.{self.quantity}: largest is `{result.subject}` with "
                f"{amount(self.quantity, result.actual)}{_used(result)}")

    def actual_text(self, result: BudgetResult) -> str:
        return f"`{result.subject}` {amount(self.quantity, result.actual)}"

    def table_detail(self, result: BudgetResult) -> str:
        if not result.failed:
            return ""
        count, shown = len(result.offenders), self.DETAIL_OFFENDERS
        more = f" and {count - shown} more" if count > shown else ""
        return (f"{count} layer{'s' if count != 1 else ''} over: "
                f"{layer_list(self.quantity, result.offenders[:shown])}{more}")

    def layer_annotations(self, result: BudgetResult, spec_name: str) -> list[tuple[int, str]]:
        """One annotation per spec line holding offenders: layers expanded from one definition (a ``repeat:``
        or a block) share a line, and so one annotation."""
        q, shown = self.quantity, self.DETAIL_OFFENDERS
        groups: dict[int, list[Contributor]] = {}
        for c in result.offenders:
            groups.setdefault(c.line, []).append(c)
        annotations = []
        for line, layers in groups.items():
            worst = layers[0]
            excess, _ = _over(worst.value, self.limit)
            if len(layers) == 1:
                text = (f"{spec_name}: `{worst.name}` has {amount(q, worst.value)}, {percent(excess)} over "
                        f"{self.rule_text}")
            else:
                names = layer_list(q, layers[:shown]) + (f" and {len(layers) - shown} more"
                                                         if len(layers) > shown else "")
                text = (f"{spec_name}: {len(layers)} layers defined here exceed {self.rule_text}, the worst by "
                        f"{percent(excess)}: {names}")
            annotations.append((line, text))
        return annotations


@dataclass(frozen=True, kw_only=True)
class MinRF(Budget):
    """A minimum receptive field, in input positions, of the final layer or of the layer named ``layer``:
    ``min_rf: 224``. ``limit`` is one int for every spatial axis, or a tuple of one per axis; the result's
    ``actual`` and ``limit`` are per-axis tuples, and ``excess_percent`` the shortfall of the worst axis."""

    kind: ClassVar[str] = "min_rf"

    quantity: str = "rf"
    layer: str | None = None

    @property
    def layers(self) -> str | None:  # type: ignore[override]
        return self.layer

    @property
    def key(self) -> str:
        return "min_rf"

    @property
    def label(self) -> str:
        where = f" ({self.layer})" if self.layer else ""
        return f"min_rf ≥ {self.text}{where}"

    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        if self.layer:
            named = [layer for layer in report.layers if layer.name == self.layer]
            if not named:
                raise SpecError(f"`min_rf.layer: {self.layer}`: no such layer in `{report.name}`", self.mark,
                                did_you_mean(self.layer, [layer.name for layer in report.layers]))
            layer = named[0]
        else:
            layer = report.layers[-1]
        actual = tuple(layer.rf.size)
        if not actual:
            raise SpecError(f"{self.written}: `{report.name}` has no spatial axes", self.mark,
                            f"remove {self.written}")
        if isinstance(self.limit, tuple):
            if len(self.limit) != len(actual):
                raise SpecError(f"{self.written} gives {len(self.limit)} sizes but `{report.name}` has {len(actual)} "
                                f"spatial axes", self.mark, f"give {len(actual)} sizes, or one for every axis")
            limit = self.limit
        else:
            limit = (self.limit,) * len(actual)
        short_by = [Fraction(want - got, want) * 100 for got, want in zip(actual, limit) if got < want]
        used = min(Fraction(got, want) * 100 for got, want in zip(actual, limit))
        return BudgetResult(self, _status(not short_by), actual, limit, max(short_by) if short_by else None, used,
                            subject=layer.name)

    def failure_message(self, result: BudgetResult) -> str:
        axes = [f"axis {i}: {got} < {want}" for i, (got, want) in enumerate(zip(result.actual, result.limit))
                if got < want]
        return (f"min_rf: the receptive field of `{result.subject}` is {exact(result.actual)}, below the limit "
                f"{exact(result.limit)} by {percent(result.excess_percent)} ({', '.join(axes)})")

    def pass_message(self, result: BudgetResult) -> str:
        return f"min_rf: `{result.subject}` sees {exact(result.actual)} (limit {exact(result.limit)})"

    def table_value(self, result: BudgetResult) -> str:
        state = f"{percent(result.excess_percent)} short" if result.failed else "ok"
        return f"{exact(result.actual)} at `{result.subject}`, {state}"


@dataclass(frozen=True, kw_only=True)
class MaxIncrease(Maximum):
    """A maximum growth of a total over a baseline report (``--baseline``): ``max_increase: {macs: 2%}``.
    ``limit`` is the allowed increase, as a fraction of the baseline when ``relative`` (2% → 1/50), else an
    absolute amount. The result's ``limit`` is the baseline plus the allowed increase; its ``contributors`` are
    the layers that grew most. Without a baseline the result is :attr:`Status.SKIP`."""

    kind: ClassVar[str] = "max_increase"
    needs_baseline: ClassVar[bool] = True

    relative: bool = False

    @property
    def key(self) -> str:
        return f"max_increase.{self.quantity}"

    @property
    def label(self) -> str:
        return f"{self.quantity} ≤ baseline +{self.text}"

    def evaluate(self, report: Report, baseline: Report | None = None) -> BudgetResult:
        if baseline is None:
            return BudgetResult(self, Status.SKIP, note="no baseline: pass --baseline REPORT.json")
        actual, base = total_of(report, self.quantity), total_of(baseline, self.quantity)
        allowed = base * (1 + self.limit) if self.relative else base + self.limit
        allowed = whole(Fraction(allowed))
        excess, used = _over(actual, allowed)
        change = Fraction(actual - base) * 100 / base if base else None
        return BudgetResult(self, _status(actual <= allowed), actual, allowed, excess, used,
                            baseline=base, change_percent=change,
                            contributors=top_increases(report, baseline, self.quantity))

    def failure_message(self, result: BudgetResult) -> str:
        q = self.quantity
        return (f"{q} rose from {amount(q, result.baseline)} to {amount(q, result.actual)} "
                f"({percent(result.change_percent, signed=True)}), over the allowed +{self.text} "
                f"(= {amount(q, result.limit)}) by {percent(result.excess_percent)}"
                + _top("top increases", q, result.contributors, signed=True))

    def pass_message(self, result: BudgetResult) -> str:
        q = self.quantity
        return (f"{q} {amount(q, result.actual)} vs baseline {amount(q, result.baseline)} "
                f"({percent(result.change_percent, signed=True)}; allowed +{self.text})")

    def actual_text(self, result: BudgetResult) -> str:
        q = self.quantity
        return (f"{amount(q, result.actual)}, {percent(result.change_percent, signed=True)} vs baseline "
                f"{short(q, result.baseline)}")

    def table_detail(self, result: BudgetResult) -> str:
        if not result.failed or not result.contributors:
            return ""
        return f"top increases: {layer_list(self.quantity, result.contributors, signed=True)}"


# ---- helpers -----------------------------------------------------------------------------------------------------
def _status(within: bool) -> Status:
    return Status.PASS if within else Status.FAIL


def _over(actual: Number, limit: Number) -> tuple[Fraction | None, Fraction | None]:
    """(excess %, used %) of ``actual`` against a maximum ``limit``; (None, None) for a limit of 0."""
    if limit == 0:
        return None, None
    used = Fraction(actual) * 100 / limit
    return (used - 100 if actual > limit else None), used


def _used(result: BudgetResult) -> str:
    return f", {percent(result.used_percent)} of the limit" if result.used_percent is not None else ""


def _top(title: str, quantity: str, layers: list[Contributor], signed: bool = False) -> str:
    return f"; {title}: {layer_list(quantity, layers, signed)}" if layers else ""
