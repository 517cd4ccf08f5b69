"""Training memory: params, gradients, optimizer state, and the activations autograd saves for backward.

``convcalc cost SPEC --train [--optimizer sgd|momentum|adam|adamw] [--precision fp32|bf16|mixed]``
(docs/training.md, "Training memory", states every convention with its source). Three parts:

* **Static** — per parameter, bytes for the weights, their gradients, the optimizer's state and (mixed precision)
  an fp32 master copy, from :data:`OPTIMIZER_STATES` and :data:`PRECISIONS`; frozen parameters have weights only;
  buffers (batch norm's running statistics) apart.
* **Saved activations** — what each layer keeps for its backward, as its kind answers ``saved_for_backward(ins)``
  (:mod:`convcalc.layers.saved`), deduplicated by storage: a tensor saved by several layers (a ReLU's output that
  the next conv saves as its input) and views of it (flatten, permute) count once. Only layers that run backward
  save anything: a layer runs backward when its output needs a gradient, i.e. when it or a layer before it on its
  path has trainable params (the frozen prefix and the layers before the first trainable one save nothing).
* **Peak** — one training step along the graph (:func:`timeline`): forward, the saved tensors accumulate next to
  the activations inference keeps alive; backward, in reverse order, each layer allocates its inputs' gradients
  and then frees its output's gradient and the saved tensors no earlier layer needs. The peak is
  static + the largest (saved tensors alive + activations alive + activation gradients alive) at any step, with the
  layer where it happens. In-place ops are not modelled.
"""

from __future__ import annotations

from math import prod

from ..errors import SpecError

#: optimizer → the state buffers per parameter (torch.optim: SGD without momentum keeps none; SGD with momentum a
#: ``momentum_buffer``; Adam and AdamW ``exp_avg`` and ``exp_avg_sq``)
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}

#: precision → bytes of (weights, gradients, each optimizer state buffer, fp32 master copy, activations, buffers)
PRECISIONS = {
    "fp32": {"weights": 4, "gradients": 4, "state": 4, "master": 0, "activations": 4, "buffers": 4},
    # pure bf16: the model cast with .to(torch.bfloat16); torch.optim creates its state with zeros_like(param), so
    # the state is bf16 too (no fp32 copy anywhere)
    "bf16": {"weights": 2, "gradients": 2, "state": 2, "master": 0, "activations": 2, "buffers": 2},
    # mixed (Micikevicius et al. 2018; ZeRO, Rajbhandari et al. 2020 §3.1): fp16/bf16 weights, gradients and
    # activations; fp32 master weights and optimizer state; normalisation statistics kept in fp32
    "mixed": {"weights": 2, "gradients": 2, "state": 4, "master": 4, "activations": 2, "buffers": 4},
}
OPTIMIZERS = tuple(OPTIMIZER_STATES)
PRECISION_NAMES = tuple(PRECISIONS)


def bytes_per_param(optimizer: str, precision: str) -> dict:
    """The bytes one trainable parameter costs: weights, gradients, optimizer state, master copy, and the total."""
    p = PRECISIONS[precision]
    parts = {"weights": p["weights"], "gradients": p["gradients"], "optimizer_state": p["state"] *
             OPTIMIZER_STATES[optimizer], "master_weights": p["master"]}
    return {**parts, "total": sum(parts.values())}


class SavedRow:
    """One tensor a layer saves: ``what`` it is, its storage (``storage``: the layer that made it, or the layer and
    its own tensor's name), its bytes, and ``shared``: the earlier layer that already saved that storage."""

    __slots__ = ("what", "storage", "bytes", "dtype", "shared")

    def __init__(self, what, storage, nbytes, dtype, shared=None):
        self.what, self.storage, self.bytes, self.dtype, self.shared = what, storage, nbytes, dtype, shared

    def to_dict(self) -> dict:
        return {"what": self.what, "storage": self.storage, "bytes": self.bytes, "dtype": self.dtype,
                "shared_with": self.shared}


