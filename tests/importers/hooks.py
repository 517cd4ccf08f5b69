"""A MAC counter for the import tests, written apart from convcalc: forward hooks on the conv and linear modules.

Each hook computes the multiply-accumulates of one call from the module's attributes and the shapes it saw, with
the convention of docs/flops.md (bias excluded):

* ``Conv{1,2,3}d``: every output element is a dot product of ``C_in/g · Πk`` taps: ``out.numel() · C_in/g · Πk``;
* ``ConvTranspose{1,2,3}d``: counted on *input* positions, every input element times ``C_out/g · Πk`` taps:
  ``in.numel() · C_out/g · Πk``;
* ``Linear``: every output element is a dot product of ``in_features`` terms: ``out.numel() · in_features``.

The model runs on a meta tensor (shapes only), batch 1, so the count is per sample.
"""

from __future__ import annotations

from math import prod

import torch
from torch import nn

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _conv(module, inputs, output):
    return output.numel() * (module.in_channels // module.groups) * prod(module.kernel_size)


def _transposed(module, inputs, output):
    return inputs[0].numel() * (module.out_channels // module.groups) * prod(module.kernel_size)


def _linear(module, inputs, output):
    return output.numel() * module.in_features


def _counter_of(module):
    if isinstance(module, CONVS):
        return _conv
    if isinstance(module, TRANSPOSED):
        return _transposed
    if isinstance(module, nn.Linear):
        return _linear
    return None


def count_macs(model: nn.Module, input_shape: tuple) -> int:
    """The conv and linear MACs of one forward pass of ``model`` (built on meta or CPU) on one sample."""
    total = []
    handles = []
    for module in model.modules():
        counter = _counter_of(module)
        if counter is not None:
            handles.append(module.register_forward_hook(
                lambda m, i, o, counter=counter: total.append(counter(m, i, o))))
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            model.eval()(torch.empty((1, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
    return sum(total)
