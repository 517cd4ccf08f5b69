"""What every command shares: loading a spec with the common options, option values parsed the same way, and
turning bad input into ``error: FILE:LINE:COL: message — hint`` with exit code 2.

Imported by the fast ``analyze`` path, the Typer app and every command, so it imports neither Typer nor them, and
nothing heavy at module level.
"""

from __future__ import annotations

import sys

from ..render.emitters import no_color, use_color

__all__ = ["expand", "no_color", "overrides", "parse_at", "parse_kwargs", "report_error", "user_errors"]


def report_error(err) -> None:
    """``error: FILE:LINE:COL: message — hint`` on stderr, red on a colour terminal, wrapped to a terminal's width
    (:func:`convcalc.render.width.write_message`); one line per problem when the error holds several (every bad
    budget of a spec)."""
    from ..render.width import write_message

    for one in getattr(err, "errors", [err]):
        write_message(str(one), sys.stderr, "\x1b[31merror:\x1b[0m " if use_color(sys.stderr) else "error: ")


class user_errors:  # a lower-case name: used as `with user_errors():`, as the function it replaces was
    """Bad input → ``FILE:LINE:COL: message — hint`` on stderr and exit code 2, never a traceback. (A class, not
    ``@contextlib.contextmanager``: the fast analyze path imports this module, and contextlib costs 0.4 ms.)"""

    def __enter__(self):
        return self

    def __exit__(self, kind, err, traceback):
        from ..errors import SpecError

        if isinstance(err, SpecError):
            report_error(err)
            raise SystemExit(2) from None
        return False


def overrides(values: list[str] | None) -> dict:
    """``--set NAME=VALUE`` options as a dict of var overrides."""
    from ..spec.loader import parse_override

    return dict(parse_override(v) for v in values or [])


def expand(spec: str, batch: int | None, input_shape: str | None, sets: list[str] | None,
           allow_unsupported: bool = False):
    """Load and expand a spec or an import source (`model.onnx`, imported in memory) with the common options
    (--batch, --input, --set, --allow-unsupported)."""
    from ..spec.loader import is_import_source, load, parse_input_override

    def shape():
        return parse_input_override(input_shape) if input_shape is not None else None

    if is_import_source(spec):  # the frontend needs the input shape (it fixes dynamic dims)
        from ..importers.source import load_network

        from ..render.progress import Progress

        given = shape()
        with Progress(0, "import") as progress:  # a large model takes seconds to trace: a bar on a terminal
            network = load_network(spec, given, allow_unsupported, progress=progress)
    else:
        network = load(spec)
        given = shape()
    return network.expand(overrides(sets), input_shape=given, batch=batch)


def parse_at(text: str | None) -> tuple[int, ...] | None:
    """``--at 3,5`` (or ``3x5``): an output position, one index per spatial axis."""
    from ..errors import SpecError

    from ..limits import shorten, whole_number

    if text is None:
        return None
    parts = [part.strip() for part in text.replace("x", ",").split(",") if part.strip() != ""]
    try:
        if len(parts) > 3:
            raise ValueError
        return tuple(whole_number(part, "--at", shown=text) for part in parts)
    except ValueError:
        raise SpecError(f"--at `{shorten(text)}` is not a list of integers (one to three)", None,
                        "write e.g. --at 3,5") from None


def parse_kwargs(values: list[str] | None) -> dict:
    """``--kwargs KEY=VALUE`` options (the keyword arguments of a PyTorch source's callable) as a dict: each value
    a Python literal (``10``, ``0.5``, ``True``, ``None``, ``[1, 2]``, ``'text'``) read by ``ast.literal_eval``,
    else the text as it is (``--kwargs weights=DEFAULT``)."""
    import ast

    from ..errors import SpecError

    out: dict = {}
    for text in values or []:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SpecError(f"--kwargs `{text}` is not KEY=VALUE with KEY a Python name", None,
                            "write e.g. --kwargs num_classes=10")
        if key in out:
            raise SpecError(f"--kwargs `{key}` is given twice", None, "give each keyword once")
        try:
            out[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            out[key] = value
    return out
