"""Import sources: an ONNX file or a PyTorch module, given wherever a spec is expected.

Three forms (:func:`is_import_source`)::

    model.onnx                      an ONNX file (read by convcalc.importers.onnx_read)
    torch:package.module:callable   a callable returning a torch.nn.Module (convcalc.importers.torch_read)
    path/to/file.py:callable        the same, from a Python file

:func:`import_model` reads one with its frontend, imported only then (the frontends import onnx or torch; a
missing optional package is an error naming the extra to install). :func:`imported_spec` imports and writes the
spec (:mod:`convcalc.importers.writer`): what ``convcalc import`` prints. :func:`load_imported` is the in-memory
path every spec command takes: that spec, loaded like any other. Errors in that generated spec name the layer and
what it came from, never a line of a file the user has not seen. :func:`load_network` is the one entry the commands
call: an import source or a spec.

:func:`is_import_source` lives with the rest of what a SPEC argument can name, in :mod:`convcalc.spec.loader`
(``convcalc analyze`` asks it on its fast path, which never imports this module); it is offered here too.
"""

from __future__ import annotations

from ..spec.loader import ONNX_SUFFIX, TORCH_PREFIX, Network, is_import_source, load

__all__ = ["is_import_source", "import_model", "imported_spec", "load_imported", "load_network", "model_warnings",
           "unsupported_error", "check_supported"]

#: frontend → (its module, the optional packages it needs, the extra that installs them)
FRONTENDS = {
    "onnx": ("convcalc.importers.onnx_read", ("onnx", "onnxruntime"), "onnx"),
    "torch": ("convcalc.importers.torch_read", ("torch",), "torch"),
}
#: how many node names an unsupported-operator error lists per op type
FIRST_NODES = 3


def _is_dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def frontend_of(source: str) -> tuple[str, str]:
    """(frontend name, what its ``read`` takes) of an import source."""
    if source.startswith(TORCH_PREFIX):
        return "torch", source[len(TORCH_PREFIX):]
    if source.lower().endswith(ONNX_SUFFIX):
        return "onnx", source
    return "torch", source


def _check_target(frontend: str, target: str) -> None:
    """A missing file or callable is said before any optional package is imported (a typo is not a missing
    install)."""
    import os

    from ..errors import SpecError

    path = target
    if frontend == "torch":
        path, colon, attribute = target.rpartition(":")
        if not colon or not path or not _is_dotted_name(attribute):
            raise SpecError(f"`{target}` does not name a callable", None,
                            "write torch:package.module:callable or path/to/file.py:callable, e.g. "
                            "torch:torchvision.models:resnet50")
        if not path.endswith(".py"):
            return  # a module, imported by the frontend
    if os.path.isdir(path):
        raise SpecError(f"{path} is a directory", None, "give the model file")
    if not os.path.isfile(path):
        raise SpecError(f"no such file: {path}", None, "check the path")


def import_model(source: str, input_shape=None, kwargs=None, batch=None, allow_unsupported: bool = False,
                 progress=None):
    """Read the model ``source`` names into an :class:`~convcalc.importers.ir.ImportedModel`, with its frontend.

    ``input_shape`` (per sample, channels first) fixes dynamic dims; ``kwargs`` go to a PyTorch callable;
    ``allow_unsupported``: operators with no layer kind become ``unsupported`` placeholders (listed in
    ``model.unsupported``) instead of :func:`unsupported_error`. Every frontend's ``read`` takes ``batch``,
    ``allow_unsupported`` and ``progress`` as keywords. Without the frontend's optional package: ``SpecError``
    "… needs the optional onnx package", with the ``pip install "convcalc[onnx]"`` line as the hint (exit code 2
    at the command line).
    ``progress`` (:class:`convcalc.render.progress.Progress`, optional) is handed to the frontend, which reports
    its stages (and the PyTorch frontend each node it traces)."""
    import importlib

    from ..errors import SpecError

    frontend, target = frontend_of(source)
    _check_target(frontend, target)
    module_name, packages, extra = FRONTENDS[frontend]
    try:
        module = importlib.import_module(module_name)
        shape = tuple(input_shape) if input_shape is not None else None
        options = {"batch": batch, "allow_unsupported": allow_unsupported, "progress": progress}
        if frontend == "onnx":
            model = module.read(target, shape, **options)
        else:
            model = module.read(target, dict(kwargs or {}), shape, **options)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in packages:
            if exc.name == module_name:
                raise SpecError(f"{source}: this convcalc has no {frontend} frontend", None,
                                "install a convcalc release with `convcalc import`") from None
            raise
        raise SpecError(f"{source} needs the optional {missing} package", None,
                        f'pip install "convcalc[{extra}]"') from None
    check_supported(model, allow_unsupported)  # a frontend that kept placeholders anyway
    return model


