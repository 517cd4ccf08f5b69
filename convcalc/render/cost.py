"""``convcalc cost SPEC --algorithm …``: the convolution algorithms of every conv (:mod:`convcalc.cost.algorithms`).

Three layouts of one :class:`~convcalc.cost.algorithms.AlgorithmReport`:

* ``all`` (the default) — one row per conv, the multiplications of every algorithm side by side, and the choice;
* ``best`` — one row per conv: direct, the chosen algorithm, its multiplications and the reason;
* one family (``direct``, ``im2col``, ``winograd``, ``fft``) — one row per conv and variant with every number: the
  multiplications, their ratio to direct, the transform ops per run, the filter transform (once), the workspace and
  the GEMM, tile or FFT shape; a variant that does not apply says why.

CSV is one row per conv and variant (of the requested family, or all), exact; JSON is
:meth:`AlgorithmReport.to_dict` (docs/json.md, "convcalc cost").
"""

from __future__ import annotations

from ..cost.algorithms import FAMILIES, Estimate
from ..numbers import fmt_bytes, fmt_count
from .model import LEFT, RIGHT, Document, Json, Line, Table, columns, csv_columns
from .train_memory import TrainMemorySection

NA = "n/a"
#: layer names shorten in the middle to no less than this on a narrow terminal
LAYER_SHRINK = {"layer": 14}


def _ratio(direct: int, count: int) -> str:
    if count == direct:
        return "1.00×"
    return f"{direct / count:.2f}× fewer" if count < direct else f"{count / direct:.2f}× more"


def _shape_text(e: Estimate) -> str:
    """The GEMM, tile or FFT shape in a few characters."""
    s = e.shape
    if "gemm" in s:
        gemm = s["gemm"]
        return f"T={s['tiles']:,}/map, {s['gemms']:,}× GEMM {gemm['m']}×{gemm['n']:,}×{gemm['k']}"
    if "m" in s:
        return f"{s['groups']}× GEMM {s['m']}×{s['n']:,}×{s['k']:,}"
    if "fft_size" in s:
        return f"FFT {'×'.join(map(str, s['fft_size']))}"
    return ""


