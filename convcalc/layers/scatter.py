"""The geometry of a transposed window (the scatter of ``conv_transpose``) along one axis, without enumerating
output positions: which taps write which output phase (:func:`tap_classes`), and how many products land on the
output positions (:func:`landing`). Used by :class:`~convcalc.layers.conv.ConvTranspose` for its RF and
``details``; the naive loops these replace are the references in tests/layers/test_transposed_landing.py.
"""

from __future__ import annotations

#: the most taps per axis a transposed conv may have: the functions here walk the taps one by one (no real kernel
#: comes near; a larger one is refused by ConvTranspose.geometry)
MAX_SCATTER_TAPS = 1_000_000


def tap_classes(k: int, s: int, d: int) -> dict[int, list[int]]:
    """A transposed conv's taps on one axis grouped by the output phase they write: tap t lands input i at
    ``i·s + t·d`` (before the crop), so its offset t·d reaches the positions ≡ t·d (mod s). Residue ρ → the offsets
    t·d of its taps, ascending. O(k), whatever the stride."""
    classes: dict[int, list[int]] = {}
    for t in range(k):
        classes.setdefault(t * d % s, []).append(t * d)
    return classes


class Landing:
    """How many products of a transposed conv land on each output position along one axis: their sum over the
    positions (``total``), the fewest (``least``) and the most (``most``) on any one position."""

    __slots__ = ("total", "least", "most")

    def __init__(self, total: int, least: int, most: int):
        self.total, self.least, self.most = total, least, most


def landing(n: int, k: int, s: int, d: int, pad_before: int, size: int) -> Landing:
    """The products landing on the ``size`` output positions of one axis: input i (of ``n``) and tap t (of ``k``)
    land at ``o = i·s − p_b + t·d``.

    Closed form per tap for the total; per phase class (:func:`tap_classes`) for the least and most. On the
    positions u = o + p_b ≡ ρ (mod s), the count is the number of the class's offsets e with e ≤ u ≤ e + (n − 1)·s:
    a step function of u that changes only where some e enters (u = e) or leaves (u = e + n·s), so a sweep over
    those ≤ 2k events, clipped to the output, finds its extremes. A phase present in the output with no taps at all
    gives 0. O(k log k), independent of n, s, d and the output size (the positions are never enumerated)."""
    total = 0
    for t in range(k):  # inputs with 0 ≤ i·s − p_b + t·d < size
        first = max(0, -((t * d - pad_before) // s))
        last = min(n - 1, (size - 1 + pad_before - t * d) // s)
        total += max(0, last - first + 1)
    lo, hi = pad_before, pad_before + size - 1  # the output window in u = o + p_b
    most, least, phases = 0, None, 0
    for rho, starts in tap_classes(k, s, d).items():
        u0, u1 = lo + (rho - lo) % s, hi - (hi - rho) % s  # the first and last u ≡ ρ in the window
        if u0 > u1:
            continue
        phases += 1
        events: dict[int, int] = {}
        value = 0
        for e in starts:
            leave = e + n * s
            value += e <= u0 < leave
            for at, delta in ((e, 1), (leave, -1)):
                if u0 < at <= u1:
                    events[at] = events.get(at, 0) + delta
        low = high = value
        for at in sorted(events):
            value += events[at]
            low, high = min(low, value), max(high, value)
        most = max(most, high)
        least = low if least is None else min(least, low)
    if phases < min(size, s):  # a phase of the window that no tap writes
        least = 0
    return Landing(total, least or 0, most)