class LayerMemory:
    """A layer's part: whether it runs backward, whether its params train, what it saves, and the bytes it adds
    (``new_bytes``: storages no earlier layer saved)."""

    __slots__ = ("name", "type", "backward", "trainable_params", "frozen_params", "saved")

    def __init__(self, name, type, backward, trainable_params, frozen_params, saved):
        self.name, self.type, self.backward = name, type, backward
        self.trainable_params, self.frozen_params, self.saved = trainable_params, frozen_params, saved

    @property
    def saved_bytes(self) -> int:
        return sum(row.bytes for row in self.saved)

    @property
    def new_bytes(self) -> int:
        return sum(row.bytes for row in self.saved if row.shared is None)

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "backward": self.backward,
                "trainable_params": self.trainable_params, "frozen_params": self.frozen_params,
                "saved_bytes": self.saved_bytes, "new_saved_bytes": self.new_bytes,
                "saved": [row.to_dict() for row in self.saved]}


class TrainMemory:
    """The training memory of one network: what ``convcalc cost --train`` prints and ``cost.training.memory`` is."""

    def __init__(self, name, batch, optimizer, precision, per_param, layers, static, peak, peak_layer, peak_phase,
                 peak_parts, frozen):
        self.name, self.batch, self.optimizer, self.precision = name, batch, optimizer, precision
        self.per_param, self.layers, self.static = per_param, layers, static
        self.peak, self.peak_layer, self.peak_phase, self.peak_parts = peak, peak_layer, peak_phase, peak_parts
        self.frozen = sorted(frozen)

    @property
    def saved_bytes(self) -> int:
        """The saved activations, each storage once."""
        return sum(layer.new_bytes for layer in self.layers)

    @property
    def saved_bytes_listed(self) -> int:
        """Every layer's saved tensors added up as if none were shared (what deduplication saves)."""
        return sum(layer.saved_bytes for layer in self.layers)

    @property
    def static_bytes(self) -> int:
        return sum(self.static.values())

    def to_dict(self) -> dict:
        return {"optimizer": self.optimizer, "precision": self.precision,
                "bytes_per_param": self.per_param, "frozen": self.frozen,
                "static": {**self.static, "total": self.static_bytes},
                "layers": [layer.to_dict() for layer in self.layers],
                "totals": {"saved_bytes": self.saved_bytes, "saved_bytes_without_dedup": self.saved_bytes_listed,
                           "static_bytes": self.static_bytes, "peak_bytes": self.peak},
                "peak": {"bytes": self.peak, "layer": self.peak_layer, "phase": self.peak_phase, **self.peak_parts}}


def _answer(cls, node):
    from ..layers.base import own

    if cls.placeholder:
        raise SpecError(f"layer `{node.name}` is an unsupported `{node.fields.get('op', 'operator')}` "
                        "placeholder: what its backward saves is unknown, not zero", node.mark,
                        "training memory needs every layer's kind; map the operator or leave --train out")
    answer = own(cls, "saved_for_backward")
    if answer is None:
        raise SpecError(f"layer `{node.name}`: kind `{node.kind}` does not say what it saves for backward",
                        node.mark, "give the kind a saved_for_backward answer (docs/training.md, docs/extending.md)")
    return answer


