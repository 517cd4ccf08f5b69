"""Every kernel and every VJP declares its memory footprint, and the declaration bounds what it allocates: per
registered kind (its example and each ``also`` variant, grown to a few ten thousand elements), the peak that
tracemalloc sees (NumPy reports its arrays to it) while the kernel runs stays within the footprint, its weights
and NumPy's buffers; and the whole run (forward, or forward and backward) within verify's estimate. The resident set of
whole ``convcalc verify`` runs is checked in tests/verify/test_memory_estimate.py."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

from convcalc.executor import KERNELS, run  # noqa: E402
from convcalc.executor.backward import input_gradient  # noqa: E402
from convcalc.executor.backward.base import VJP_FOOTPRINTS, VJPS, GradContext  # noqa: E402
from convcalc.executor.base import FOOTPRINTS, stand_in  # noqa: E402
from convcalc.executor.memory import BUFFER_BYTES, node_footprint  # noqa: E402
from convcalc.verify import backward_bytes, estimate_peak_bytes, probe_layer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import memory_cases  # noqa: E402

CASES = memory_cases.cases()
ELEMENTS = 2**15


def test_every_kernel_and_vjp_declares_a_footprint():
    assert sorted(set(KERNELS) - set(FOOTPRINTS)) == [] and sorted(set(FOOTPRINTS) - set(KERNELS)) == []
    assert sorted(set(VJPS) - set(VJP_FOOTPRINTS)) == [] and sorted(set(VJP_FOOTPRINTS) - set(VJPS)) == []


def test_a_kind_without_a_footprint_is_an_error(monkeypatch):
    from convcalc.spec.graph import Node

    monkeypatch.delitem(FOOTPRINTS, "relu")
    with pytest.raises(RuntimeError, match="kind `relu` declares no memory footprint"):
        node_footprint(Node("r", "relu", {}, ["input"], None), [(1, 3, 4)], (1, 3, 4), "float32")


def test_stand_ins_allocate_nothing():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        array = stand_in((1000, 1000, 100), "float64")
        assert array.shape == (1000, 1000, 100) and array.nbytes == 8 * 10**8
        assert tracemalloc.get_traced_memory()[0] - before < 4096
    finally:
        tracemalloc.stop()


def _traced(table, footprints, monkeypatch, excess: list, backward: bool):
    """Wrap every entry of ``table``: record by how much a call's traced peak passes its footprint's bound."""

    def wrap(kind, fn):
        def measured(ctx, node, *args):
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            out = fn(ctx, node, *args)
            peak = tracemalloc.get_traced_memory()[1] - start
            if backward:
                xs, y, gy = args
                c = GradContext(node, gy.dtype, (), (), ctx.max_as_sum, ctx.gates, ctx.open_activations)
                bound = footprints[node.kind](c, node, [stand_in(x.shape, x.dtype) for x in xs],
                                              stand_in(y.shape, y.dtype), stand_in(gy.shape, gy.dtype))
            else:
                xs = args[0]
                bound = footprints[node.kind](ctx, node, [stand_in(x.shape, x.dtype) for x in xs],
                                              stand_in(out.shape, out.dtype))
                bound += sum(a.nbytes for a in ctx.weights) + sum(a.nbytes for a in ctx.buffer_arrays)
            if peak > bound + BUFFER_BYTES:
                excess.append(f"{'VJP' if backward else 'kernel'} of {node.kind}: traced {peak:,} B, "
                              f"footprint {bound:,} B")
            return out

        return measured

    for kind, fn in list(table.items()):
        monkeypatch.setitem(table, kind, wrap(kind, fn))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label", sorted(CASES))
def test_footprints_bound_what_the_kernels_allocate(label, dtype, monkeypatch):
    spec = memory_cases.scaled(CASES[label], ELEMENTS)
    graph, report = memory_cases._analyse(spec)
    excess = []
    _traced(KERNELS, FOOTPRINTS, monkeypatch, excess, backward=False)
    _traced(VJPS, VJP_FOOTPRINTS, monkeypatch, excess, backward=True)
    layer = probe_layer(graph, report)
    tracemalloc.start()
    try:
        ex = run(graph, dtype=dtype)
        assert tracemalloc.get_traced_memory()[1] <= estimate_peak_bytes(graph, report, dtype)
        del ex
        x = np.ones((graph.batch, *graph.input_shape), dtype=dtype)
        for probe in (False, True):  # the measured ERF's modes, the RF probe's
            modes = dict(gates=not probe, rescale=probe, open_activations=probe)
            tracemalloc.stop()
            tracemalloc.start()
            ex = run(graph, dtype=dtype, x=x, keep=True, max_as_sum=probe)
            shape = ex.values[layer].shape[2:]
            input_gradient(graph, ex, layer, [n // 2 for n in shape], **modes)
            del ex
            assert tracemalloc.get_traced_memory()[1] <= backward_bytes(graph, report, layer, dtype, graph.batch,
                                                                        x.nbytes, max_as_sum=probe, **modes)
    finally:
        tracemalloc.stop()
    assert not excess, "\n".join(excess)


def test_arrays_numpy_cannot_describe_are_refused_not_raised():
    """Found by benchmarks/fuzz.py: `padding: 2^64` gives an output NumPy cannot describe; the estimate's stand-ins
    raised "Maximum allowed dimension exceeded". The estimate is now above every --max-memory (≤ 10^100 bytes)."""
    from typer.testing import CliRunner

    from convcalc.cli.app import app
    from convcalc.executor.memory import UNREPRESENTABLE_BYTES, representable
    from convcalc.limits import LIMIT

    assert UNREPRESENTABLE_BYTES > LIMIT
    assert representable((1, 2**40, 2**20), 1) and not representable((2**62,), 1)
    assert not representable((2**31, 2**31), 1)      # 2^62 bytes in all
    spec = ("input: [8, 12, 16]\nlayers:\n  - {type: conv, name: c, out: 4, kernel: 3, padding: "
            "18446744073709551616}\n")
    for args in (["verify"], ["verify", "--rf"], ["rf", "--erf", "measured"]):
        result = CliRunner().invoke(app, [args[0], spec, *args[1:], "--max-memory", "1" + "0" * 99])
        assert result.exit_code == 2 and "refusing to run" in result.stderr, result.output


WINDOW_LABELS = sorted(label for label in CASES if label.split("/")[0] in (
    "conv", "depthwise", "conv_transpose", "maxpool", "minpool", "avgpool", "lppool", "stochastic_pool",
    "locally_connected", "tiled"))


@pytest.mark.parametrize("label", WINDOW_LABELS)
def test_footprints_bound_the_every_tap_paths(label, monkeypatch):
    # the paths that take every tap at once, which these mid-sized maps take only when the threshold is raised
    from convcalc.executor import base

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", 10**9)
    test_footprints_bound_what_the_kernels_allocate(label, "float32", monkeypatch)
