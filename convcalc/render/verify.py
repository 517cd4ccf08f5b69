"""``convcalc verify``: the analytic and executed counts side by side per layer, the RF probe per axis, the
comparison with the original model (``--against-original``) per mapped layer, and a transient progress bar on
stderr while a long run executes.

The text stays unstyled even on a colour terminal (verify has always printed plain text); JSON is
:meth:`convcalc.verify.VerifyResult.to_dict` with ASCII escapes (the contract as it stands).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..numbers import fmt_shape
from .model import LEFT, RIGHT, Document, Json, Line, Table, columns


def _shape(s) -> str:
    return "—" if s is None else "×".join(map(str, s))


def _num(n) -> str:
    return "—" if n is None else f"{n:,}"


#: on a narrow terminal the per-layer columns that give way, lowest priority first (the ✓ column says whether they
#: agree); `convcalc verify --help` and README.md say the same
DROP_ORDER = ("executed_shape", "type", "executed_params", "executed_macs", "analytic_shape", "analytic_params")
#: the same for the RF probe (the windows and the status stay), --train (the ✓ stays) and --against-original
RF_DROP_ORDER = ("taps", "index", "size", "span")
TRAIN_DROP_ORDER = ("type", "executed_dx", "executed_dw")
ORIGINAL_DROP_ORDER = ("tolerance", "max_abs", "type", "shape")


def layers_table(result) -> Table:
    table = Table(columns(("name", "layer", LEFT), ("type", "type", LEFT),
                          ("analytic_shape", "output (analytic)", RIGHT), ("executed_shape", "output (executed)", RIGHT),
                          ("analytic_params", "params (analytic)", RIGHT), ("executed_params", "params (executed)", RIGHT),
                          ("analytic_macs", "MACs (analytic)", RIGHT), ("executed_macs", "MACs (executed)", RIGHT),
                          ("ok", "", LEFT)), drop=DROP_ORDER, shrink={"name": 20, "type": 12})
    for row in result.rows:
        table.add([row.name, row.type, _shape(row.analytic_shape), _shape(row.executed_shape),
                   _num(row.analytic_params), _num(row.executed_params), _num(row.analytic_macs),
                   _num(row.executed_macs), "✓" if row.ok else "✗"])
    return table


def layers_summary(result) -> str:
    agree = sum(row.ok for row in result.rows)
    return (f"{agree}/{len(result.rows)} layers agree · batch {result.batch} · {result.dtype} · seed {result.seed} · "
            f"executed in {result.seconds:.2f} s")


def rf_blocks(axes: list) -> list:
    """The RF probe (``VerifyResult.rf``: one dict per axis, see :func:`convcalc.verify.probe_rf`)."""
    first = axes[0] if axes else None
    unit = ",".join(map(str, first["position"])) if first else ""
    title = (f"RF probe: `{first['layer']}` unit ({unit}) — input gradient with all-ones weights, max pooling as a "
             "sum, positive input" if first else "RF probe")
    table = Table(columns(("axis", "axis", LEFT), ("index", "unit", RIGHT), ("analytic", "analytic window", LEFT),
                          ("size", "size", RIGHT), ("measured", "measured window", LEFT), ("span", "span", RIGHT),
                          ("taps", "nonzero taps", RIGHT), ("status", "", LEFT)), drop=RF_DROP_ORDER)
    for a in axes:
        analytic = f"{a['analytic']['first']} … {a['analytic']['last']}"
        measured = "—" if a["measured"]["first"] is None else f"{a['measured']['first']} … {a['measured']['last']}"
        mark = {"ok": "✓", "mismatch": "✗"}.get(a["status"], a["status"])
        table.add([str(a["axis"]), str(a["index"]), analytic + (" (clipped)" if a["analytic"]["clipped"] else ""),
                   str(a["analytic"]["size"]), measured, str(a["measured"]["span"]), str(a["measured"]["taps"]), mark])
    blocks: list = [Line(title, "row"), table]
    blocks += [Line(f"note: {note}", "row") for note in dict.fromkeys(a["note"] for a in axes if a["note"])]
    agree = sum(a["status"] == "ok" for a in axes)
    compared = sum(a["status"] in ("ok", "mismatch") for a in axes)
    if compared:
        blocks.append(Line(f"{agree}/{compared} axes agree with the analytic RF (span = RF size, first index = −P + u·j)",
                           "row"))
    else:
        blocks.append(Line("no axis compared: the measured window is shown for information", "row"))
    return blocks


def train_blocks(rows: list) -> list:
    """``verify --train``: the layers that do backward work, the cost model's dX and dW MACs beside the
    executor's training step's (:class:`convcalc.verify.TrainRow`)."""
    table = Table(columns(("name", "layer", LEFT), ("type", "type", LEFT),
                          ("analytic_dx", "dX MACs (analytic)", RIGHT), ("executed_dx", "dX MACs (executed)", RIGHT),
                          ("analytic_dw", "dW MACs (analytic)", RIGHT), ("executed_dw", "dW MACs (executed)", RIGHT),
                          ("ok", "", LEFT)), drop=TRAIN_DROP_ORDER, shrink={"name": 20, "type": 12})
    for row in rows:
        if any(row.analytic) or any(row.executed):
            table.add([row.name, row.type, _num(row.analytic[0]), _num(row.executed[0]), _num(row.analytic[1]),
                       _num(row.executed[1]), "✓" if row.ok else "✗"])
    agree = sum(row.ok for row in rows)
    return [Line("training step: input-gradient (dX) and weight-gradient (dW) MACs, whole batch", "row"), table,
            Line(f"{agree}/{len(rows)} layers agree with `convcalc cost --train` (layers with no backward MACs "
                 "not shown)", "row")]


@dataclass
class VerifyView:
    result: object
    rf: bool = False

    def table(self) -> Document:
        blocks: list = [layers_table(self.result), Line(layers_summary(self.result), "row")]
        if self.rf:
            blocks += [Line("", "row")] + rf_blocks(self.result.rf)
        if self.result.train:
            blocks += [Line("", "row")] + train_blocks(self.result.train)
        return Document(blocks, plain=True)

    def json(self) -> Json:
        return Json(self.result.to_dict(), ascii=True)


def original_table(result) -> Table:
    """One row per mapped layer (:class:`convcalc.importers.original.OriginalCheck`): its per-sample shape (and the
    original's when it differs), the max abs and max rel errors, the tolerance, pass or fail."""
    from ..importers.original import sci

    table = Table(columns(("name", "layer", LEFT), ("type", "type", LEFT), ("shape", "shape", RIGHT),
                          ("max_abs", "max abs error", RIGHT), ("max_rel", "max rel error", RIGHT),
                          ("tolerance", "tolerance", RIGHT), ("ok", "", LEFT)), drop=ORIGINAL_DROP_ORDER,
                  shrink={"name": 20, "type": 12})
    for row in result.rows:
        shape = fmt_shape(row.shape)
        if row.original_shape is not None and row.original_shape != row.shape:
            shape += f" ≠ {fmt_shape(row.original_shape)}"
        elif row.original_shape is None:
            shape += " (missing)"
        table.add([row.name, row.type, shape, sci(row.max_abs), sci(row.max_rel), sci(row.tolerance),
                   "✓" if row.ok else "✗"])
    return table


def original_summary(result) -> list[str]:
    """The summary lines: how many agree, the dtype and its tolerance, the skipped layers; then the first
    divergence, or that every mapped tensor agrees."""
    from ..importers.original import sci

    agree = sum(row.ok for row in result.rows)
    tolerances = sorted({row.tolerance for row in result.rows})
    span = (sci(tolerances[0]) if len(tolerances) == 1 else f"{sci(tolerances[0])} … {sci(tolerances[-1])}"
            if tolerances else "—")
    skipped = len(result.skipped)
    first = (f"{agree}/{len(result.rows)} mapped tensors agree with {result.source} · {skipped} "
             f"layer{'' if skipped == 1 else 's'} without a tensor skipped · batch {result.batch} · seed "
             f"{result.seed} · ran in {result.seconds:.2f} s")
    return [first, f"{result.dtype} tolerance {span}: {result.rule}", result.sentence()]


@dataclass
class OriginalView:
    """``verify SOURCE --against-original``: the table and its summary, or the JSON of
    :meth:`convcalc.importers.original.OriginalCheck.to_dict` (ASCII-escaped, as verify's)."""

    result: object

    def table(self) -> Document:
        return Document([original_table(self.result)] + [Line(text, "row") for text in
                                                          original_summary(self.result)], plain=True)

    def json(self) -> Json:
        return Json(self.result.to_dict(), ascii=True)
