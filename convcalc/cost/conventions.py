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

**Backward FLOPs** (a training step, ``convcalc cost --train``): conv / linear 2 per dX and dW MAC plus 1 add per
output element for a bias gradient; every other kind the per-element cost of its derivative from
``BACKWARD_FLOPS_PER_ELEMENT`` below (docs/flops.md, "Backward FLOPs").
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

#: ``--convention``: convcalc's own counts (torchvision's MACs), or a peer tool's (convcalc/layers/peers.py holds how
#: each peer counts each kind; ``convcalc explain conventions``, docs/flops.md "Peers' conventions")
CONVENTIONS = ("torchvision", "fvcore", "ptflops", "thop", "torchinfo")

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1, "int32": 4}


def flops_per_element(op: str) -> int:
    return FLOPS_PER_ELEMENT[op][0]


#: op -> (backward FLOPs per element, what is counted): the work of one training step's backward pass, per element
#: of the tensor named in the text (the output gradient g unless stated), from the op's derivative as PyTorch's
#: ``tools/autograd/derivatives.yaml`` defines it. The rules of the forward table hold (a comparison, a select
#: by it, an add, a multiply, a divide, a negation, a transcendental each count 1), plus one: **a reduction of n
#: values into a gradient counts n adds** (accumulated into the zero-initialised gradient buffer), so that every
#: count is per element and exactly linear in the batch. docs/flops.md ("Backward") reproduces this table.
BACKWARD_FLOPS_PER_ELEMENT: dict[str, tuple[int, str]] = {
    "relu": (1, "threshold_backward(g, y, 0) = g·(y > 0): 1 comparison (the select is the comparison's)"),
    "relu6": (2, "hardtanh_backward(g, x, 0, 6) = g where 0 < x < 6: 2 comparisons"),
    "hardtanh": (2, "hardtanh_backward(g, x, min, max) = g where min < x < max: 2 comparisons"),
    "leaky_relu": (2, "leaky_relu_backward = g if x > 0 else a·g: 1 comparison + 1 mul"),
    "sigmoid": (3, "sigmoid_backward(g, y) = g·y·(1 − y): 1 sub + 2 mul"),
    "tanh": (3, "tanh_backward(g, y) = g·(1 − y²): 2 mul + 1 sub"),
    "gelu": (11, "gelu_backward = g·(Φ(x) + x·φ(x)): Φ = 0.5·(1 + erf(x/√2)) (mul, erf, add, mul), "
                 "φ = exp(−x²/2)/√(2π) (2 mul, exp, mul), then x·φ, + Φ, × g"),
    "gelu_tanh": (18, "gelu_backward(approximate='tanh'): x², x³, κ·x³, + x, ×β, tanh, 0.5·x, 1 + t, 0.5·(1 + t), "
                      "t², 1 − t², × 0.5·x, 3κ·x², 1 +, × β, ×, + , × g"),
    "silu": (8, "silu_backward = g·s·(1 + x·(1 − s)), s = sigmoid(x) recomputed (3): 1 − s, × x, 1 +, × s, × g"),
    "hardswish": (5, "hardswish_backward = 0 if x < −3, g·(x/3 + 0.5) if x ≤ 3, else g: 2 comparisons + div + "
                     "add + mul"),
    "hardsigmoid": (3, "hardsigmoid_backward = g/6 where −3 < x < 3, else 0: 2 comparisons + 1 div"),
    "hardsigmoid_affine": (5, "α·g where 0 < α·x + β < 1 (other α, β): mul + add + 2 comparisons + mul"),
    "prelu": (2, "input gradient of prelu: g if x > 0 else a·g: 1 comparison + 1 mul"),
    "prelu_weight": (3, "slope gradient Σ g·x over x ≤ 0: 1 comparison + 1 mul + 1 add"),
    "elu": (3, "elu_backward(g, α, 1, 1, is_result, y) = g if x > 0 else g·(y + α): comparison + add + mul"),
    "selu": (4, "elu_backward with scale λ: λ·g if x > 0 else g·(y + λ·α): comparison + mul + add + mul"),
    "mish": (13, "mish_backward = g·(t + x·σ(x)·(1 − t²)), t = tanh(softplus(x)): sigmoid (3), softplus (3), "
                 "tanh, t², 1 − t², x·σ, ×, + t, × g"),
    "softplus": (6, "softplus_backward = g if β·x > threshold else g·z/(z + 1), z = exp(β·x): mul + comparison + "
                    "exp + add + div + mul"),
    "softmax": (4, "_softmax_backward_data: gx = y·(g − Σ g·y) over n values: mul + add (the sum) + sub + mul"),
    "scalar_add": (0, "x + v, x − v: the gradient passes unchanged"),
    "scalar_neg": (1, "v − x: −g, 1 negation"),
    "scalar_mul": (1, "x·v, x / v: g·v or g/v, 1 op"),
    "scalar_rdiv": (3, "v / x: −g·v/x² = −g·y/x: mul, div, negation"),
    "scalar_pow": (3, "x^v: g·v·x^(v−1): pow + 2 mul"),
    "layer_scale": (1, "input gradient of γ·x: g·γ, 1 mul"),
    "layer_scale_weight": (2, "γ's gradient Σ g·x: 1 mul + 1 add"),
    "bias_add_weight": (1, "β's gradient Σ g: 1 add (the input gradient passes unchanged: 0)"),
    "bias_grad": (1, "conv / linear bias gradient Σ g over the batch and positions: 1 add per output element"),
    "batchnorm_sums": (4, "training batch norm, per element: Σ g (1 add) and Σ (x − μ)·g (sub + mul + add): "
                          "dβ, dγ·σ, and the two means the input gradient needs"),
    "batchnorm_input": (5, "dx = (g − Σg/M − (x − μ)·Σ(x − μ)g/(σ²M))·γ/σ: sub + mul + 2 sub + mul "
                           "(the per-channel scalars, once per batch, are not counted)"),
    "norm_input": (7, "layer/group/instance norm input gradient, per element: Σ g·γ·x (mul + add), Σ g·γ (add), "
                      "dx = a·(gγ) + b·x + c (2 mul + 2 add); + 1 with affine for g·γ (native_layer_norm_backward)"),
    "norm_input_affine": (1, "g·γ, per element, when there is a γ"),
    "norm_backward_set": (10, "per normalised set: b = (Σgγ·μ − Σgγx)·(1/σ)³/n (6), c = −b·μ − Σgγ·(1/σ)/n (4)"),
    "norm_scale_weight": (4, "γ's gradient Σ g·x̂, x̂ = (x − μ)/σ recomputed: sub + mul + mul + add"),
    "norm_shift_weight": (1, "β's gradient Σ g: 1 add"),
    "maxpool": (1, "max_pool_backward: each output gradient added to its argmax input: 1 add per output element"),
    "avgpool": (1, "avg_pool_backward: g / window (1 div per output element), added to each of its Πk taps "
                   "(1 add per tap): Πk + 1 per output element"),
    "lppool": (3, "per tap: x^(p−1), × (g·y^(1−p)), added into gx"),
    "lppool_window": (2, "per output element: y^(1−p), × g"),
    "stochastic_pool": (1, "mode train: each output gradient added to its sampled tap: 1 add per output element"),
    "stochastic_pool_test": (5, "mode test, y = Σa²/Σa: per tap g·(2a_i − y)/Σa: mul + sub + div + mul + add into gx"),
    "upsample_nearest": (1, "upsample_nearest_backward: each output gradient added to its source input: 1 add "
                            "per output element"),
    "upsample_linear": (2, "per output element and corner (2^d): weight·g + add into the corner: 2·2^d "
                           "(bilinear: 8)"),
    "upsample_cubic": (2, "per output element and tap (4^d): weight·g + add into the tap: 2·4^d (bicubic: 32)"),
    "pad_fold": (1, "reflect / replicate / circular: each border gradient added back onto its source: 1 add per "
                    "padded element (constant padding: a slice, 0)"),
    "add": (0, "add: the gradient passes to each input unchanged"),
    "broadcast_sum": (1, "an input broadcast to the output: its gradient is g summed over the broadcast axes "
                         "(sum_to_size): 1 add per output element, per broadcast input"),
    "multiply": (1, "mul: each input's gradient is g times the other inputs: (inputs − 1) mul per output "
                    "element, per input"),
    "subtract": (1, "sub: ga = g, gb = −g: 1 negation per output element"),
    "divide": (5, "div: ga = g/b (1), gb = −g·(a/b)/b (2 div + mul + negation)"),
    "dropout": (2, "native_dropout_backward(g, mask, scale) = g·mask·scale: 2 mul"),
    "identity": (0, "the gradient passes unchanged"),
    "rearrange": (0, "concat, reshape, flatten, permute, channel shuffle / slice, pixel (un)shuffle: the gradient "
                     "is sliced or rearranged, no arithmetic"),
}

BACKWARD_FLOPS_DEFINITION = ("backward FLOPs = 2·(dX + dW MACs) + bias-gradient adds + the per-op backward table "
                             "(docs/flops.md, \"Backward\")")


def backward_flops_per_element(op: str) -> int:
    """The backward table's cost of ``op`` (a KeyError for an op it lacks: never a silent zero)."""
    return BACKWARD_FLOPS_PER_ELEMENT[op][0]
