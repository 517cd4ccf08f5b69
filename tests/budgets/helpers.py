"""Shared by the tests of convcalc.budgets (and cited by tests/commands/test_check.py).

The fixture network (tests/fixtures/check/tiny.yaml), worked out by hand. Input 3×32×32, batch 1, float32
(4 bytes), no bias except fc:

=====  ===================  ==============================  =========  ===============================  =====
layer  output               params                          MACs       activation bytes                 RF
=====  ===================  ==============================  =========  ===============================  =====
conv1  16×32×32 (k3 p1)     16·3·3·3 = 432                  432·1024   16·1024·4 = 65,536               3
                                                            = 442,368
relu1  16×32×32             0                               0          65,536                           3
conv2  32×16×16 (k3 s2 p1)  32·16·3·3 = 4,608               4,608·256  32·256·4 = 32,768                3+2·1 = 5
                                                            = 1,179,648
relu2  32×16×16             0                               0          32,768                           5
pool   32×1×1 (global)      0                               0          128                              5+15·2 = 35
flat   32                   0                               0          128                              35
fc     10                   32·10 + 10 = 330                320        40                               35
=====  ===================  ==============================  =========  ===============================  =====

Totals: params 432 + 4,608 + 330 = 5,370; MACs 442,368 + 1,179,648 + 320 = 1,622,336; activation bytes
65,536·2 + 32,768·2 + 128·2 + 40 = 196,904; weight bytes 5,370·4 = 21,480. FLOPs: 2·442,368 + 16,384 (relu1)
+ 2·1,179,648 + 8,192 (relu2) + 32·256 (global average: 256 adds/divide per channel) + 2·320 + 10 = 3,277,450.
Peak of live activations: while relu1 runs, conv1's output (65,536) and relu1's (65,536) are alive, the input
(12,288) is already freed after conv1: 131,072 = 128 KiB.
"""

from __future__ import annotations

from pathlib import Path

from convcalc.budgets.evaluate import evaluate
from convcalc.budgets.kinds import Budget
from convcalc.budgets.parse import parse_section
from convcalc.spec.yamlio import load_yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def section(text: str, filename: str = "b.yaml") -> list[Budget]:
    """The budgets of a ``budgets:`` section written as YAML text."""
    return parse_section(load_yaml(text, filename), "test")


def one(report, text: str, baseline=None):
    """The result of the one budget in ``text``."""
    (result,) = evaluate(report, section(text), baseline)
    return result
