"""The saved activations of ``convcalc cost --train`` against what torch's autograd really keeps.

Each spec is built as a torch model (tests/torch_build.py), run forward in training mode under
``torch.autograd.graph.saved_tensors_hooks``; every tensor autograd packs is recorded by its storage
(``untyped_storage().data_ptr()``), parameters and buffers left out (their storages are compared), and the
distinct storages' bytes summed. That total must equal convcalc's deduplicated saved bytes, less the one documented
difference (docs/training.md, "Training memory"): on the CPU, torch's dropout saves a float mask of the input's
dtype where convcalc counts CUDA's bool mask (1 byte). Skipped without torch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from convcalc.cost.analysis import analyze, expand  # noqa: E402
from convcalc.cost.train_memory import train_memory  # noqa: E402
from convcalc.executor import run  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_build import build  # noqa: E402


def torch_saved_bytes(graph, frozen=frozenset(), input_grad=False) -> tuple[int, list]:
    """The distinct storages torch's autograd saves in one training-mode forward, parameters and buffers apart;
    the layers named in ``frozen`` get ``requires_grad_(False)``."""
    model = build(graph, run(graph)).train()
    for node, step in zip(graph.nodes, model.steps):
        for p in step.parameters():
            p.requires_grad_(node.name not in frozen)
    own = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    storages: dict[int, tuple] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            storages[storage.data_ptr()] = (storage.nbytes(), tuple(tensor.shape), str(tensor.dtype))
        return tensor

    x = torch.randn(graph.batch, *graph.input_shape, requires_grad=input_grad)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = model(x)
    if y.requires_grad:  # (all frozen: no graph, nothing saved)
        y.sum().backward()
    return sum(v[0] for v in storages.values()), sorted(storages.values())


def dropout_correction(memory) -> int:
    """torch's CPU dropout mask is float32 (4 bytes), convcalc's the bool of native_dropout (1 byte)."""
    return sum(3 * row.bytes for layer in memory.layers for row in layer.saved if row.dtype == "bool")


CASES = {
    "conv_bn_relu_maxpool_linear": [
        {"type": "conv", "out": 4, "kernel": 3, "padding": 1, "bias": False},
        {"type": "batchnorm"}, {"type": "relu"},
        {"type": "maxpool", "kernel": 2},
        {"type": "flatten"}, {"type": "linear", "out": 5}],
    "avgpool_sigmoid_silu_dropout": [
        {"type": "conv", "out": 4, "kernel": 3},
        {"type": "avgpool", "kernel": 2},
        {"type": "sigmoid"},
        {"type": "conv", "out": 4, "kernel": 1},
        {"type": "silu"},
        {"type": "dropout", "p": 0.5},
        {"type": "global_avgpool", "keepdims": False},
        {"type": "linear", "out": 3}],
    "residual_add_concat_upsample": [
        {"type": "conv", "name": "stem", "out": 4, "kernel": 3, "padding": 1},
        {"type": "relu", "name": "r0"},
        {"type": "conv", "name": "a", "out": 4, "kernel": 3, "padding": 1},
        {"type": "add", "name": "sum", "inputs": ["a", "r0"]},
        {"type": "concat", "name": "cat", "inputs": ["sum", "r0"]},
        {"type": "upsample", "scale": 2},
        {"type": "conv", "out": 2, "kernel": 3, "padding": 1, "stride": 2},
        {"type": "upsample", "scale": 2, "mode": "bilinear"},
        {"type": "tanh"}],
    "multiply_gate": [
        {"type": "conv", "name": "stem", "out": 4, "kernel": 3, "padding": 1},
        {"type": "hardswish", "name": "h"},
        {"type": "conv", "name": "g", "out": 4, "kernel": 1},
        {"type": "sigmoid", "name": "s"},
        {"type": "multiply", "name": "m", "inputs": ["h", "s"]},
        {"type": "gelu"}, {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_bytes_match_torch(name):
    graph = expand({"name": name, "input": [3, 8, 8], "batch": 2, "layers": CASES[name]})
    ours = train_memory(graph)
    theirs, listing = torch_saved_bytes(graph)
    assert ours.saved_bytes + dropout_correction(ours) == theirs, listing


@pytest.mark.parametrize("frozen", [{"stem"}, {"stem", "g"}])
def test_frozen_layers_match_torch(frozen):
    graph = expand({"name": "frozen", "input": [3, 8, 8], "batch": 2, "layers": CASES["multiply_gate"]})
    ours = train_memory(graph, frozen=frozen).saved_bytes
    theirs, listing = torch_saved_bytes(graph, frozen)
    assert ours == theirs, listing


def test_resnet18_at_64_matches_torch():
    graph = expand("resnet18", input=(3, 64, 64), batch=1)
    ours = train_memory(graph)
    theirs, listing = torch_saved_bytes(graph)
    assert ours.saved_bytes == theirs, listing
    # and deduplication matters: every conv after a ReLU saves the ReLU's output again
    assert ours.saved_bytes_listed > ours.saved_bytes


def _example_cases():
    from convcalc.layers import REGISTRY

    for kind, cls in sorted(REGISTRY.items()):
        if cls.placeholder:
            continue
        example = cls.example
        for fields in ({}, *example.also):
            yield pytest.param(kind, fields, id=f"{kind}{'-' + '-'.join(map(str, fields.values())) if fields else ''}")


@pytest.mark.parametrize("kind, fields", list(_example_cases()))
def test_every_kinds_example_matches_torch(kind, fields):
    from convcalc.layers import REGISTRY

    spec = REGISTRY[kind].example.spec(kind, **fields)
    graph = expand({**spec, "batch": 2})
    try:
        theirs, listing = torch_saved_bytes(graph, input_grad=True)
    except NotImplementedError as error:
        pytest.skip(str(error))
    ours = train_memory(graph, input_grad=True)  # every layer runs backward, whatever comes first
    assert ours.saved_bytes + dropout_correction(ours) == theirs, (listing, [r.to_dict() for r in ours.layers])


OPTIMIZER_CLASSES = {"sgd": lambda ps: torch.optim.SGD(ps, lr=0.1), "momentum": lambda ps: torch.optim.SGD(
    ps, lr=0.1, momentum=0.9), "adam": lambda ps: torch.optim.Adam(ps), "adamw": lambda ps: torch.optim.AdamW(ps)}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_static_bytes_match_torch_optim(optimizer, precision):
    """Weights, gradients and optimizer state after one step of torch.optim, the model in fp32 or cast to bf16
    (pure bf16: the state follows the params' dtype). torch's per-tensor ``step`` counter (one float32 scalar per
    parameter tensor) is left out, as docs/training.md says; the frozen layer has no gradient and no state."""
    graph = expand({"name": "static", "input": [3, 8, 8], "batch": 2, "layers": CASES["conv_bn_relu_maxpool_linear"]})
    frozen = {"linear1"}
    model = build(graph, run(graph)).train()
    if precision == "bf16":
        model = model.to(torch.bfloat16)
    for node, step in zip(graph.nodes, model.steps):
        for p in step.parameters():
            p.requires_grad_(node.name not in frozen)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = OPTIMIZER_CLASSES[optimizer](trainable)
    x = torch.randn(graph.batch, *graph.input_shape, dtype=next(model.parameters()).dtype)
    model(x).float().sum().backward()
    opt.step()
    nbytes = lambda ts: sum(t.untyped_storage().nbytes() for t in ts)  # noqa: E731
    state = [v for s in opt.state.values() for k, v in s.items() if torch.is_tensor(v) and k != "step"]
    buffers = [b for name, b in model.named_buffers() if not name.endswith("num_batches_tracked")]
    ours = train_memory(graph, optimizer=optimizer, precision=precision, frozen=frozen).static
    assert ours["weights"] == nbytes(model.parameters())
    assert ours["gradients"] == nbytes(p.grad for p in trainable)
    assert ours["optimizer_state"] == nbytes(state)
    assert ours["buffers"] == nbytes(buffers)


def _saved_by(fn, x) -> int:
    storages = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return sum(storages.values())


@pytest.mark.parametrize("kind, fn", [
    ("lppool", lambda x: torch.nn.functional.lp_pool2d(x, 2, 3, 2, ceil_mode=True)),
    ("channel_shuffle", lambda x: torch.nn.ChannelShuffle(3)(x)),
    ("channel_slice", lambda x: x[:, 2:5]),
])
def test_kinds_torch_build_lacks_match_their_torch_function(kind, fn):
    """The kinds tests/torch_build.py does not build, on their own example, against the torch function."""
    from convcalc.layers import REGISTRY

    graph = expand({**REGISTRY[kind].example.spec(kind), "batch": 2})
    x = torch.randn(graph.batch, *graph.input_shape, requires_grad=True)
    assert train_memory(graph, input_grad=True).saved_bytes == _saved_by(fn, x)


@pytest.mark.parametrize("kind, module", [
    # DepthwiseSeparable(out 4, k3, p1, multiplier 2, mid [batchnorm, relu]) on (3, 7, 7)
    ("depthwise_separable", lambda: torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1, groups=3),
                                                        torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
                                                        torch.nn.Conv2d(6, 4, 1)).train()),
    # Separable(out 2, k3, s2, same, mid 3) on (2, 9, 9): 3×1 s(2,1) then 1×3 s(1,2), one padded row/column a side
    ("separable", lambda: torch.nn.Sequential(torch.nn.Conv2d(2, 3, (3, 1), (2, 1), (1, 0)),
                                              torch.nn.Conv2d(3, 2, (1, 3), (1, 2), (0, 1)))),
])
def test_composites_match_their_torch_sequence(kind, module):
    from convcalc.layers import REGISTRY

    graph = expand({**REGISTRY[kind].example.spec(kind), "batch": 2})
    model = module()
    x = torch.randn(graph.batch, *graph.input_shape, requires_grad=True)
    own = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    storages = {}

    def pack(tensor):
        if tensor.untyped_storage().data_ptr() not in own:
            storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = model(x)
    memory = train_memory(graph, input_grad=True)
    assert list(y.shape[1:]) == analyze(graph).layers[-1].output_shape
    assert memory.saved_bytes == sum(storages.values())
