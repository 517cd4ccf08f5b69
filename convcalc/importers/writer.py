"""The spec of an imported model: YAML a person can read, which expands to exactly the imported layers.

:func:`write_spec` writes an :class:`~convcalc.importers.ir.ImportedModel` as a spec (docs/spec.md): a header
comment (the source, the input shape, the convcalc version, the command that made it), ``name``, ``input``, then
the layers, one flow mapping per line, in the model's order and with the model's own names::

    - {type: conv, name: layer1.0.conv1, out: 64, kernel: 1, bias: false}

every layer named (the names map the model's weights), ``inputs:`` written only when a layer does not read the
previous one. With ``flat=False`` repeated
structures become ``blocks`` called with arguments and ``repeat`` (:mod:`convcalc.importers.blocks` finds them);
the result is expanded again and compared with the model node by node, and any part that does not expand to
exactly its layers is written flat instead, so the spec is always the model.

:func:`check_layers` analyses the flat spec once and turns any error into one the user can act on: the layer's
name and origin, and the command that prints the spec (the generated text is never shown to them).
"""

from __future__ import annotations

from ..compare.yamlwrite import yaml_scalar
from .spec_text import Expr, flow, layer_item, value_text  # noqa: F401 (Expr: re-exported)


def header(model, command: str | None) -> list[str]:
    """The comment lines at the top: what was imported, with which input, by which convcalc, by which command."""
    from .. import __version__
    shape = "x".join(str(n) for n in model.input_shape)
    lines = [f"# {model.name}, imported from {model.source} by convcalc {__version__}",
             f"# input {shape} (per sample, channels first); made by: {command or import_command(model.source)}"]
    if model.unsupported:
        ops = ", ".join(f"{record.op} ×{record.count}" for record in model.unsupported)
        lines.append(f"# unsupported operators, kept as zero-cost `unsupported` placeholders: {ops}")
    lines += [f"# warning: {sentence}" for sentence in model.warnings]
    return lines


def top(model) -> list[str]:
    """``name``, ``input`` and (when not 1) ``batch``."""
    lines = [f"name: {yaml_scalar(model.name)}", f"input: {value_text(list(model.input_shape))}"]
    if model.batch != 1:
        lines.append(f"batch: {model.batch}")
    return lines


def flat_lines(model) -> tuple[list[str], list[int]]:
    """The ``layers:`` section, one line per layer, and the index of each layer's line in it."""
    lines, at = ["layers:"], []
    previous = "input"
    for layer in model.layers:
        inputs = None if list(layer.inputs) == [previous] else list(layer.inputs)
        at.append(len(lines))
        lines.append("  - " + flow(layer_item(layer.kind, layer.name, layer.fields, inputs)))
        previous = layer.name
    return lines, at


def flat_spec(model, command: str | None = None) -> tuple[str, dict]:
    """The flat spec and the layer written on each line (1-based line number → ImportedLayer)."""
    head = header(model, command) + top(model)
    body, at = flat_lines(model)
    where = {len(head) + index + 1: layer for index, layer in zip(at, model.layers)}
    return "\n".join(head + body) + "\n", where


def write_spec(model, flat: bool = False, command: str | None = None) -> str:
    """The spec of ``model`` as YAML text (see the module docstring). ``command`` is the command line the header
    names (default: the plain ``convcalc import SOURCE``)."""
    text = flat_spec(model, command)[0]
    if flat:
        return text
    from .blocks import block_spec

    return block_spec(model, header(model, command) + top(model), text)


def import_command(source: str, input_shape=None, kwargs=None, flat: bool = False,
                   allow_unsupported: bool = False, batch: int | None = None) -> str:
    """The ``convcalc import`` command line that prints the spec of ``source`` (for headers and hints)."""
    import shlex

    words = ["convcalc", "import", source]
    if input_shape is not None:
        words += ["--input", "x".join(str(n) for n in input_shape)]
    if batch is not None:
        words += ["--batch", str(batch)]
    if kwargs:
        words += ["--kwargs", *(f"{key}={value!r}" if not isinstance(value, str) else f"{key}={value}"
                                for key, value in kwargs.items())]
    if flat:
        words.append("--flat")
    if allow_unsupported:
        words.append("--allow-unsupported")
    return shlex.join(words)


# ---- errors that name the layer ---------------------------------------------------------------------------------
def check_layers(model, command: str | None = None) -> None:
    """Expand and analyse the flat spec of ``model``; a :class:`SpecError` names the layer it is about and its
    origin (``Conv node '/layer1/…'``) instead of a line of the generated text, and says how to see that text."""
    from ..cost.analysis import analyze
    from ..errors import SpecError
    from ..spec.loader import Network
    from ..spec.yamlio import load_yaml

    text, where = flat_spec(model, command)
    try:
        analyze(Network(load_yaml(text, model.source), model.source).expand())
    except SpecError as err:
        raise located(err, model, where, command) from None


def located(err, model, where: dict, command: str | None):
    """``err`` (raised by the spec generated from ``model``) told in the model's terms."""
    from ..errors import SpecError

    see = f"`{command or import_command(model.source)}` prints the spec it was read as"
    hint = f"{err.hint}; {see}" if err.hint else see
    layer = where.get(err.mark.line) if err.mark is not None and err.mark.file == model.source else None
    if layer is None:
        return SpecError(f"{model.source}: {err.message}", None, hint)
    message = err.message
    prefix = f"layer `{layer.name}` ({layer.kind}): "
    if message.startswith(prefix):
        message = message[len(prefix):]
    origin = f" ({layer.origin})" if layer.origin else ""
    return SpecError(f"{model.source}: layer `{layer.name}`{origin}: {message}", None, hint)
