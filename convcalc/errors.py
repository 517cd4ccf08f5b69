"""User-facing errors.

Every problem with a spec becomes a :class:`SpecError` that knows where it is (file, line, column, 1-based) and
renders as ``FILE:LINE:COL: what is wrong — how to fix it``. The CLI prints it to stderr and exits with code 2;
internal errors are not caught and keep their traceback.
"""

from __future__ import annotations

from collections import namedtuple


class Mark(namedtuple("Mark", ("file", "line", "col"))):
    """A position in a spec file: ``file`` (str), ``line`` and ``col`` (ints, 1-based). (A named tuple: a
    10,000-layer spec makes tens of thousands of them, and a tuple is built several times faster than a frozen
    dataclass; ``collections.namedtuple``, not ``typing.NamedTuple``, because importing typing costs start-up.)"""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class LazyMark:
    """The mark of ``owner[key]`` (a parsed mapping's value), looked up only when read. A spec expands into tens
    of thousands of field values, each carrying its mark for an error message that almost never comes."""

    __slots__ = ("_owner", "_key")

    def __init__(self, owner, key):
        self._owner, self._key = owner, key

    def resolve(self) -> Mark:
        return self._owner.mark_of(self._key)

    @property
    def file(self) -> str:
        return self.resolve().file

    @property
    def line(self) -> int:
        return self.resolve().line

    @property
    def col(self) -> int:
        return self.resolve().col

    def __str__(self) -> str:
        return str(self.resolve())


def real_mark(mark):
    """A :class:`Mark` (or None) from a Mark, a :class:`LazyMark` or None."""
    return mark.resolve() if type(mark) is LazyMark else mark


def shorten(text: str, keep: int = 40) -> str:
    """Text as an error message echoes it: whole when short; else ``12345…(5000 digits)`` for a long run of
    digits, ``first characters…(N characters)`` for anything else."""
    text = str(text)
    if len(text) <= keep:
        return text
    sign = text[:1] if text[:1] in ("+", "-") else ""
    body = text[len(sign):]
    if body.isascii() and body.isdigit():
        return f"{sign}{body[:5]}…({len(body):,} digits)"
    return f"{text[:keep - 10]}…({len(text):,} characters)"


def escaped(text: str) -> str:
    """Text with every character a terminal would act on (escapes, controls, other spaces than " ") written as a
    Python-style escape, ``\\x1b[31m``, so that a message can show a hostile name without the terminal obeying it."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def check_name(name: str, mark, what: str, example: str, spaces: bool = False) -> str:
    """``name`` unchanged when it is printable (and, unless ``spaces``, without spaces); else a :class:`SpecError`
    at ``mark`` showing it escaped. The one check of every name a spec gives: the network's ``name:``, block names,
    layer names. ``what`` is ``a layer name``; ``example`` a valid one."""
    if name.isprintable() and (spaces or " " not in name):  # isprintable() is false for every other space, control
        return name
    kinds = "control characters" if spaces else "spaces or control characters"
    raise SpecError(f"{what} cannot contain {kinds}, got `{escaped(shorten(name, 80))}`", mark,
                    f"use letters, digits, `_`, `-` and `.`, e.g. `{example}`")


_QUOTED_KEEP = 120  # a `quoted` span of a long message longer than this is echoed shortened
_MESSAGE_KEEP = 2000  # and no message is longer than about this


def bounded_text(text: str | None) -> str | None:
    """A message with any long `quoted` span shortened, and at most about 2,000 characters: a key, a name or a
    value of a megabyte is echoed by its start and size wherever a message quotes it."""
    if text is None or len(text) <= 300:
        return text
    import re

    text = re.sub(r"`([^`]{%d,})`" % (_QUOTED_KEEP + 1), lambda m: f"`{shorten(m.group(1), _QUOTED_KEEP)}`", text)
    return text if len(text) <= _MESSAGE_KEEP else shorten(text, _MESSAGE_KEEP)


class SpecError(Exception):
    """A problem with the user's spec or command line, with its position and a hint on how to fix it. The message
    and hint are bounded (:func:`bounded_text`), whatever input they echo."""

    def __init__(self, message: str, mark: Mark | None = None, hint: str | None = None):
        message, hint = bounded_text(message), bounded_text(hint)
        super().__init__(message)
        self.message = message
        self.mark = real_mark(mark)
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        fix = f" — {self.hint}" if self.hint else ""
        return f"{where}{self.message}{fix}"


class SpecErrors(SpecError):
    """Several problems found in one pass (every bad budget of a section), each a :class:`SpecError` with its
    position: the user fixes them all in one go. It reads as the first (its message, mark and hint); ``errors``
    holds them all, and ``partial`` what was read without a problem (the budgets that parsed)."""

    def __init__(self, errors: list, partial=None):
        first = errors[0]
        super().__init__(first.message, first.mark, first.hint)
        self.errors, self.partial = list(errors), partial

    def __str__(self) -> str:
        return "\n".join(SpecError.__str__(error) for error in self.errors)


def every_error(error: SpecError) -> list:
    """The problems an error stands for: those of a :class:`SpecErrors`, else the error itself."""
    return list(getattr(error, "errors", [error]))


#: where the layer kinds are listed, for a hint about an unknown kind
KINDS_LISTING = "run `convcalc explain --list` for the valid kinds"


def did_you_mean(word: str, choices, listing: str | None = None) -> str:
    """A ``did you mean `x`?`` suffix for an unknown name, or the valid names when nothing is close: all of them
    when there are few, else ``listing`` (where to find them) or a few examples."""
    import difflib  # only on the error path

    # only names can be suggested: a key that is not text (a YAML null or number) is an error of its own elsewhere,
    # and it would not sort with the others
    choices = sorted({choice for choice in choices if isinstance(choice, str)})
    if not choices:
        return "none are accepted here"
    # a hostile word (a megabyte of text) is close to nothing, and comparing it would cost
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6) if len(word) <= 200 else []
    if close:
        return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    if len(choices) <= 12:
        return "expected one of: " + ", ".join(f"`{c}`" for c in choices)
    if listing:
        return listing
    examples = ", ".join(f"`{c}`" for c in choices[:5])
    return f"none of the {len(choices)} names is close; they include {examples}, …"