def unsupported_error(source: str, records) -> "SpecError":  # noqa: F821 (convcalc.errors)
    """The error for operators with no layer kind: every op type with its count and first node names, and the
    ``--allow-unsupported`` hint. ``records`` are :class:`~convcalc.importers.ir.Unsupported`; a frontend raises
    this (or the caller does, through :func:`check_supported`) unless the user allowed placeholders."""
    from ..errors import SpecError

    total = sum(record.count for record in records)
    parts = []
    for record in records:
        shown = ", ".join(f"'{node}'" for node in record.nodes[:FIRST_NODES])
        more = f", … ({record.count - FIRST_NODES} more)" if record.count > FIRST_NODES else ""
        parts.append(f"{record.op} ×{record.count} ({shown}{more})" if shown else f"{record.op} ×{record.count}")
    kinds = f"{len(records)} operator type{'s' if len(records) != 1 else ''}"
    return SpecError(f"{source}: {kinds} with no convcalc layer kind ({total} node{'s' if total != 1 else ''}): "
                     + "; ".join(parts), None,
                     "pass --allow-unsupported to count them as zero-cost `unsupported` placeholders (listed in "
                     "the report)")


def check_supported(model, allow_unsupported: bool) -> None:
    """Raise :func:`unsupported_error` when ``model`` kept placeholders and the user did not allow them."""
    if model.unsupported and not allow_unsupported:
        raise unsupported_error(model.source, model.unsupported)


def imported_spec(source: str, input_shape=None, kwargs=None, batch=None, flat: bool = False,
                  allow_unsupported: bool = False, progress=None) -> tuple[str, "ImportedModel"]:  # noqa: F821
    """Import ``source`` and write its spec: ``(YAML text, ImportedModel)``, what ``convcalc import`` prints.

    The flat form is checked first, layer by layer, so that an error (say, an ``--input`` too small for a kernel)
    names the layer and its origin, with the hint that ``convcalc import SOURCE`` prints the spec. The header
    names the command that makes this text (:func:`convcalc.importers.writer.import_command`)."""
    from .writer import check_layers, import_command, write_spec

    if progress is not None:  # reading, mapping (the frontend adds its traced nodes), checking, writing
        progress.expect(IMPORT_STAGES)
        progress.advance(0, f"reading {source}")
    model = import_model(source, input_shape, kwargs, batch, allow_unsupported, progress)
    command = import_command(source, input_shape, kwargs, flat, allow_unsupported, batch)
    if progress is not None:
        progress.advance(1, f"checking {len(model.layers)} layers")
    check_layers(model, command)
    if progress is not None:
        progress.advance(1, "writing the spec")
    text = write_spec(model, flat=flat, command=command)
    if progress is not None:
        progress.advance(1)
    return text, model


#: the stages of an import a progress bar counts besides the nodes a frontend traces: the frontend's reading and
#: mapping, the layer check, the writing
IMPORT_STAGES = 4


def load_imported(source: str, input_shape=None, kwargs=None, allow_unsupported: bool = False, progress=None):
    """Import ``source`` and load it as a spec, in memory: ``(Network, ImportedModel)``.

    The network is the spec ``convcalc import`` writes (blocks and all, :func:`imported_spec`), so the analysis
    equals that of the written file."""
    from ..spec.yamlio import load_yaml

    text, model = imported_spec(source, input_shape, kwargs, allow_unsupported=allow_unsupported, progress=progress)
    return Network(load_yaml(text, source), source), model


def load_network(spec: str, input_shape=None, allow_unsupported: bool = False, warn=None, progress=None):
    """What every spec command loads: a spec (path, shipped name, YAML text) or an import source, as a
    :class:`~convcalc.spec.loader.Network`. ``input_shape`` is given to the frontend of an import source (it fixes
    dynamic dims; a spec applies it when expanded). The frontend's warnings go to ``warn`` (default: stderr)."""
    if not is_import_source(spec):
        return load(spec)
    network, model = load_imported(spec, input_shape, allow_unsupported=allow_unsupported, progress=progress)
    for sentence in model_warnings(model):
        (warn or print_warning)(sentence)
    return network


def model_warnings(model) -> list[str]:
    """What the user must hear about an import, each sentence naming the source: the frontend's warnings and the
    placeholders kept for operators with no layer kind."""
    sentences = list(model.warnings)
    if model.unsupported:
        sentences.append(placeholders_sentence(model.unsupported))
    return [f"{model.source}: {sentence}" for sentence in sentences]


def print_warning(sentence: str) -> None:
    """``warning: …`` on stderr."""
    import sys

    print(f"warning: {sentence}", file=sys.stderr)


def placeholders_sentence(records) -> str:
    """What ``--allow-unsupported`` did, in one sentence: ``2 operators with no layer kind kept as zero-cost
    `unsupported` placeholders (CumSum ×1, …)``."""
    total = sum(record.count for record in records)
    ops = ", ".join(f"{record.op} ×{record.count}" for record in records)
    return (f"{total} operator{'s' if total != 1 else ''} with no layer kind kept as zero-cost `unsupported` "
            f"placeholder{'s' if total != 1 else ''} ({ops}): the counts leave out their cost")
