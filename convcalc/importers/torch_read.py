"""The PyTorch frontend: ``read("package.module:callable", kwargs, input_shape)`` → an :class:`ImportedModel`.

The target names a callable (a function or an ``nn.Module`` class) in an importable module, or in a Python file
(``path/to/file.py:callable``, loaded with importlib); it is called with ``kwargs`` and must give an
``nn.Module``. The model is built under ``torch.device("meta")``, so its parameters have shapes but no storage
and even a huge model takes no memory; if building there fails, it is built on the CPU instead, with a warning.
It is put in eval mode, traced (torch.fx, else torch.export: :mod:`convcalc.importers.torch_trace`), and its
calls mapped onto layer kinds (:mod:`convcalc.importers.torch_map`). Shapes come from running the graph on a
meta tensor of the given per-sample ``input_shape`` with a batch of :data:`TRACE_BATCH`, so the batch axis is
told apart from a size-1 axis.

Every problem a user can fix is a :class:`~convcalc.errors.SpecError`
(``error: torch:pkg.mod:fn: what is wrong — how to fix it``, exit 2), never a traceback: a missing module or
attribute, a file with a syntax error, a callable that raises or returns something else, no input shape, an input
shape the model rejects, and operators with no layer kind (all of them in one message; with
``allow_unsupported`` they become zero-cost ``unsupported`` placeholders instead).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from ..errors import SpecError, did_you_mean
from .ir import ImportedModel
from .torch_finish import cached, unsupported_ops

#: the batch the graph is traced with: 2, so that a reshape across the batch cannot hide behind a batch of 1
TRACE_BATCH = 2


def read(target: str, kwargs: dict | None, input_shape: tuple | None, batch: int | None = None,
         allow_unsupported: bool = False, progress=None) -> ImportedModel:
    label = source_label(target)
    shape = checked_shape(label, input_shape)
    obj, name = resolve(label, target)
    from .torch_map import Mapper  # torch is imported from here on (by the user's module, mostly, already)

    warnings: list[str] = []
    kwargs = dict(kwargs or {})
    model, device = build(label, obj, kwargs, warnings)
    if progress is not None:  # ``progress``: the stages and each traced node, for a bar (render/progress.py)
        progress.advance(1, "tracing")
    traced = trace(label, model, shape, device, warnings, lambda: build(label, obj, kwargs, warnings, "cpu")[0],
                   progress)
    mapper = Mapper(traced, TRACE_BATCH)
    mapper.run(shape)
    return finish(label, name, shape, batch, mapper, warnings, allow_unsupported,
                  lambda: instance(obj, kwargs, "cpu", label))


# ---- the target ---------------------------------------------------------------------------------------------
def source_label(target: str) -> str:
    """How messages name the source: ``torch:pkg.mod:fn``, or the file target as given."""
    module = target.rpartition(":")[0]
    return target if module.endswith(".py") else f"torch:{target}"


def checked_shape(label: str, input_shape) -> tuple:
    if input_shape is None:
        raise SpecError(f"{label}: a PyTorch module has no input shape", None,
                        "give the shape of one sample, channels first, e.g. --input 3x224x224")
    shape = tuple(input_shape)
    if not 1 <= len(shape) <= 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
        raise SpecError(f"{label}: the input shape {list(shape)} is not 1 to 4 positive sizes", None,
                        "give the shape of one sample, channels first, e.g. --input 3x224x224")
    return shape


def resolve(label: str, target: str):
    """The object ``module:attribute`` names, and a name for the model."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise SpecError(f"{label}: expected `package.module:callable` or `path/to/file.py:callable`", None,
                        "name the module, a colon, and the function or class that builds the model")
    module = load_file(label, module_name) if module_name.endswith(".py") else import_module(label, module_name)
    obj = module
    for i, part in enumerate(attribute.split(".")):
        if not hasattr(obj, part):
            where = ".".join([module_name] + attribute.split(".")[:i])
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise SpecError(f"{label}: `{where}` has no attribute `{part}`", None, did_you_mean(part, names))
        obj = getattr(obj, part)
    return obj, getattr(obj, "__name__", attribute.rsplit(".", 1)[-1])


