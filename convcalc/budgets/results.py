"""What a check found: the statuses, one budget's result, one spec's check and a whole ``convcalc check`` run.
Plain data: the renderers in :mod:`convcalc.render.check` turn them into text, and decide nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Any

from ..errors import SpecError

EXIT_OK, EXIT_OVER, EXIT_BAD_INPUT = 0, 1, 2


class Status(str, Enum):
    """The outcome of a budget (``pass``, ``fail``, ``skip``) or of a spec (``pass``, ``fail``, ``error``,
    ``skipped``). A ``str`` whose value is the word the JSON output carries, so it prints as that word."""

    PASS = "pass"
    FAIL = "fail"
    #: a budget that could not be checked (a ``max_increase`` without a baseline)
    SKIP = "skip"
    #: a spec that is bad input
    ERROR = "error"
    #: a spec passed over by ``--skip-unbudgeted``
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


@dataclass
class Contributor:
    """A layer (or a live tensor) behind a budgeted quantity: its value and its share of the total."""

    name: str
    value: int
    share: Fraction | None = None
    line: int = 0


@dataclass
class BudgetResult:
    """The outcome of one budget (a :class:`~convcalc.budgets.kinds.Budget`).

    ``status`` is :attr:`Status.PASS`, :attr:`Status.FAIL` or :attr:`Status.SKIP`. ``actual`` and ``limit``
    are absolute (per-axis tuples for ``min_rf``; for ``max_increase`` the limit is the baseline plus the allowed
    increase). ``excess_percent`` is how far past the limit, in % of the limit (positive when failing; for
    ``min_rf`` the shortfall of the worst axis); None when within budget or when the limit is 0.
    ``used_percent`` is actual / limit in %. ``contributors`` are the top layers by the quantity (for
    ``max_increase``: by their increase over the baseline; for ``peak_activation_bytes``: the tensors live at the
    peak). ``offenders`` are, for ``layer_max``, every matching layer over the limit, largest first.
    """

    budget: Any
    status: Status
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
        return self.status is Status.FAIL


#: why --skip-unbudgeted skipped a file: it is no spec at all (not counted among the specs checked)
NOT_A_SPEC = "not a convcalc spec"


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
    def status(self) -> Status:
        """:attr:`Status.PASS`, :attr:`Status.FAIL`, :attr:`Status.ERROR` or :attr:`Status.SKIPPED`."""
        if self.error is not None:
            return Status.ERROR
        if self.skipped:
            return Status.SKIPPED
        return Status.FAIL if self.exit_code else Status.PASS

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

    def count(self, status: Status) -> int:
        return sum(1 for s in self.specs if s.status is status)