def train_memory(graph, report=None, optimizer: str = "adam", precision: str = "fp32",
                 frozen: frozenset[str] | set[str] = frozenset(), input_grad: bool = False) -> TrainMemory:
    """The training memory of ``graph`` with ``optimizer`` and ``precision``; ``frozen`` names the layers whose
    params get no gradient (no gradient, no optimizer state); ``input_grad``: the network input needs a gradient
    too (an adversarial or saliency step), so that every layer runs backward."""
    from ..layers import REGISTRY
    from ..layers.saved import FIXED_DTYPE_BYTES
    from .analysis import analyze

    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"optimizer {optimizer!r}: one of {', '.join(OPTIMIZERS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISION_NAMES)}")
    names = {node.name for node in graph.nodes}
    unknown = sorted(set(frozen) - names)
    # a layer marked `trainable: false` in the spec (a `trainable` attribute on its node) is frozen too
    frozen = set(frozen) | {node.name for node in graph.nodes if getattr(node, "trainable", True) is False}
    if unknown:
        raise SpecError(f"frozen layer{'s' * (len(unknown) > 1)} {', '.join(f'`{n}`' for n in unknown)} not in "
                        f"{graph.name}", graph.nodes[0].mark, "give layer names as `convcalc analyze` lists them")
    report = report if report is not None else analyze(graph)
    rows = {row.name: row for row in report.layers}
    p = PRECISIONS[precision]
    data, batch = p["activations"], graph.batch
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})

    # ---- storages: every tensor's storage (a view shares its input's), and whether it needs a gradient ---------
    storage = {graph.input_name: graph.input_name}
    contiguous = {graph.input_name: True}
    storage_bytes = {graph.input_name: prod(graph.input_shape) * data * batch}
    needs_grad = {graph.input_name: input_grad}
    answers, layers = {}, []
    trainable = frozen_params = 0
    for node in graph.nodes:
        cls = REGISTRY[node.kind]
        layer = cls(node)
        ins = [shapes[name] for name in node.inputs]
        answer = _answer(cls, node)(layer, ins)
        answers[node.name] = answer
        params = rows[node.name].params
        trains = params > 0 and node.name not in frozen
        trainable += params if trains else 0
        frozen_params += 0 if trains else params
        needs_grad[node.name] = trains or any(needs_grad[name] for name in node.inputs)
        first = node.inputs[0] if node.inputs else graph.input_name
        alias = answer.alias in ("view", "strided") or (answer.alias == "if_contiguous" and contiguous[first])
        if alias:  # no new storage: a view of its first input's
            storage[node.name] = storage[first]
            contiguous[node.name] = contiguous[first] and answer.alias != "strided"
        else:
            storage[node.name] = node.name
            contiguous[node.name] = True
            storage_bytes[node.name] = prod(shapes[node.name]) * data * batch
        saved_rows: list[SavedRow] = []
        if needs_grad[node.name]:
            for item in answer.saved:
                if item.when == "trainable" and not trains:
                    continue
                if item.tensor == "out" or item.tensor.startswith("in") and item.tensor[2:].isdigit():
                    tensor = node.name if item.tensor == "out" else node.inputs[int(item.tensor[2:])]
                    key, dtype = storage[tensor], "data"
                    nbytes = storage_bytes[key]
                else:
                    key, dtype = f"{node.name}:{item.tensor}", item.dtype
                    size = data if dtype == "data" else FIXED_DTYPE_BYTES[dtype]
                    nbytes = item.elements * size * (batch if item.per_sample else 1)
                    storage_bytes.setdefault(key, nbytes)
                saved_rows.append(SavedRow(item.what, key, nbytes, precision if dtype == "data" else dtype))
        layers.append(LayerMemory(node.name, node.kind, needs_grad[node.name], params if trains else 0,
                                  0 if trains else params, saved_rows))
    first_saver: dict[str, str] = {}
    for layer in layers:
        seen_here = set()
        for row in layer.saved:
            owner = first_saver.get(row.storage)
            if owner is not None:
                row.shared = owner
            elif row.storage in seen_here:
                row.shared = layer.name
            else:
                first_saver[row.storage] = layer.name
                seen_here.add(row.storage)

    per_param = bytes_per_param(optimizer, precision)
    static = {"weights": (trainable + frozen_params) * p["weights"], "gradients": trainable * p["gradients"],
              "optimizer_state": trainable * per_param["optimizer_state"],
              "master_weights": trainable * p["master"], "buffers": report.totals.buffers * p["buffers"]}
    peak, peak_layer, phase, parts = timeline(graph, layers, storage, storage_bytes, needs_grad, shapes, data)
    parts = {"static_bytes": sum(static.values()), **parts}
    return TrainMemory(graph.name, batch, optimizer, precision, per_param, layers, static,
                       peak + sum(static.values()), peak_layer, phase, parts, frozen)


