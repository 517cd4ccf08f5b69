"""Smoke test: the flagship config reproduces torchvision's published numbers."""

import convcalc


def test_resnet50_totals():
    report = convcalc.analyze(convcalc.load("resnet50"))
    assert report.totals.params == 25_557_032
    assert report.totals.macs == 4_089_184_256
