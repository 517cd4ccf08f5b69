"""Fuzz the ONNX import: mutated exports of the test models through ``convcalc analyze`` (and ``cost --train``),
each case sorted into an outcome class as benchmarks/fuzz.py sorts spec cases.

    python benchmarks/onnx_fuzz.py [--n 2000] [--seed 0] [--timeout 10] [--memory 2048] [--out DIR] [--only I]

Needs torch and onnx (the dev extras). The seeds are tests/importers/models.py's models exported once by the
TorchScript exporter (tests/importers/onnx_exports.py), at a small input. Case ``i`` draws from
``random.Random(f"{seed}:{i}")`` one to three mutations of one seed model:

* a node attribute (kernel_shape, pads, strides, dilations, group, axis, perm, …) set to a hostile value: 0,
  negative, huge, a list of the wrong length, a float, a string;
* an initializer's dims changed (its data kept), or the initializer dropped, or its data type changed;
* the graph input's dims set to 0, negative, huge or symbolic, or the input dropped;
* a node's input renamed to a name nothing defines, or to its own output (a cycle); a node dropped or duplicated;
  its op type replaced (an unknown op, another known op); its domain changed;
* the opset version set to 0, 1 or 10,000;
* the file's bytes truncated or flipped.

Each case runs in a worker subprocess (RLIMIT_AS at ``--memory`` MiB above its start; killed after ``--timeout``
seconds) through the Typer app, like tests/fuzz_cases.py: ``ok`` (exit 0 or 1), ``error`` (exit 2 and every line
of stderr an ``error:``/``hint`` line, no traceback), ``traceback`` (an exception escaped, a traceback printed or
another exit code), ``hang``, ``memory``, ``crash``. Failing cases are saved under ``--out``/CLASS/I/ with the
model and the command.
"""

from __future__ import annotations

import argparse
import json
import random
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

CLASSES = ("ok", "error", "traceback", "hang", "memory", "crash")
FAILING = ("traceback", "hang", "memory", "crash")
#: the exported seed models and the small input they are exported at
SEEDS = {"resnet_stack": (3, 32, 32), "mobilenet_v2": (3, 32, 32), "shufflenet_v2": (3, 32, 32),
         "inception": (3, 75, 75), "unet": (3, 32, 32), "conv3d": (3, 8, 16, 16), "ops": None}
HOSTILE_INTS = (0, -1, -7, 1, 2, 3, 7, 2**31 - 1, 2**31, 2**62, -(2**62), 10**6)
ATTRIBUTES = ("kernel_shape", "pads", "strides", "dilations", "group", "axis", "axes", "perm", "output_padding",
              "output_shape", "epsilon", "alpha", "beta", "mode", "ceil_mode", "count_include_pad", "keepdims",
              "auto_pad", "scales", "sizes", "to", "transA", "transB", "upscale_factor", "blocksize")