class CostView:
    """The views of ``convcalc cost``: ``algorithm`` is ``all``, ``best`` or one family."""

    def __init__(self, report, algorithm: str = "all", units: str = "auto", training=None, memory=None):
        self.report, self.algorithm, self.units = report, algorithm, units
        #: ``--train``: the backward compute (:class:`~convcalc.cost.training.TrainingCompute`), or None
        self.training = training
        #: the training memory (``--train``, ``--optimizer``, ``--precision``): a section after the compute
        self.memory = None if memory is None else TrainMemorySection(memory, units)

    def _training(self, markdown: bool) -> list:
        if self.training is None:
            return []
        from .training import training_blocks

        return training_blocks(self.training, self.units, markdown)

    def _memory_blocks(self, markdown: bool) -> list:
        return [] if self.memory is None else self.memory.blocks(markdown)

    def families(self) -> tuple[str, ...]:
        return FAMILIES if self.algorithm in ("all", "best") else (self.algorithm,)

    def _count(self, value) -> str:
        return NA if value is None else fmt_count(int(value), self.units)

    def _header(self) -> Line:
        r = self.report
        return Line(f"{r.name}: convolution algorithms · batch {r.batch} · {r.dtype} · best by {r.chosen_by}"
                    + ("" if r.chosen_by != "multiplications" else " (--device NAME: by roofline time)"), "title")

    def _notes(self) -> list[Line]:
        notes = ["multiplications: products of data and weights for the whole batch (direct = the layer's MACs; "
                 "Winograd: elementwise products; FFT: 4 real per complex product); transforms are counted apart",
                 "formulas and sources: docs/algorithms.md · `convcalc explain winograd` (im2col, fft)"]
        return [Line(text) for text in notes]

    def _totals(self) -> Line:
        totals = self.report.totals()
        direct, best = totals["direct"]["multiplications"], totals["best"]["multiplications"]
        return Line(f"total multiplications: direct {fmt_count(direct, self.units)}, best "
                    f"{fmt_count(best, self.units)} ({_ratio(direct, best) if best else '—'})", "total")

    # ---- the three layouts (on a narrow terminal each drops the columns of its `drop` first) ----------------------------------------------------------------------------------------------
    def _all_table(self, markdown: bool) -> Table:
        keys = [e.algorithm for e in self.report.convs[0].estimates] if self.report.convs else []
        labels = {e.algorithm: e.label for c in self.report.convs for e in c.estimates}
        table = Table(columns(("layer", "layer", LEFT), ("type", "type", LEFT), ("conv", "conv", LEFT),
                              *[(key, labels[key], RIGHT) for key in keys], ("best", "best", LEFT)),
                      drop=("type", *[key for key in keys[::-1] if key != "direct"], "conv"), shrink=LAYER_SHRINK)
        for c in self.report.convs:
            cells = [self._count(c.estimate(key).multiplications) for key in keys]
            table.add([f"`{c.name}`" if markdown else c.name, c.type, c.conv_text(), *cells, c.best.label])
        return table

    def _best_table(self, markdown: bool) -> Table:
        table = Table(columns(("layer", "layer", LEFT), ("type", "type", LEFT), ("conv", "conv", LEFT),
                              ("direct", "direct", RIGHT), ("best", "best", LEFT),
                              ("multiplications", "multiplications", RIGHT), ("reason", "why", LEFT)),
                      drop=("type", "reason", "direct", "conv"), shrink=LAYER_SHRINK)
        for c in self.report.convs:
            table.add([f"`{c.name}`" if markdown else c.name, c.type, c.conv_text(),
                       self._count(c.estimate("direct").multiplications), c.best.label,
                       self._count(c.best.multiplications), c.reason])
        return table

    def _family_table(self, markdown: bool) -> Table:
        table = Table(columns(("layer", "layer", LEFT), ("conv", "conv", LEFT), ("algorithm", "algorithm", LEFT),
                              ("multiplications", "multiplications", RIGHT), ("ratio", "vs direct", RIGHT),
                              ("transform_ops", "transform ops", RIGHT), ("filter_ops", "filter ops (once)", RIGHT),
                              ("workspace", "workspace", RIGHT), ("shape", "shape / reason", LEFT)),
                      drop=("filter_ops", "transform_ops", "shape", "workspace", "ratio", "conv"), shrink=LAYER_SHRINK)
        for c in self.report.convs:
            direct = int(c.estimate("direct").multiplications)
            for e in c.estimates:
                if e.family != self.algorithm:
                    continue
                name = f"`{c.name}`" if markdown else c.name
                if not e.applicable:
                    table.add([name, c.conv_text(), e.label, NA, "", "", "", "", f"not applicable: {e.reason}"],
                              "warn")
                    continue
                table.add([name, c.conv_text(), e.label, self._count(e.multiplications),
                           _ratio(direct, int(e.multiplications)), self._count(e.transform_ops),
                           self._count(e.filter_ops), fmt_bytes(int(e.workspace_bytes), self.units),
                           _shape_text(e)])
        return table

    def _table(self, markdown: bool) -> Table:
        if self.algorithm == "all":
            return self._all_table(markdown)
        if self.algorithm == "best":
            return self._best_table(markdown)
        return self._family_table(markdown)

    def _unsupported(self) -> list[Line]:
        names = self.report.unsupported
        if not names:
            return []
        return [Line(f"warning: {len(names)} unsupported placeholder layer{'s' * (len(names) != 1)} not counted "
                     f"(their cost is unknown, not zero): {', '.join(names)}", "warn")]

    def _document(self, markdown: bool) -> Document:
        if not self.report.convs:
            return Document([self._header(), Line(f"{self.report.name} has no convolution or layer with MACs", "warn"),
                             *self._unsupported(), *self._training(markdown), *self._memory_blocks(markdown)])
        return Document([self._header(), self._table(markdown), self._totals(), *self._unsupported(),
                         *self._notes(), *self._training(markdown), *self._memory_blocks(markdown)])

    def table(self) -> Document:
        return self._document(False)

    def markdown(self) -> Document:
        return self._document(True)

    def csv(self) -> Table:
        if self.memory is not None:  # one table per CSV: the training memory, row per saved tensor
            return self.memory.csv()
        table = Table(csv_columns("layer", "stage", "type", "algorithm", "applicable", "multiplications",
                                  "transform_ops", "filter_ops", "workspace_bytes", "best", "reason"))
        for c in self.report.convs:
            for e in c.estimates:
                if e.family not in self.families():
                    continue
                value = lambda v: "" if v is None else int(v)  # noqa: E731
                table.add([c.layer, c.stage, c.type, e.algorithm, "true" if e.applicable else "false",
                           value(e.multiplications), value(e.transform_ops), value(e.filter_ops),
                           value(e.workspace_bytes), "true" if e is c.best else "false", e.reason])
        return table

    def json(self) -> Json:
        data = self.report.to_dict(self.families())
        if self.training is not None:
            data["cost"].setdefault("training", {})["compute"] = self.training.to_dict()
        if self.memory is not None:
            data["cost"].setdefault("training", {})["memory"] = self.memory.memory.to_dict()
        return Json(data)
