"""Checking: one spec (load, expand, analyse, gather its budgets, evaluate them), a whole ``convcalc check`` run,
and loading the baseline reports that ``max_increase`` compares with. Bad input met while checking a spec is
caught into its :class:`~convcalc.budgets.results.SpecCheck`, so that the other specs of a run are still
checked."""

from __future__ import annotations

import os
from pathlib import Path

from ..cost.report import Report, unsupported_summary
from ..errors import Mark, SpecError, SpecErrors, every_error
from ..limits import MAX_REPORT_BYTES, decimal_value, read_file, shorten, whole_number, within
from ..spec.fields import describe
from ..spec.yamlio import YMap
from .kinds import Budget
from .quantities import TRAINING_QUANTITIES, attach_training
from .parse import CheckOptions, merge, spec_budgets
from .quantities import TRAINING_QUANTITIES
from .results import NOT_A_SPEC, BudgetResult, CheckRun, SpecCheck


def evaluate(report: Report, budgets: list[Budget], baseline: Report | None = None) -> list[BudgetResult]:
    """Check ``report`` against ``budgets`` (and ``baseline`` for the kinds that compare with one).

    Raises :class:`SpecError` (bad input) for a budget that cannot apply: a glob that matches no layer, a
    ``min_rf`` with the wrong number of axes or an unknown layer.
    """
    return [budget.evaluate(report, baseline) for budget in budgets]


def check_spec(spec: str, options: CheckOptions) -> SpecCheck:
    """Load, expand and analyse ``spec``, gather its budgets and check them. Bad input is caught into
    :attr:`SpecCheck.error` so that the other specs of the run are still checked: every problem found, not only
    the first (each bad budget of its section, the spec's own error, each budget that cannot apply), as a
    :class:`~convcalc.errors.SpecErrors` when there are several; the budgets that could be checked keep their
    results."""
    from ..cost.analysis import analyze
    from ..cost.peers import under_convention
    from ..importers.source import load_network

    result = SpecCheck(spec)
    problems: list[SpecError] = []
    try:
        try:
            network = load_network(spec, options.input_shape, options.allow_unsupported, warn=result.warnings.append)
        except SpecError:
            if options.skip_unbudgeted and not _looks_like_spec(spec):
                result.skipped = NOT_A_SPEC
                return result
            raise
        result.source, result.name = network.source, network.name
        stem = Path(network.source).stem
        try:
            own = spec_budgets(network)
        except SpecErrors as err:  # every bad budget of the section; the others are still checked
            problems += err.errors
            own = err.partial or []
        budgets = merge(own, options.budgets_file.for_spec(network.name, stem) if options.budgets_file else [],
                        options.flags)
        if not budgets and not problems:
            if options.skip_unbudgeted:
                result.skipped = "no budgets"
                return result
            # an error in the spec itself is the more useful answer, so analyse before saying "no budgets"
            analyze(network.expand(options.overrides, input_shape=options.input_shape, batch=options.batch))
            raise SpecError(f"no budgets for `{network.name}`", Mark(network.source, 1, 1),
                            "add a `budgets:` section, or pass --budgets FILE or --max KEY=VALUE")
        graph = network.expand(options.overrides, input_shape=options.input_shape, batch=options.batch)
        report = under_convention(analyze(graph), graph, options.convention, options.with_bugs)
        result.name = report.name
        if any(b.quantity in TRAINING_QUANTITIES for b in budgets):  # only then: it asks every layer more
            attach_training(report, graph, {b.quantity for b in budgets})
        if report.unsupported:  # the totals lack the placeholders' cost: a budget met may not be
            result.warnings.append(f"{unsupported_summary(report.unsupported)}, so every budget is checked "
                                   "against a lower bound")
        baseline = None
        if options.baseline:
            if not any(b.needs_baseline for b in budgets):
                raise SpecError(f"--baseline given but no `max_increase` budget applies to `{report.name}`", None,
                                "add --max-increase macs=2% (or `max_increase:` to the budgets)")
            baseline = load_baseline(options.baseline, stem, report.name)
            if baseline.name != report.name:
                result.warnings.append(f"the baseline is for `{baseline.name}`, the spec is `{report.name}`")
        if any(b.needs_roofline for b in budgets):  # latency_ms, bytes_moved (docs/roofline.md)
            from ..cost.roofline import roofline

            traffic = roofline(graph, options.device, report=report)
            budgets = [b.with_roofline(traffic) if b.needs_roofline else b for b in budgets]
        for budget in budgets:
            try:
                result.results.append(budget.evaluate(report, baseline))
            except SpecError as err:  # a budget that cannot apply (a glob matching no layer): the others still run
                problems += every_error(err)
        if problems:
            raise SpecErrors(problems)
    except SpecErrors as err:
        result.error = err if err.errors == problems else SpecErrors(problems + [e for e in err.errors
                                                                                 if e not in problems])
    except SpecError as err:
        result.error = SpecErrors(problems + [err]) if problems else err
    return result


