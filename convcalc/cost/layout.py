"""Where the network input's spatial axes sit in a tensor: the layout a receptive-field record carries.

convcalc's tensors are channels first, ``(C, *N)``, and a receptive-field record (:mod:`convcalc.cost.rf`) holds one
entry per spatial axis **of the network input** (H and W for an image). After a ``permute`` (ConvNeXt's
channels-last block, ``(C, H, W) → (H, W, C)``), a ``reshape`` or a partial ``flatten``, the axes of the tensor no
longer line up with those of the input, so the record also remembers its **layout**: one entry per per-sample axis
of the tensor, each a tuple of *parts* ``(axis, size)`` in row-major order, where ``axis`` is the input spatial axis
the part carries (0 = H, 1 = W for 2-D input) or :data:`FEATURES` (-1: channels, features, anything that is not a
position). A part of size 1 carries nothing and is dropped, so a size-1 axis has the empty entry ``()``.

* ``None`` is the channels-first layout of any rank: features on axis 0, input axis i on axis 1 + i. Every record
  of a network without a permute or reshape has it (nothing is computed for it);
* ``(C, H, W)`` permuted by ``[1, 2, 0]`` is ``(((0, H),), ((1, W),), ((FEATURES, C),))``, written ``(H, W, C)``;
* ``(C, H, W)`` flattened from axis 1 on is ``(((FEATURES, C),), ((0, H), (1, W)))``, written ``(C, H·W)``: H and W
  merged into one axis, each part still known, so a later reshape back to ``(C, H, W)`` restores them;
* :data:`UNKNOWN` after a reshape that splits a spatial axis (``H → (2, H/2)``): its positions are no longer an
  axis of the input.

A layout is normalised back to ``None`` whenever it is channels first again (every axis of size > 1 carries what a
channels-first tensor carries there). Pure Python, loaded only when a layout is not ``None``.
"""

from __future__ import annotations

FEATURES = -1
UNKNOWN = "unknown"

Part = tuple[int, int]
Entry = tuple[Part, ...]


def _entry(axis: int, size: int) -> Entry:
    return ((axis, size),) if size != 1 else ()


def standard(shape, rank: int | None = None) -> tuple[Entry, ...]:
    """The channels-first layout of a tensor of ``shape`` (per sample): features on axis 0, spatial axis i on 1 + i.
    With ``rank`` (the input's spatial axes), axes beyond the input's carry features: a tensor of higher rank than
    the input has no input axis to name there."""
    rank = len(shape) if rank is None else rank
    return tuple(_entry(FEATURES if t == 0 or t > rank else t - 1, n) for t, n in enumerate(shape))


def features_only(entry: Entry) -> bool:
    return all(axis == FEATURES for axis, _ in entry)


def _merge_features(parts: list[Part]) -> list[Part]:
    """Adjacent feature parts joined into one: features interleave freely, so (C/g, g) reads as C."""
    out: list[Part] = []
    for axis, size in parts:
        if size == 1:
            continue
        if out and axis == FEATURES and out[-1][0] == FEATURES:
            out[-1] = (FEATURES, out[-1][1] * size)
        else:
            out.append((axis, size))
    return out


def entries(layout, shape) -> tuple[Entry, ...] | str:
    """The explicit layout of a tensor of ``shape``: the standard one for ``None``, the stored one refreshed to the
    current sizes (an axis that is one part, or features only, takes the tensor's size), or :data:`UNKNOWN`."""
    if layout is None:
        return standard(shape)
    if layout == UNKNOWN:
        return UNKNOWN
    out = []
    for entry, n in zip(layout, shape):
        if n == 1:
            out.append(())
        elif features_only(entry):
            out.append(((FEATURES, n),))
        elif len(entry) == 1:
            out.append(((entry[0][0], n),))
        else:
            out.append(tuple(entry))
    return tuple(out)