def timeline(graph, layers, storage, storage_bytes, needs_grad, shapes, data):
    """The largest activation memory of one training step, and where: (bytes, layer, phase, parts).

    Forward, after layer i's output is allocated: the saved storages so far ∪ the storages inference keeps alive
    (each tensor until its last consumer, the network input included, the output to the end). End of forward: the
    saved storages, the output, and the loss's gradient (the output's size). Backward, layers in reverse, only
    those that run backward: layer i allocates a gradient for each input that needs one (a view's input shares its
    gradient), then its output's gradient is freed, and so is every saved storage no earlier layer saved."""
    output = graph.output or graph.nodes[-1].name
    index = {node.name: i for i, node in enumerate(graph.nodes)}
    last_use = {graph.input_name: -1}
    for i, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_use[storage[name]] = max(last_use.get(storage[name], -1), i)
    last_use[storage[output]] = len(graph.nodes)
    saved_first = {}  # storage → index of the earliest layer saving it (its last user in backward)
    for layer in layers:
        for row in layer.saved:
            saved_first.setdefault(row.storage, index[layer.name])
            saved_first[row.storage] = min(saved_first[row.storage], index[layer.name])

    best = (-1, "", "", {})

    def consider(total, name, phase, saved, acts, grads):
        nonlocal best
        if total > best[0]:
            best = (total, name, phase, {"saved_bytes": saved, "activation_bytes": acts, "gradient_bytes": grads})

    live = {storage[graph.input_name]}
    saved_live: set[str] = set()
    for i, (node, layer) in enumerate(zip(graph.nodes, layers)):
        live.add(storage[node.name])
        saved_live.update(row.storage for row in layer.saved)
        acts = live - saved_live
        consider(_sum(storage_bytes, saved_live | acts), node.name, "forward", _sum(storage_bytes, saved_live),
                 _sum(storage_bytes, acts), 0)
        for name in {storage[n] for n in node.inputs} | {storage[node.name]}:
            if last_use.get(name, i) <= i and name in live:
                live.discard(name)
    if not needs_grad.get(output, False):
        return best
    grads = {output: prod(shapes[output]) * data * graph.batch}  # the loss's gradient dL/dy
    acts = {storage[output]} - saved_live
    consider(_sum(storage_bytes, saved_live | acts) + sum(grads.values()), output, "loss",
             _sum(storage_bytes, saved_live), _sum(storage_bytes, acts), sum(grads.values()))
    alias_of = {}
    for node, layer in zip(reversed(graph.nodes), reversed(layers)):
        if not layer.backward or node.name not in grads:
            continue
        view = storage[node.name] != node.name
        for name in node.inputs:
            if needs_grad.get(name) and name not in grads:
                if view:
                    alias_of[name] = node.name
                grads[name] = 0 if view else prod(shapes[name]) * data * graph.batch
        grad_bytes = sum(grads.values())
        consider(_sum(storage_bytes, saved_live | acts) + grad_bytes, node.name, "backward",
                 _sum(storage_bytes, saved_live), _sum(storage_bytes, acts), grad_bytes)
        freed = grads.pop(node.name)
        if view:  # the input's gradient is a view of this one: it keeps the storage
            for name in node.inputs:
                if alias_of.get(name) == node.name:
                    grads[name] = freed
        i = index[node.name]
        saved_live = {s for s in saved_live if saved_first[s] < i}
        acts = set()
    return best


def _sum(sizes: dict, keys) -> int:
    return sum(sizes[key] for key in keys)
