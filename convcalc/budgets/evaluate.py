"""Checking: one spec (load, expand, analyse, gather its budgets, evaluate them), a whole ``convcalc check`` run,
and loading the baseline reports that ``max_increase`` compares with. Bad input met while checking a spec is
caught into its :class:`~convcalc.budgets.results.SpecCheck`, so that the other specs of a run are still
checked."""

from __future__ import annotations

from pathlib import Path

from ..cost.report import Report, unsupported_summary
from ..errors import Mark, SpecError
from ..spec.yamlio import YMap
from .kinds import Budget
from .parse import CheckOptions, merge, spec_budgets
from .results import BudgetResult, CheckRun, SpecCheck


def evaluate(report: Report, budgets: list[Budget], baseline: Report | None = None) -> list[BudgetResult]:
    """Check ``report`` against ``budgets`` (and ``baseline`` for the kinds that compare with one).

    Raises :class:`SpecError` (bad input) for a budget that cannot apply: a glob that matches no layer, a
    ``min_rf`` with the wrong number of axes or an unknown layer.
    """
    return [budget.evaluate(report, baseline) for budget in budgets]


def check_spec(spec: str, options: CheckOptions) -> SpecCheck:
    """Load, expand and analyse ``spec``, gather its budgets and check them. Bad input is caught into
    :attr:`SpecCheck.error` so that the other specs of the run are still checked."""
    from ..cost.analysis import analyze
    from ..importers.source import load_network

    result = SpecCheck(spec)
    try:
        try:
            network = load_network(spec, options.input_shape, options.allow_unsupported, warn=result.warnings.append)
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