def normal(layout, shape):
    """``layout`` with the channels-first case written ``None``: every axis of size > 1 carries what it carries in
    a channels-first tensor (axis 0 features only, axis 1 + i input axis i alone). A tensor none of whose axes
    carries an input position (after a flat layer or a global pool, say) is channels first too: its positions, if
    any, are new ones, and its field is already the input's whole extent."""
    if layout is None or layout == UNKNOWN:
        return layout
    if all(features_only(entry) for entry in layout):
        return None
    for t, (entry, n) in enumerate(zip(layout, shape)):
        if n == 1:
            continue
        if t == 0 and not features_only(entry):
            return layout
        if t > 0 and (len(entry) != 1 or entry[0][0] != t - 1):
            return layout
    return None


def permute(layout, shape, dims):
    """The layout after ``x.permute(dims)`` of a tensor of ``shape`` (per-sample axes)."""
    current = entries(layout, shape)
    if current == UNKNOWN:
        return UNKNOWN
    return normal(tuple(current[d] for d in dims), tuple(shape[d] for d in dims))


def reshape(layout, shape, out_shape):
    """The layout after a row-major reshape of ``shape`` to ``out_shape`` (the element counts match).

    The parts are read in row-major order and dealt out to the new axes: an axis takes whole parts (merging them),
    or splits a feature part; splitting a spatial part gives :data:`UNKNOWN` (its pieces are not input axes)."""
    current = entries(layout, shape)
    if current == UNKNOWN:
        return UNKNOWN
    parts = _merge_features([part for entry in current for part in entry])
    out, i, carry = [], 0, None
    for n in out_shape:
        entry, need = [], n
        while need > 1:
            if carry is None:
                carry, i = parts[i], i + 1
            axis, size = carry
            if need % size == 0:
                entry.append(carry)
                need, carry = need // size, None
            elif axis == FEATURES and size % need == 0:
                entry.append((FEATURES, need))
                need, carry = 1, (FEATURES, size // need)
            else:
                return UNKNOWN
        out.append(tuple(_merge_features(entry)))
    return normal(tuple(out), tuple(out_shape))


def axis_sizes(layout, shape, rank: int) -> list[int] | None:
    """The size of each input spatial axis in a tensor of ``shape`` (1 where no axis carries it), None if unknown."""
    current = entries(layout, shape)
    if current == UNKNOWN:
        return None
    sizes = [1] * rank
    for entry in current:
        for axis, size in entry:
            if axis != FEATURES:
                sizes[axis] *= size
    return sizes


def mixed(layout, shape, t: int, out_size: int):
    """The layout after an op that mixes every position of axis ``t`` into ``out_size`` new features (a linear layer
    over the last axis), and the input axes that axis carried."""
    current = entries(layout, shape)
    if current == UNKNOWN:
        return UNKNOWN, None
    carried = [axis for axis, _ in current[t] if axis != FEATURES]
    new = list(current)
    new[t] = _entry(FEATURES, out_size)
    out_shape = list(shape)
    out_shape[t] = out_size
    return normal(tuple(new), tuple(out_shape)), carried


def names(rank: int) -> tuple[str, ...]:
    """The input spatial axes by name: L; H, W; D, H, W."""
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(rank, tuple(f"N{i}" for i in range(rank)))


def text(layout, shape, rank: int) -> str:
    """The layout as the axes it carries: ``(H, W, C)``, ``(C, H·W)``; ``1`` for a size-1 axis. ``rank``: the
    input's spatial axes (a tensor of higher rank carries features on the rest, :func:`standard`)."""
    current = standard(shape, rank) if layout is None else entries(layout, shape)
    if current == UNKNOWN:
        return "unknown (a reshape split a spatial axis)"
    axis_names = names(rank)

    def one(entry):
        if not entry:
            return "1"
        words = []
        for axis, _ in entry:
            # an axis beyond the input's (a layout built from a tensor of higher rank) names no input axis
            word = "C" if axis == FEATURES or axis >= len(axis_names) else axis_names[axis]
            if not (words and word == "C" == words[-1]):
                words.append(word)
        return "·".join(words)

    items = [one(entry) for entry in current]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
