"""convcalc.records: the analysis's classes are dataclasses in every way that shows, without importing dataclasses
at start-up (the ``__init__``, repr, ``==`` and hash of ``@dataclass``; dataclasses' functions work on them)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import ClassVar

import pytest

from convcalc.records import as_dict, field, field_names, record, replace


@record
class Point:
    x: int
    y: int = 2
    tags: list = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)
    kind: ClassVar[str] = "point"


@record(frozen=True)
class Frozen:
    a: int
    b: tuple = field(default=())


@dataclasses.dataclass
class PointDC:
    x: int
    y: int = 2
    tags: list = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", compare=False, repr=False)


def test_init_repr_eq_and_hash_are_a_dataclass_s():
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note) == (1, 2, [], "")
    assert Point(1, 3, [4], note="n") == Point(x=1, y=3, tags=[4])  # `note` is not compared
    assert Point(1) != Point(2)
    assert repr(Point(1, tags=[5], note="hidden")) == "Point(x=1, y=2, tags=[5])"
    assert repr(PointDC(1, tags=[5], note="hidden")) == "PointDC(x=1, y=2, tags=[5])"
    assert Point.__hash__ is None and PointDC.__hash__ is None
    assert Point(1).tags is not Point(1).tags  # a factory per instance
    assert Point.kind == "point" and field_names(Point) == ["x", "y", "tags", "note"]
    with pytest.raises(TypeError):
        Point()  # `x` is required


def test_frozen_records_refuse_assignment_and_hash_by_value():
    f = Frozen(1)
    with pytest.raises(AttributeError):
        f.a = 2
    assert hash(Frozen(1, (2,))) == hash(Frozen(1, (2,))) and Frozen(1) == Frozen(1)


def test_post_init_runs():
    @record
    class Checked:
        n: int

        def __post_init__(self):
            if self.n < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError):
        Checked(-1)


def test_dataclasses_functions_work_on_records():
    p = Point(1, 3, [4])
    assert dataclasses.is_dataclass(p) and dataclasses.is_dataclass(Point)
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags", "note"]
    assert dataclasses.asdict(p) == {"x": 1, "y": 3, "tags": [4], "note": ""} == as_dict(p)
    assert dataclasses.replace(p, y=9) == Point(1, 9, [4]) == replace(p, y=9)
    assert Point(1) == Point(1) and repr(Point(1)) == "Point(x=1, y=2, tags=[])"  # unchanged once processed
    frozen = dataclasses.replace(Frozen(1), b=(3,))
    assert frozen == Frozen(1, (3,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.a = 2


def test_the_analyze_path_imports_no_dataclasses():
    code = ("import sys, io, contextlib; from convcalc.cli.commands.analyze import analyze\n"
            "with contextlib.redirect_stdout(io.StringIO()): analyze(spec='resnet50')\n"
            "print(sorted(m for m in ('dataclasses', 'inspect', 'yaml', 'numpy') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k != "CONVCALC_YAML"}  # the default reader (no PyYAML)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.strip() == "[]"
