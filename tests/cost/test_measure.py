"""`convcalc device measure`'s kernels (convcalc/cost/measure.py; docs/roofline.md, "Measuring a profile")."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.cost.measure import gemv_shape, gemv_stack, vector_rate


@pytest.mark.parametrize("dtype, shape", [("float32", (128, 256)), ("float64", (64, 256))])
def test_the_vector_ceilings_matrix_is_128_kib(dtype, shape):
    # 128 · 256 · 4 B = 64 · 256 · 8 B = 131,072 B = 128 KiB: half of a 256 KiB L2
    assert gemv_shape(dtype) == shape


def test_the_gemv_stack_is_one_matrix_seen_many_times():
    stack, x, y = gemv_stack(np, "float32", 1 << 25)
    # 2^25 FLOPs / (2 · 128 · 256 FLOPs per product) = 512 products of the same A (stride 0: it stays in cache)
    assert stack.shape == (512, 128, 256) and stack.strides == (0, 1024, 4)
    assert x.shape == (256,) and y.shape == (512, 128)
    np.matmul(stack, x, out=y)
    expected = stack[0].astype(np.float64) @ x.astype(np.float64)
    assert np.allclose(y[0], expected, rtol=1e-4, atol=1e-3) and np.allclose(y[511], expected, rtol=1e-4, atol=1e-3)
    float64, _, _ = gemv_stack(np, "float64", 1 << 21)
    assert float64.shape == (64, 64, 256)  # 2^21 / (2 · 64 · 256) = 64 products


def test_the_vector_rate_is_a_positive_rate():
    assert vector_rate(np, "float32", 1 << 19, 3) > 0


def test_the_blas_is_named_with_its_running_core(monkeypatch):
    from convcalc.cost.measure import blas_info

    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    info = blas_info(np)
    assert set(info) == {"library", "version", "core", "config", "coretype_env"} and info["coretype_env"] is None
    assert info["core"] is None or isinstance(info["core"], str)  # None when NumPy's BLAS is not OpenBLAS
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert blas_info(np)["coretype_env"] == "Haswell"  # read at the call: OpenBLAS read it when it loaded


def test_the_blas_sentence_says_what_chose_the_kernels():
    from convcalc.cost.measure import blas_sentence, coretype_note

    own = {"library": "scipy-openblas", "version": "0.3.31.188.0", "core": "SkylakeX", "coretype_env": None}
    assert blas_sentence(own) == ("scipy-openblas 0.3.31.188.0, kernels of core SkylakeX (chosen by OpenBLAS for "
                                  "this CPU)")
    assert coretype_note(own) is None
    capped = dict(own, core="Haswell", coretype_env="Haswell")
    assert blas_sentence(capped) == ("scipy-openblas 0.3.31.188.0, kernels of core Haswell (chosen by "
                                     "OPENBLAS_CORETYPE=Haswell in the environment)")
    note = coretype_note(capped)
    assert note.startswith("OPENBLAS_CORETYPE=Haswell is set in the environment: NumPy's OpenBLAS runs the kernels "
                           "of core Haswell") and "unset it" in note
    assert blas_sentence({"library": None, "version": None, "core": None, "coretype_env": None}) == "NumPy's BLAS"
    assert blas_sentence({"library": "accelerate", "version": None, "core": None, "coretype_env": None}) == "accelerate"