def _looks_like_spec(spec: str) -> bool:
    """True unless ``spec`` is readable YAML that is clearly something else (no top-level ``layers:``)."""
    from ..spec.yamlio import load_yaml

    if not os.path.exists(spec):
        return True
    try:
        text = read_file(spec, "the spec")  # a FIFO, a device or a huge file is refused, not read: not a spec
    except SpecError:
        return False
    try:
        doc = load_yaml(text, spec)
    except SpecError:
        return True
    return isinstance(doc, YMap) and "layers" in doc


def load_baseline(path: str, *names: str) -> Report:
    """A baseline report (``convcalc analyze --format json`` output). ``path`` is a file, or a directory holding
    ``NAME.json`` for each spec (by file stem, then by spec name)."""
    location = path
    if os.path.isdir(path):
        candidates = [os.path.join(path, f"{name}.json") for name in names if name]
        found = [c for c in candidates if os.path.isfile(c)]  # os.path: a name too long for the system is no file
        if not found:
            raise SpecError(f"no baseline for `{names[-1]}` in {path}", None,
                            f"expected {candidates[0]} (from `convcalc analyze SPEC --format json`)")
        location = found[0]
    text = read_file(location, "the baseline", MAX_REPORT_BYTES, hint="check the --baseline path")
    data = _report_json(text, location)
    where = Mark(location, 1, 1)
    if not isinstance(data, dict) or data.get("version") != 1:
        found_version = data.get("version") if isinstance(data, dict) else None
        shown = describe(found_version) if found_version is not None else "none"
        raise SpecError(f"the baseline is not a version-1 convcalc report (version {shown})", where,
                        "create it with `convcalc analyze SPEC --format json`")
    _check_report_counts(data, where)
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
        # the missing key by name; any other failure is a value of the wrong type (no Python exception text)
        what = f"no `{shorten(str(exc.args[0]))}`" if isinstance(exc, KeyError) else "a value of the wrong type"
        raise SpecError(f"the baseline is not a complete convcalc report ({shorten(what, 200)})", where,
                        "create it with `convcalc analyze SPEC --format json`") from None


def _report_json(text: str, location: str):
    """A baseline's JSON, read within the bounds of :mod:`convcalc.limits`: numbers within ±10^100 (their digits
    counted before conversion), no NaN or Infinity, and no nesting deeper than Python's recursion limit."""
    import json

    where = Mark(location, 1, 1)
    hint = "create it with `convcalc analyze SPEC --format json > baseline.json`"

    def integer(digits: str) -> int:
        return whole_number(digits, "a number in the baseline", where)

    def decimal(digits: str):
        return decimal_value(digits, where, "a number in the baseline")

    def constant(name: str):
        raise SpecError(f"the baseline holds `{name}`, which is not a number", where, hint)

    try:
        return json.loads(text, parse_int=integer, parse_float=decimal, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise SpecError(f"the baseline is not JSON: {exc.msg}", Mark(location, exc.lineno, exc.colno), hint) from None
    except RecursionError:  # json's parser recurses once per level of nesting, and says so at Python's limit
        raise SpecError("the baseline nests too deeply (a report nests 4 levels)", where, hint) from None


_COUNTS = ("params", "buffers", "macs", "flops", "activation_bytes")


def _check_report_counts(data: dict, where: Mark) -> None:
    """The counts a budget reads from a baseline (totals and per-layer counts) are whole numbers ≥ 0 within the
    bound, and the names are text: a string, a list or NaN there would fail deep inside a comparison."""
    def fail(what: str):
        raise SpecError(f"the baseline is not a complete convcalc report: {what}", where,
                        "create it with `convcalc analyze SPEC --format json`")

    def count(value, what: str):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value or not within(value):
            fail(f"`{what}` must be a whole number ≥ 0 (at most 10^100), got {describe(value)}")

    if not isinstance(data.get("name"), str):
        fail(f"`name` must be text, got {describe(data.get('name'))}")
    totals = data.get("totals")
    if not isinstance(totals, dict):
        fail(f"`totals` must be a mapping, got {describe(totals)}")
    for key, value in totals.items():
        count(value, f"totals.{shorten(key)}")
    layers = data.get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        fail("`layers` must be a list of layer mappings")
    for index, layer in enumerate(layers):
        if not isinstance(layer.get("name"), str):
            fail(f"`layers[{index}].name` must be text, got {describe(layer.get('name'))}")
        for key in _COUNTS:
            if key in layer:
                count(layer[key], f"layers[{index}].{key}")


def check(specs: list[str], options: CheckOptions) -> CheckRun:
    """Check every spec; see :class:`CheckRun` for the exit code."""
    return CheckRun([check_spec(spec, options) for spec in specs])
