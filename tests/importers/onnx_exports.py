"""The test models (tests/importers/models.py) exported to ONNX with torch.onnx.export, once per test session.

The exporter: torch 2.13's TorchScript-based one (``dynamo=False``) with ``do_constant_folding=False``. It keeps
every module a node of its own (BatchNormalization stays, not folded into the conv) and names each node by its
module scope (``/layer1/layer1.0/conv1/Conv``), so the ONNX import has the torch import's structure. The dynamo
exporter (``dynamo=True``, through onnxscript) was measured too: 12–40 s per model here (against about 1 s), and its
optimiser folds batch norm into the convs (``FuseBatchNormIntoConv``) and names nodes ``node_Conv_334``; the
folded case is exported separately (:func:`export_folded`, the TorchScript exporter's default constant folding).

Before exporting, every parameter and buffer that holds one repeated value (batch norm's fresh ones and zeros,
ConvNeXt's layer scale of 1e-6) gets uniform noise in [-0.5, 0.5) added, seeded: the exporter writes identical
initializers once and the rest as Identity nodes of it, which an untrained model would have and a trained one
does not, and ``--against-original`` means more when the running statistics are not the identity.

Import this only after ``pytest.importorskip("torch")`` and ``("onnx")``.
"""

from __future__ import annotations

import warnings

import torch

from . import models

#: every exported model: name → (builder, input shape per sample)
EXPORTED = {**models.MODELS, "unsupported": models.UNSUPPORTED}


def build(name: str) -> torch.nn.Module:
    """The model ``name`` as exported: seed 0, eval mode, constant tensors made distinct (module docstring)."""
    builder, _ = EXPORTED[name]
    torch.manual_seed(0)
    model = builder().eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            if tensor.is_floating_point() and tensor.numel() > 1 and bool((tensor == tensor.flatten()[0]).all()):
                tensor.add_(torch.rand(tensor.shape, generator=generator) - 0.5)
    return model


def export(model: torch.nn.Module, shape: tuple, path, batch: int = 1, fold: bool = False) -> str:
    """``model`` written to ``path`` for inputs of ``(batch, *shape)``; ``fold``: the exporter's constant folding
    (folds batch norm into the preceding conv)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice, tracer warnings
        torch.onnx.export(model, (torch.zeros((batch, *shape)),), str(path), dynamo=False,
                          do_constant_folding=fold, input_names=["input"], output_names=["output"])
    return str(path)


class Exports:
    """The exports of one session, in one temporary folder, each made the first time a test asks for it."""

    def __init__(self, folder):
        self.folder = folder
        self.paths: dict = {}

    def path(self, name: str) -> str:
        if name not in self.paths:
            self.paths[name] = export(build(name), EXPORTED[name][1], self.folder / f"{name}.onnx")
        return self.paths[name]

    def folded(self, name: str) -> str:
        """``name`` exported with constant folding (batch norm folded into the convs)."""
        key = f"{name}.folded"
        if key not in self.paths:
            self.paths[key] = export(build(name), EXPORTED[name][1], self.folder / f"{key}.onnx", fold=True)
        return self.paths[key]


# ---- loading both imports -------------------------------------------------------------------------------------------
_LOADED: dict = {}


def loaded(source: str, input_shape=None):
    """``(graph, ImportedModel)`` of an import source, loaded as every command loads it (cached per session)."""
    from convcalc.importers.source import load_imported

    if source not in _LOADED:
        network, model = load_imported(source, input_shape)
        _LOADED[source] = network.expand(), model
    return _LOADED[source]


def torch_source(name: str) -> str:
    """The import source of MODELS[name] as a PyTorch module."""
    return f"torch:tests.importers.models:{models.MODELS[name][0].__name__}"


def torch_loaded(name: str):
    return loaded(torch_source(name), models.MODELS[name][1])


def meta_model(name: str) -> torch.nn.Module:
    with torch.device("meta"):
        return EXPORTED[name][0]()


def totals(graph) -> dict:
    from convcalc.cost.analysis import analyze

    t = analyze(graph).totals
    return {"params": t.params, "buffers": t.buffers, "macs": t.macs, "flops": t.flops}

