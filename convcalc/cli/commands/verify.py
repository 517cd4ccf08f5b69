"""``convcalc verify``: run the network on the NumPy executor and check the cost model's output shape, params and
MACs layer by layer. Exit 0 if every layer agrees, 1 on a mismatch (the first explained on stderr), 2 on bad input
or when the memory guard refuses (see :mod:`convcalc.verify`). Rendered by :mod:`convcalc.render.verify`.

JSON shape (``--format json``, version 1): ``{"version", "name", "batch", "dtype", "seed", "ok", "seconds",
"memory_estimate_bytes", "first_mismatch": sentence | null, "layers": [{"name", "type", "ok", "mismatches":
[...], "analytic": {"output_shape", "params", "macs"}, "executed": {same keys}}], "rf": null}``; with ``--rf``,
``"rf"`` is a list of per-axis entries ``{"layer", "position", "axis", "index", "analytic": {"first", "last",
"size", "clipped"}, "measured": {"first", "last", "span", "taps"}, "input_size", "status", "ok", "note",
"mismatch"}`` (see :func:`convcalc.verify.probe_rf` and docs/rf.md) and ``first_mismatch`` falls back to the first
RF mismatch. With ``--train``, ``"train"`` lists every layer's ``{"name", "type", "ok", "analytic": {"dx_macs",
"dw_macs"}, "executed": {…}}`` (the executor's training step against ``convcalc cost --train``, docs/training.md).

With ``--against-original`` (an ONNX file or a PyTorch module only), the original model and the executor run with
the model's real weights on one seeded input and every mapped tensor is compared (:mod:`convcalc.importers.original`):
exit 0 when every one agrees, 1 on a divergence (the first explained on stderr), 2 on bad input. JSON: see
:meth:`convcalc.importers.original.OriginalCheck.to_dict` and docs/verify.md.
"""

from __future__ import annotations

import sys

from ..common import expand, overrides, parse_at, parse_kwargs
from ...errors import SpecError


def verify(spec: str, batch: int | None = None, input: str | None = None, sets: list[str] | None = None,
           seed: int = 0, dtype: str = "float32", format: str = "table", max_memory: str = "4G", rf: bool = False,
           layer: str | None = None, at: str | None = None, against_original: bool = False,
           kwargs: list[str] | None = None, allow_unsupported: bool = False, train: bool = False,
           freeze: list[str] | None = None, width: int | None = None, wide: bool = False) -> int:
    """Check the cost model against a NumPy executor.

    Run the network on a NumPy executor and check shapes, params and MACs against the cost model.

    With --rf, also measure which input positions influence one output unit and check the span and first index
    against the analytic receptive field (docs/rf.md). With --against-original (an ONNX file or a PyTorch
    module), run the original model and the executor with the model's real weights and compare every mapped
    tensor (docs/verify.md).

    \b
    Examples:
      convcalc verify resnet18 --input 3x64x64
      convcalc verify mobilenet_v2 --input 3x32x32 --rf
      convcalc verify resnet18 --input 3x32x32 --train --freeze 'layer1*'
      convcalc verify model.onnx --against-original
    """
    from ...render.emitters import emit
    from ...render.progress import Progress
    from ...render.verify import VerifyView
    from ...render.width import resolve_width
    from ...verify import MemoryRefused, check_training, parse_bytes, plan_probe, probe_rf
    from ...verify import verify as run_verify

    if (layer is not None or at is not None) and not rf:
        raise SpecError("--layer and --at choose the unit of the RF probe", None, "add --rf")
    if freeze and not train:
        raise SpecError("--freeze chooses the frozen layers of the training step", None, "add --train")
    if kwargs and not against_original:
        raise SpecError("--kwargs passes keyword arguments to a PyTorch source's callable", None,
                        "add --against-original")
    limit = parse_bytes(max_memory)
    if against_original:
        if train:
            raise SpecError("--train checks the cost model's backward MACs, --against-original an import", None,
                            "run them one at a time")
        if rf:
            raise SpecError("--rf probes the spec with all-ones weights, --against-original the model's own "
                            "weights", None, "run them one at a time")
        return _against_original(spec, batch, input, sets, seed, dtype, format, limit, kwargs, allow_unsupported,
                                 resolve_width(width, wide))
    graph = expand(spec, batch, input, sets, allow_unsupported)
    layer = graph.layer_named(layer) if layer is not None else None  # a block instance names its output layer
    plan = refused = None
    if rf:  # the probe's checks (layer, unit, memory) before any work: a refusal is said at once
        from ...cost.analysis import analyze

        try:
            plan = plan_probe(graph, analyze(graph), layer, parse_at(at), limit)
        except MemoryRefused as err:
            refused = err
            print(f"error: {err} (the layer check runs on)", file=sys.stderr)
    # one bar over all the work: the layer check's forward, then the probe's forward and backward, node by node
    progress = Progress(len(graph.nodes) + (plan.steps if plan is not None else 0), "verify")
    try:
        result = run_verify(graph, seed=seed, dtype=dtype, max_memory=limit,
                            progress=progress.phase("executing", len(graph.nodes)))
        if plan is not None:
            axes = probe_rf(graph, result.report, plan=plan, progress=progress)
            result.rf = [axis.to_dict() for axis in axes]
        if train:
            result.train = check_training(graph, result.report, seed, dtype, freeze or (), limit)
    except MemoryRefused as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        progress.close()
    # the layer check, also when the probe was refused
    emit(VerifyView(result, plan is not None), format, width=resolve_width(width, wide))
    sentence = result.first_mismatch_sentence
    if sentence is not None:
        print(f"mismatch: {sentence}", file=sys.stderr)
        return 1
    if refused is not None:
        print("error: `--rf`: the RF probe was refused (see above); the layer check above is complete", file=sys.stderr)
        return 2
    return 0


def _against_original(spec: str, batch: int | None, input: str | None, sets: list[str] | None, seed: int,
                      dtype: str, format: str, limit: int, kwargs: list[str] | None,
                      allow_unsupported: bool = False, fit: int | None = None) -> int:
    """``verify SOURCE --against-original``: import, run both, compare, render; the exit code."""
    from ...cost.analysis import analyze
    from ...importers.original import check, check_bytes
    from ...importers.source import is_import_source, load_imported
    from ...render.emitters import emit
    from ...render.verify import OriginalView
    from ...spec.loader import parse_input_override
    from ...verify import MemoryRefused

    if not is_import_source(spec):
        raise SpecError(f"{spec}: a YAML spec has no original model to compare with", None,
                        "--against-original takes an ONNX file (model.onnx) or a PyTorch module "
                        "(torch:package.module:callable, path/file.py:callable); without it, verify checks the "
                        "cost model against the executor")
    shape = parse_input_override(input) if input is not None else None
    network, model = load_imported(spec, shape, parse_kwargs(kwargs), allow_unsupported)
    graph = network.expand(overrides(sets), batch=batch)
    estimate = check_bytes(analyze(graph), dtype)
    if estimate > limit:
        print(f"error: {MemoryRefused(estimate, limit, graph.batch, dtype)}", file=sys.stderr)
        return 2
    result = check(model, graph, dtype=dtype, seed=seed)
    emit(OriginalView(result), format, width=fit)
    if not result.ok:
        print(f"mismatch: {result.sentence()}", file=sys.stderr)
        return 1
    return 0
