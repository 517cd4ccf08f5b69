"""``convcalc report SPEC [SPEC…] -o net.html``: one self-contained HTML page (:mod:`convcalc.overview` computes,
:mod:`convcalc.render.html` renders; docs/report.md)."""

from __future__ import annotations

import sys

from ..common import expand
from ...errors import SpecError


def report(specs: list[str], output: str | None = None, device: str | None = None, dtype: str | None = None,
           fuse: str = "none", batch: int | None = None, input: str | None = None, sets: list[str] | None = None,
           units: str = "auto", allow_unsupported: bool = False) -> int:
    """Write a self-contained HTML report of one or more networks.

    The summary, a sortable layer table, charts of MACs and params per layer and stage, RF growth, the analytic
    ERF, and cost and roofline columns; two or more specs side by side.

    \b
    Examples:
      convcalc report resnet50 -o resnet50.html                  one network
      convcalc report resnet50 --device a100 -o resnet50.html    + roofline columns on an A100
      convcalc report resnet18 mobilenet_v2 -o both.html         two networks side by side
    """
    from ...overview import overviews
    from ...render.files import check_output
    from ...render.html import ReportPage

    if output is not None:
        check_output(output, "--output")
    if device is None and (dtype is not None or fuse != "none"):
        raise SpecError(f"{'--dtype' if dtype is not None else '--fuse'} sets the roofline, which needs a device",
                        None, "add --device NAME (convcalc device list) or a profile file")
    profile = None
    if device is not None:
        from ...cost.devices import find_device

        profile = find_device(device)
    graphs = [expand(spec, batch, input, sets, allow_unsupported) for spec in specs]
    page = ReportPage(*overviews(graphs, profile, dtype, fuse), units).html()
    if output is None:
        sys.stdout.write(page)
        return 0
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(page)
    except OSError as err:
        raise SpecError(f"--output {output}: {err.strerror or err}", None, "choose a path you can write") from None
    print(f"wrote {output}", file=sys.stderr)
    return 0
