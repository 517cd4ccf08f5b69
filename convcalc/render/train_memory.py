"""``convcalc cost SPEC --train``: the training-memory section (:mod:`convcalc.cost.train_memory`).

Two tables: per layer what it saves for backward (bytes, the storage, the earlier layer that already saved it),
and the summary (bytes per parameter, the static parts, the saved activations with and without deduplication, the
peak and where it is). CSV is one row per saved tensor, exact; JSON is ``cost.training.memory`` (docs/json.md).
"""

from __future__ import annotations

from ..numbers import fmt_bytes
from .model import LEFT, RIGHT, Line, Table, columns, csv_columns


class TrainMemorySection:
    def __init__(self, memory, units: str = "auto"):
        self.memory, self.units = memory, units

    def _bytes(self, value: int) -> str:
        return fmt_bytes(int(value), self.units)

    def header(self) -> Line:
        m = self.memory
        frozen = f" · frozen: {', '.join(m.frozen)}" if m.frozen else ""
        return Line(f"{m.name}: training memory · batch {m.batch} · {m.optimizer} · {m.precision}{frozen}", "title")

    def layers_table(self, markdown: bool) -> Table:
        table = Table(columns(("layer", "layer", LEFT), ("type", "type", LEFT), ("saved", "saved for backward", LEFT),
                              ("bytes", "bytes", RIGHT), ("new", "new (deduplicated)", RIGHT),
                              ("shared", "already saved by", LEFT)))
        for layer in self.memory.layers:
            name = f"`{layer.name}`" if markdown else layer.name
            if not layer.backward:
                table.add([name, layer.type, "no backward (nothing before it trains)", "", "", ""], "note")
                continue
            what = ", ".join(f"{row.what} ({row.dtype})" for row in layer.saved) or "nothing"
            shared = ", ".join(sorted({row.shared for row in layer.saved if row.shared and row.shared != layer.name}))
            table.add([name, layer.type, what, self._bytes(layer.saved_bytes), self._bytes(layer.new_bytes), shared])
        return table

    def summary_table(self) -> Table:
        m = self.memory
        per = m.per_param
        table = Table(columns(("part", "part", LEFT), ("bytes", "bytes", RIGHT), ("how", "how", LEFT)))
        trainable = sum(layer.trainable_params for layer in m.layers)
        frozen = sum(layer.frozen_params for layer in m.layers)
        table.add(["weights", self._bytes(m.static["weights"]),
                   f"{trainable + frozen:,} params × {per['weights']} B ({frozen:,} frozen)"])
        table.add(["gradients", self._bytes(m.static["gradients"]), f"{trainable:,} × {per['gradients']} B"])
        table.add(["optimizer state", self._bytes(m.static["optimizer_state"]),
                   f"{trainable:,} × {per['optimizer_state']} B ({m.optimizer})"])
        if per["master_weights"]:
            table.add(["master weights (fp32)", self._bytes(m.static["master_weights"]),
                       f"{trainable:,} × {per['master_weights']} B"])
        table.add(["buffers", self._bytes(m.static["buffers"]), "running statistics, apart from the params"])
        table.add(["saved activations", self._bytes(m.saved_bytes),
                   f"each storage once ({self._bytes(m.saved_bytes_listed)} if every layer's were counted)"])
        parts = m.peak_parts
        table.add(["peak", self._bytes(m.peak),
                   f"at `{m.peak_layer}` ({m.peak_phase}): static {self._bytes(parts['static_bytes'])} + saved "
                   f"{self._bytes(parts['saved_bytes'])} + activations {self._bytes(parts['activation_bytes'])} + "
                   f"gradients {self._bytes(parts['gradient_bytes'])}"], "total")
        return table

    def notes(self) -> list[Line]:
        per = self.memory.per_param
        return [Line(f"{per['total']} B per trainable param ({self.memory.optimizer}, {self.memory.precision}): "
                     f"weights {per['weights']} + gradients {per['gradients']} + state {per['optimizer_state']}"
                     + (f" + fp32 master {per['master_weights']}" if per["master_weights"] else "")),
                Line("saved tensors as PyTorch's autograd keeps them (checked with saved_tensors_hooks); "
                     "in-place ops not modelled · docs/training.md")]

    def blocks(self, markdown: bool) -> list:
        return [self.header(), self.layers_table(markdown), self.summary_table(), *self.notes()]

    def csv(self) -> Table:
        table = Table(csv_columns("layer", "type", "backward", "what", "storage", "dtype", "bytes", "shared_with"))
        for layer in self.memory.layers:
            if not layer.saved:
                table.add([layer.name, layer.type, "true" if layer.backward else "false", "", "", "", 0, ""])
            for row in layer.saved:
                table.add([layer.name, layer.type, "true", row.what, row.storage, row.dtype, row.bytes,
                           row.shared or ""])
        return table
