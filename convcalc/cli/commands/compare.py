"""``convcalc compare``: networks side by side, a layer built every way (what-if), a whole network rewritten."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..app import BATCH_OPT, Format, Units, app, user_errors


@app.command()
def compare(
    specs: Optional[List[str]] = typer.Argument(None, metavar="[SPEC]...", help="Spec files or shipped config names. Two or more: "
                                                           "side by side against the first. One: with --as or "
                                                           "--layer."),
    layer: Optional[str] = typer.Option(None, "--layer", help="What-if for one conv: a layer NAME of the spec, or "
                                                              "a description like \"conv 128->128 k3 s1 @56x56\"."),
    as_: Optional[str] = typer.Option(None, "--as", help="Rewrite every eligible conv: depthwise_separable, "
                                                         "grouped:G, separable, flattened, shuffle:G, dilated, ..."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="With --as: rewrite only layers whose name "
                                                                  "matches this glob (repeatable)."),
    write: Optional[str] = typer.Option(None, "--write", help="With --as: write the rewritten spec (flat YAML) "
                                                              "to this file."),
    groups: Optional[str] = typer.Option(None, "--groups", help="With --layer: the group counts to try for the "
                                                                "grouped and shuffle-grouped rows, e.g. 2,4,8."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    batch: Optional[int] = BATCH_OPT,
    set: Optional[List[str]] = typer.Option(None, "--set", help="Side by side: override a var NAME=VALUE in every "
                                                                  "spec that declares it (repeatable)."),
    units: Units = typer.Option(Units.auto, "--units", help="auto (human), raw (exact), or fixed K/M/G."),
    all_layers: bool = typer.Option(False, "--all-layers", help="List identical layers too."),
):
    """Compare designs: specs side by side, one layer built every way, or a network with every conv rewritten.

    \b
    convcalc compare resnet50 resnet50_v1                totals, stages and layers against the first
    convcalc compare --layer "conv 128->128 k3 @56x56"   standard, grouped, separable, … (docs/compare.md)
    convcalc compare resnet18 --layer layer1.0.conv1     the same for a conv of a spec, at its real input
    convcalc compare mobilenet_v1 --as grouped:4         every eligible conv rewritten (--write out.yaml)
    """
    with user_errors():
        from ...errors import SpecError

        specs = list(specs or [])
        if layer is not None:
            if as_ is not None or len(specs) > 1:
                raise SpecError("--layer takes at most one spec and no --as", None,
                                "run the what-if and the rewrite separately")
            from ...compare.whatif import layer_query_from_spec, parse_groups, parse_layer, what_if
            from ...render.compare import render_what_if

            query = layer_query_from_spec(specs[0], layer, batch) if specs else parse_layer(layer)
            render_what_if(what_if(query, parse_groups(groups)), format.value, units.value, sys.stdout)
            return
        if as_ is not None:
            if len(specs) != 1:
                raise SpecError("--as rewrites exactly one spec", None, "give one spec: compare net.yaml --as …")
            from ...compare.networks import compare_reports
            from ...compare.rewrite import rewrite_spec
            from ...render.compare import render_comparison, rewrite_extra, rewrite_notes

            result = rewrite_spec(specs[0], as_, only or [], batch)
            if write:
                result.write(write)
            comparison = compare_reports([result.before, result.after],
                                         [result.before.name, f"{result.before.name} as {as_}"])
            render_comparison(comparison, format.value, units.value, all_layers, sys.stdout,
                              extra_notes=rewrite_notes(result, write), extra=rewrite_extra(result, write))
            return
        if len(specs) < 2:
            raise SpecError("compare needs two or more specs, or one spec with --as or --layer", None,
                            "e.g. convcalc compare resnet50 resnet50_v1")
        from ...compare.networks import compare_networks
        from ...render.compare import render_comparison

        from ..app import overrides

        render_comparison(compare_networks(specs, batch, overrides(set)), format.value, units.value, all_layers,
                          sys.stdout)
