"""Channel rearrangement: channel_shuffle (ShuffleNet, Zhang et al. 2018; ``torch.nn.ChannelShuffle``) and
channel_slice (a contiguous range of channels, as ``x[:, start:stop]``). Pure data movement: 0 params, 0 MACs."""

from __future__ import annotations

import numpy as np

from .base import Context, footprint, kernel


@kernel("channel_shuffle")
def channel_shuffle(ctx: Context, node, xs):
    """torch.nn.ChannelShuffle: view (B, g, C/g, …), swap the two channel axes, flatten."""
    x = xs[0]
    groups, channels = node.fields["groups"], x.shape[1]
    if channels % groups:
        ctx.fail(f"the channels ({channels}) are not divisible by groups ({groups})",
                 f"choose groups dividing {channels}", "groups")
    rest = x.shape[2:]
    return np.ascontiguousarray(x.reshape(x.shape[0], groups, channels // groups, *rest).swapaxes(1, 2)
                                .reshape(x.shape))


footprint("channel_shuffle")(lambda ctx, node, xs, y: y.nbytes)  # the contiguous copy


@kernel("channel_slice")
def channel_slice(ctx: Context, node, xs):
    """Channels ``[start, stop)`` (``stop`` absent: to the last)."""
    x = xs[0]
    start = node.fields.get("start", 0)
    stop = node.fields.get("stop")
    stop = x.shape[1] if stop is None else stop
    if not 0 <= start < stop <= x.shape[1]:
        ctx.fail(f"channels [{start}, {stop}) are not a non-empty range of the {x.shape[1]} input channels",
                 "use 0 ≤ start < stop ≤ C", "stop")
    return x[:, start:stop].copy()


footprint("channel_slice")(lambda ctx, node, xs, y: y.nbytes)  # the copy
