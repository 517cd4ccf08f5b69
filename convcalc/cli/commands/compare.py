"""``convcalc compare``: networks side by side, a layer built every way (what-if), a whole network rewritten.
Rendered by :mod:`convcalc.render.compare` and :mod:`convcalc.render.whatif`."""

from __future__ import annotations

from ..common import overrides


def compare(specs: list[str] | None = None, layer: str | None = None, as_: str | None = None,
            only: list[str] | None = None, write: str | None = None, groups: str | None = None,
            format: str = "table", batch: int | None = None, input: str | None = None, sets: list[str] | None = None,
            units: str = "auto",
            all_layers: bool = False, allow_unsupported: bool = False, train: bool = False,
            device: str | None = None, plot: str | None = None, width: int | None = None, wide: bool = False,
            convention: str = "torchvision", with_bugs: bool = False) -> int:
    """Compare networks, or one conv built every way.

    Specs side by side, one layer built every way, or a network with every conv rewritten.

    \b
    Examples:
      convcalc compare resnet50 resnet50_v1                totals, stages and layers against the first
      convcalc compare --layer "conv 128->128 k3 @56x56"   every design of one conv (docs/compare.md)
      convcalc compare resnet18 --layer layer1.0.conv1     the same for a conv of a spec
      convcalc compare mobilenet_v1 --as grouped:4         every eligible conv rewritten
      convcalc compare resnet18 mobilenet_v2 --train       with each one's training-memory peak
      convcalc compare resnet18 mobilenet_v2 --plot stages.svg   + a chart of MACs per stage
    """
    from ...errors import SpecError
    from ...render.emitters import emit
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)

    from ...spec.loader import parse_input_override

    specs = list(specs or [])
    shape = parse_input_override(input) if input is not None else None
    if plot is not None:  # before any work
        from ...render.charts import check_plot_target

        if layer is not None:
            raise SpecError("--plot draws networks side by side; --layer builds one conv", None,
                            "drop --plot, or compare two specs (or one with --as)")
        check_plot_target(plot)
    if layer is not None:
        if as_ is not None or len(specs) > 1:
            raise SpecError("--layer takes at most one spec and no --as", None,
                            "run the what-if and the rewrite separately")
        if convention != "torchvision" or with_bugs:
            raise SpecError(f"--convention {convention} counts whole networks, not the designs of --layer", None,
                            "compare networks side by side or with --as under --convention")
        from ...compare.whatif import layer_query_from_spec, parse_groups, parse_layer, what_if
        from ...render.whatif import WhatIfView

        if shape is not None and not specs:
            raise SpecError("--input needs a spec: a --layer description gives its own size (… @56x56)", None,
                            "write the size in the description, or give the spec: compare SPEC --layer NAME "
                            "--input 3x160x160")
        query = layer_query_from_spec(specs[0], layer, batch, allow_unsupported, shape) if specs else \
            parse_layer(layer)
        emit(WhatIfView(what_if(query, parse_groups(groups)), units), format, width=fit)
        return 0
    if as_ is not None:
        if len(specs) != 1:
            raise SpecError("--as rewrites exactly one spec", None, "give one spec: compare net.yaml --as …")
        from ...compare.networks import compare_reports
        from ...compare.rewrite import rewrite_spec
        from ...render.compare import ComparisonView, rewrite_extra, rewrite_notes

        result = rewrite_spec(specs[0], as_, only or [], batch, allow_unsupported, shape, convention, with_bugs)
        if write:
            result.write(write)
        comparison = compare_reports([result.before, result.after],
                                     [result.before.name, f"{result.before.name} as {as_}"])
        emit(ComparisonView(comparison, units, all_layers, rewrite_notes(result, write), rewrite_extra(result, write)),
             format, width=fit)
        _plot(comparison, plot)
        return 0
    if len(specs) < 2:
        raise SpecError("compare needs two or more specs, or one spec with --as or --layer", None,
                        "e.g. convcalc compare resnet50 resnet50_v1")
    from ...compare.networks import compare_networks
    from ...render.compare import ComparisonView

    profile = None
    if device is not None:
        from ...cost.devices import find_device

        profile = find_device(device)
    comparison = compare_networks(specs, batch, overrides(sets), allow_unsupported, train, profile, shape,
                                  convention, with_bugs)
    emit(ComparisonView(comparison, units, all_layers), format, width=fit)
    _plot(comparison, plot)
    return 0


def _plot(comparison, path: str | None) -> None:
    if path is not None:
        from ...render.charts import write_plot
        from ...render.figures import comparison_chart

        write_plot(comparison_chart(comparison), path)