def seeds(folder: Path, names=None) -> dict[str, bytes]:
    """Each seed model's bytes (of ``names``, default all), exported once into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, shape in SEEDS.items():
        if names is not None and name not in names:
            continue
        path = folder / f"{name}.onnx"
        if not path.exists():
            from importers.onnx_exports import EXPORTED, build, export

            export(build(name), shape or EXPORTED[name][1], path)
        out[name] = path.read_bytes()
    return out


def _hostile_list(rng: random.Random, length: int):
    n = rng.choice((0, 1, length, length, length + 1, 2 * length, 100))
    return [rng.choice(HOSTILE_INTS) for _ in range(n)]


def mutate(rng: random.Random, data: bytes) -> tuple[bytes, list[str]]:
    """The model ``data`` with one to three mutations, and what they were."""
    import onnx
    from onnx import TensorProto, helper

    if rng.random() < 0.08:  # bytes, not structure
        raw = bytearray(data)
        if rng.random() < 0.5:
            cut = rng.randrange(len(raw))
            return bytes(raw[:cut]), [f"truncated at {cut}"]
        for _ in range(rng.choice((1, 5, 50))):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), ["bytes flipped"]
    model = onnx.load_from_string(data)
    graph = model.graph
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        what = rng.choice(("attribute", "attribute", "attribute", "initializer", "input", "wire", "op", "drop",
                           "duplicate", "opset", "domain"))
        nodes = list(graph.node)
        node = rng.choice(nodes) if nodes else None
        if what == "attribute" and node is not None:
            name = rng.choice([a.name for a in node.attribute] or list(ATTRIBUTES)) \
                if rng.random() < 0.8 else rng.choice(ATTRIBUTES)
            kept = [a for a in node.attribute if a.name != name]
            old = next((a for a in node.attribute if a.name == name), None)
            length = len(old.ints) if old is not None and old.ints else 2
            value = rng.choice((
                lambda: rng.choice(HOSTILE_INTS), lambda: _hostile_list(rng, length), lambda: rng.choice((0.0, -1.5,
                                                                                                         1e30)),
                lambda: rng.choice(("", "SAME_UPPER", "VALID", "nearest", "x" * 1000)), lambda: [0.5, 2.0, -1.0]))()
            if value == []:
                value = [0]
            del node.attribute[:]
            node.attribute.extend(kept + [helper.make_attribute(name, value)])
            done.append(f"{node.name or node.op_type}.{name} = {str(value)[:60]}")
        elif what == "initializer" and graph.initializer:
            init = rng.choice(list(graph.initializer))
            choice = rng.random()
            if choice < 0.4:
                dims = list(init.dims)
                if dims and rng.random() < 0.7:
                    dims[rng.randrange(len(dims))] = rng.choice(HOSTILE_INTS)
                else:
                    dims = _hostile_list(rng, len(dims))
                del init.dims[:]
                init.dims.extend(dims)
                done.append(f"initializer {init.name} dims {dims}")
            elif choice < 0.7:
                graph.initializer.remove(init)
                done.append(f"initializer {init.name} dropped")
            else:
                init.data_type = rng.choice((TensorProto.INT64, TensorProto.FLOAT16, TensorProto.STRING,
                                             TensorProto.BOOL, 0, 999))
                done.append(f"initializer {init.name} type {init.data_type}")
        elif what == "input" and graph.input:
            value = graph.input[0]
            dims = value.type.tensor_type.shape.dim
            if rng.random() < 0.15:
                graph.input.remove(value)
                done.append("input dropped")
            elif dims:
                dim = dims[rng.randrange(len(dims))]
                if rng.random() < 0.3:
                    dim.dim_param = rng.choice(("N", "", "height"))
                else:
                    dim.dim_value = rng.choice(HOSTILE_INTS[:9] + (10**5, 2**40))
                done.append(f"input dims {[d.dim_value or d.dim_param for d in dims]}")
        elif what == "wire" and node is not None and node.input:
            slot = rng.randrange(len(node.input))
            target = rng.choice(("nowhere", node.output[0] if node.output else "nowhere", ""))
            node.input[slot] = target
            done.append(f"{node.name or node.op_type} input {slot} = {target!r}")
        elif what == "op" and node is not None:
            node.op_type = rng.choice(("Conv", "MaxPool", "Relu", "Add", "Concat", "Reshape", "Gemm", "Foo",
                                       "ConvTranspose", "AveragePool", "BatchNormalization", "Resize", "Transpose",
                                       "Flatten", "GlobalAveragePool", "Mul", "Split", "Slice", "Pad", ""))
            done.append(f"{node.name} op {node.op_type}")
        elif what == "drop" and node is not None:
            graph.node.remove(node)
            done.append(f"{node.name or node.op_type} dropped")
        elif what == "duplicate" and node is not None:
            graph.node.append(node)
            done.append(f"{node.name or node.op_type} duplicated")
        elif what == "opset" and model.opset_import:
            model.opset_import[0].version = rng.choice((0, 1, 6, 10_000))
            done.append(f"opset {model.opset_import[0].version}")
        elif what == "domain" and node is not None:
            node.domain = rng.choice(("com.microsoft", "ai.onnx.ml", "x"))
            done.append(f"{node.name or node.op_type} domain {node.domain}")
    return model.SerializeToString(), done


def case(seed: int, index: int, models: dict[str, bytes]):
    rng = random.Random(f"{seed}:{index}")
    name = rng.choice(sorted(models))
    data, mutations = mutate(rng, models[name])
    command = rng.choice((["analyze"], ["analyze"], ["analyze", "--format", "json"], ["cost", "--train"],
                          ["rf"], ["verify", "--max-memory", "64M"]))
    return name, data, mutations, command


def classify(code: int, output: str, escaped: bool) -> str:
    if escaped or "Traceback" in output or code not in (0, 1, 2):
        return "traceback"
    if code in (0, 1):
        return "ok"
    return "error"


def run_one(seed: int, index: int, models: dict[str, bytes]) -> dict:
    """Case ``index`` run in this process through the Typer app: its class, output and what it was."""
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    name, data, mutations, command = case(seed, index, models)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        try:
            result = CliRunner().invoke(app, [command[0], str(path), *command[1:]])
            escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
            output = (result.stderr or "") + (result.stdout or "")
            outcome = classify(result.exit_code, output, escaped)
            if escaped:
                import traceback

                output += "".join(traceback.format_exception(result.exception))
        except MemoryError:
            outcome, output = "memory", "MemoryError"
    return {"index": index, "class": outcome, "report": output[-4000:], "model": name, "mutations": mutations,
            "command": command}


def worker(seed: int, memory: int, folder: Path) -> None:
    import resource

    models = seeds(folder)
    limit = _status("VmSize") + memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for line in sys.stdin:
        sys.stdout.write(json.dumps(run_one(seed, int(line), models)) + "\n")
        sys.stdout.flush()


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--memory", type=int, default=2048, help="MiB of address space per worker")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "convcalc-onnx-fuzz")
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "convcalc-onnx-seeds")
    parser.add_argument("--only", type=int)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed, args.memory * 2**20, args.models)
        return
    seeds(args.models)  # export once, before the clock starts
    indices = [args.only] if args.only is not None else list(range(args.n))
    counts: Counter = Counter()

    def start():
        return subprocess.Popen([sys.executable, __file__, "--worker", "--seed", str(args.seed), "--memory",
                                 str(args.memory), "--models", str(args.models)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)

    proc = start()
    began = time.monotonic()
    for index in indices:
        proc.stdin.write(f"{index}\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], args.timeout)
        line = proc.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
        else:
            answer = {"index": index, "class": "hang" if not ready else "crash", "report": ""}
            proc.kill()
            proc.wait()
            proc = start()
        counts[answer["class"]] += 1
        if answer["class"] in FAILING or args.only is not None:
            folder = args.out / answer["class"] / str(index)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "case.json").write_text(json.dumps(answer, indent=1))
            print(f"case {index}: {answer['class']} {answer.get('mutations')} {answer.get('command')}", flush=True)
            if args.only is not None:
                print(answer.get("report", ""))
    proc.kill()
    print(f"{len(indices):,} cases (seed {args.seed}) in {time.monotonic() - began:.0f} s")
    for name in CLASSES:
        print(f"  {name:10} {counts[name]:>7,}")


if __name__ == "__main__":
    main()
