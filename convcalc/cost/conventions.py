"""The counting conventions, stated once. docs/flops.md reproduces this table (tests/test_docs.py checks it).

**MACs** are the multiply-accumulates of conv- and linear-like layers (every kind whose ``family`` is ``conv``
or ``linear``), bias excluded. This is the quantity torchvision publishes as "GFLOPS" in its model tables and
that fvcore reports as "flops". Pooling, normalisation, activations and elementwise layers have 0 MACs.

**FLOPs** count every floating-point operation at inference:

* conv / linear: 2 per MAC (a multiply and an add), plus 1 per output element for the bias add when there is a bias;
* every other kind: the per-element cost below, times the elements it is applied to (stated per kind).

Transcendental functions (exp, log, tanh, erf, a power) count as 1 FLOP, as in most hardware cost tables; a
comparison (``max``) counts as 1. docs/flops.md says how fvcore, ptflops and thop count each op, and why these
numbers differ from theirs.
"""

from __future__ import annotations

#: op -> (FLOPs per element, what is counted)
FLOPS_PER_ELEMENT: dict[str, tuple[int, str]] = {
    "batchnorm": (2, "inference form y = x·scale + shift (mean, var, γ, β folded): 1 mul + 1 add per element"),
    "norm_stats": (5, "statistics from the data, per element: x − μ, (x − μ)², the sums Σx and Σ(x − μ)², × 1/σ"),
    "norm_set": (3, "per normalised set: 2 divides by its size (μ, σ²), + eps, √, 1/√; less the first add of each sum"),
    "norm_affine": (1, "per element and affine term of a data-statistics norm: × γ, + β"),
    "relu": (1, "max(x, 0): 1 comparison"),
    "relu6": (2, "min(max(x, 0), 6): 2 comparisons"),
    "leaky_relu": (2, "x if x > 0 else a·x: 1 comparison + 1 mul"),
    "sigmoid": (3, "1 / (1 + exp(−x)): exp + add + div"),
    "tanh": (1, "tanh(x): 1 transcendental"),
    "gelu": (5, "0.5·x·(1 + erf(x/√2)): div + erf + add + 2 mul"),
    "silu": (4, "x·sigmoid(x): sigmoid (3) + mul"),
    "hardswish": (5, "x·min(max(x + 3, 0), 6)/6: add + 2 comparisons + mul + div"),
    "hardsigmoid": (4, "min(max(x + 3, 0), 6)/6: add + 2 comparisons + div"),
    "hardsigmoid_affine": (4, "max(0, min(1, α·x + β)) with other α, β (ONNX HardSigmoid): mul + add + "
                              "2 comparisons"),
    "gelu_tanh": (9, "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): 6 mul + 2 add + tanh"),
    "prelu": (2, "x if x > 0 else a·x, a learned: 1 comparison + 1 mul"),
    "elu": (4, "x if x > 0 else α·(exp(x) − 1): 1 comparison + exp + sub + mul"),
    "selu": (5, "λ·(x if x > 0 else α·(exp(x) − 1)): elu (4) + mul"),
    "mish": (5, "x·tanh(log(1 + exp(x))): exp + add + log + tanh + mul"),
    "softplus": (6, "log(1 + exp(β·x))/β, x where β·x > threshold: mul + comparison + exp + add + log + div"),
    "hardtanh": (2, "min(max(x, min_val), max_val): 2 comparisons"),
    "softmax": (3, "exp(x_i)/Σ exp(x_j) over n values: n exp + (n − 1) adds + n div = 3n − 1 per softmax "
                   "(the one missing add is subtracted once per softmax)"),
    "scalar": (1, "x op v (add, sub, mul, div, rsub, rdiv, pow): 1 operation per element (pow counts 1, as a "
                  "transcendental)"),
    "layer_scale": (1, "γ·x, one γ per channel: 1 mul per element"),
    "bias_add": (1, "x + β, one β per channel: 1 add per element"),
    "add": (1, "per input beyond the first, per output element"),
    "multiply": (1, "per input beyond the first, per output element (broadcast inputs included)"),
    "subtract": (1, "a − b: 1 per output element (broadcast inputs included)"),
    "divide": (1, "a / b: 1 per output element (broadcast inputs included)"),
    "concat": (0, "a copy, no arithmetic"),
    "maxpool": (1, "per tap beyond the first in each window: (window − 1) comparisons per output element"),
    "minpool": (1, "per tap beyond the first in each window: (window − 1) comparisons per output element"),
    "avgpool": (1, "per tap in each window: (window − 1) adds + 1 divide per output element"),
    "upsample_nearest": (0, "a copy, no arithmetic"),
    "upsample_linear": (1, "per output element: 2^d multiplies + (2^d − 1) adds for d interpolated axes"),
    "upsample_cubic": (1, "per output element: 4^d multiplies + (4^d − 1) adds (bicubic: 16 + 15 = 31)"),
    "lppool": (2, "per tap: x^p (1) + an add; the one missing add is the final root: 2·window per output"),
    "stochastic_pool": (3, "per tap, minus 1 per window: test Πk squares + 2(Πk − 1) adds + 1 divide; "
                           "train 2(Πk − 1) adds + 1 multiply + Πk comparisons"),
    "channel_shuffle": (0, "a permutation, no arithmetic"),
    "channel_slice": (0, "a view, no arithmetic"),
    "pixel_shuffle": (0, "a rearrangement, no arithmetic (pixel_shuffle and pixel_unshuffle)"),
    "deformable_sampling": (2, "per sampling MAC (2^d per sampled value + 1 mask multiply in v2); v2 adds "
                               "the `sigmoid` cost per mask value"),
    "dropout": (0, "identity at inference"),
    "flatten": (0, "a reshape"),
    "pad": (0, "a copy: a constant fill, or an index map (reflect, replicate, circular)"),
    "permute": (0, "a transpose, no arithmetic"),
    "reshape": (0, "a view, no arithmetic"),
    "identity": (0, "nothing"),
}

MACS_DEFINITION = ("MACs = multiply-accumulates of conv/linear-like layers, bias excluded "
                   "(the quantity torchvision publishes)")
FLOPS_DEFINITION = ("FLOPs = 2·MACs + bias adds + normalisation, activation, pooling and elementwise ops "
                    "(per-op table: convcalc explain --flops, docs/flops.md)")

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1, "int32": 4}


def flops_per_element(op: str) -> int:
    return FLOPS_PER_ELEMENT[op][0]