def import_module(label: str, name: str):
    """The module, found as ``python -m`` would find it: the working folder is on the path."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise SpecError(f"{label}: no module named `{exc.name}`", None,
                            "check the spelling, and that the package is installed or on PYTHONPATH") from None
        raise SpecError(f"{label}: importing `{name}` failed: {short(exc)}", None,
                        f"install `{exc.name}`, which `{name}` imports") from None
    except SyntaxError as exc:
        raise syntax_error(label, exc) from None
    except Exception as exc:  # the module's own code raised while it was imported
        raise SpecError(f"{label}: importing `{name}` raised {short(exc)}", None,
                        "fix the module so that it imports") from None


def load_file(label: str, path: str):
    """A Python file loaded as a module (its folder on sys.path while it runs, as when Python runs a script)."""
    if not os.path.isfile(path):
        raise SpecError(f"{label}: no such file `{path}`", None, "check the path to the Python file")
    folder = os.path.dirname(os.path.abspath(path))
    name = "convcalc_torch_import_" + "".join(c if c.isalnum() else "_" for c in os.path.abspath(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise syntax_error(label, exc) from None
    except Exception as exc:  # the file's own code raised
        sys.modules.pop(name, None)
        raise SpecError(f"{label}: running `{path}` raised {short(exc)}", None, "fix the file so that it runs") from None
    finally:
        sys.path.remove(folder)
    return module


def syntax_error(label: str, exc: SyntaxError) -> SpecError:
    where = f"{exc.filename}:{exc.lineno}:{exc.offset or 1}" if exc.filename else "the module"
    return SpecError(f"{label}: {where}: syntax error: {exc.msg}", None, "fix the syntax error")


def short(exc: BaseException) -> str:
    from .torch_trace import short_error

    return short_error(exc)


# ---- building -----------------------------------------------------------------------------------------------
def instance(obj, kwargs: dict, device: str, label: str):
    """The module ``obj`` gives: itself when it is one, else ``obj(**kwargs)`` built under ``device``."""
    import torch
    from torch import nn

    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise SpecError(f"{label}: `{label.rpartition(':')[2]}` is a value of type `{type(obj).__name__}`, not a "
                        f"callable that builds a torch.nn.Module", None, "name a function or an nn.Module class")
    with torch.device(device):
        model = obj(**kwargs)
    if not isinstance(model, nn.Module):
        raise SpecError(f"{label}: calling it returned a value of type `{type(model).__name__}`, not a "
                        f"torch.nn.Module", None,
                        "name a function or class that returns the model")
    return model


def build(label: str, obj, kwargs: dict, warnings: list, device: str = "meta"):
    """The model on the meta device, or on the CPU (with a warning) when it cannot be built there."""
    call = f"{label.rpartition(':')[2]}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        return instance(obj, kwargs, device, label), device
    except SpecError:
        raise
    except Exception as first:
        if device == "cpu":
            raise SpecError(f"{label}: calling {call} raised {short(first)}", None,
                            "check the callable and its keyword arguments") from None
        try:
            model = instance(obj, kwargs, "cpu", label)
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError(f"{label}: calling {call} raised {short(exc)}", None,
                            "check the callable and its keyword arguments") from None
        warnings.append(f"building the model on the meta device failed ({short(first)}); it was built on the CPU "
                        f"instead, which allocates its weights")
        return model, "cpu"


def trace(label: str, model, shape: tuple, device: str, warnings: list, on_cpu, progress=None):
    """torch.fx, else torch.export; a model that will not run on meta tensors is rebuilt on the CPU."""
    import torch

    from .torch_ops import module_entry
    from .torch_trace import InputCount, RunFailed, TraceFailed, trace_export, trace_fx

    model.eval()
    example = torch.empty((TRACE_BATCH, *shape), device=device)
    try:
        try:
            return trace_fx(model, example, lambda m: module_entry(m) is not None, progress)
        except TraceFailed as fx_failed:
            try:
                traced = trace_export(model, example)
            except TraceFailed as export_failed:
                raise SpecError(f"{label}: neither torch.fx nor torch.export could trace the model (fx: {fx_failed}; "
                                f"export: {export_failed})", None,
                                "check --input; a forward that branches on tensor values cannot be traced, export "
                                "the model to ONNX instead") from None
            warnings.append(f"torch.fx could not trace the model ({fx_failed}); it was traced with "
                            f"torch.export instead")
            return traced
    except InputCount as exc:
        raise SpecError(f"{label}: {exc}", None, "wrap the model in a module whose forward takes one tensor") from None
    except NotImplementedError as exc:
        if device != "meta":
            raise
        warnings.append(f"an operator has no meta-device kernel ({short(exc)}); the model was built and "
                        f"traced on the CPU instead")
        return trace(label, on_cpu(), shape, "cpu", warnings, on_cpu)
    except RunFailed as exc:
        raise SpecError(f"{label}: the model fails on an input of shape {'x'.join(map(str, shape))} per sample, {exc}",
                        None, "check --input: the shape of one sample, channels first, e.g. --input 3x224x224") \
            from None


# ---- the result ---------------------------------------------------------------------------------------------
def finish(label, name, shape, batch, mapper, warnings, allow_unsupported, build_real) -> ImportedModel:
    from .torch_finish import fuse, imported_layers, live, name_records
    from .torch_map import output_of
    from .torch_original import TorchOriginal

    output, extra = output_of(mapper)
    if output is None:
        raise SpecError(f"{label}: the model's output is not computed from its input", None,
                        "import a model whose forward returns a tensor computed from its input")
    if extra:
        warnings.append(f"the model returns {extra + 1} tensors; the import follows the first")
    fuse(mapper.records, output)
    records = live(mapper.records, output)
    dropped = mapper.unused + [r.call.node.name for r in mapper.records if not r.absorbed and r not in records]
    if dropped:
        warnings.append(f"{len(dropped)} operation(s) do not feed the output and are left out: "
                        + ", ".join(f"'{n}'" for n in dropped[:5]) + (", …" if len(dropped) > 5 else ""))
    unsupported = unsupported_ops(records)
    if unsupported and not allow_unsupported:
        from .source import unsupported_error

        raise unsupported_error(label, unsupported)
    name_records(records)
    original = cached(lambda: TorchOriginal(build_real, mapper.traced, [r.tensor for r in records]))
    layers = imported_layers(records, lambda r: (lambda: original().arrays(r.weights, r.buffers)))
    return ImportedModel(name, label, shape, layers, mapper.traced.input_node.name, batch or 1, unsupported,
                         warnings, original)
