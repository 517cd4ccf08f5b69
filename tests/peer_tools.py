"""Run the peer tools (fvcore, ptflops, thop, torchinfo) on a torch model built from a spec by tests/torch_build.py:
the witnesses of ``--convention`` (tests/cost/test_peers_torch.py, docs/flops.md "Peers' conventions").

Each runner returns ``(count, params)`` as the tool prints them, silenced (the tools print and warn freely).
``ptflops_rule`` runs ptflops with its module hooks only (``count_functional=False``), the rule convcalc follows
by default; ``ptflops`` as it runs by default, whose patched functionals double-count (``--with-bugs``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings


@contextlib.contextmanager
def quiet():
    """The tools' prints, warnings and log messages, swallowed."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def fvcore(model, x):
    from fvcore.nn import FlopCountAnalysis, parameter_count

    with quiet():
        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return int(analysis.total()), parameter_count(model)[""]


def _ptflops(model, x, functional: bool):
    from ptflops import get_model_complexity_info

    with quiet():
        macs, params = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                 print_per_layer_stat=False, backend="pytorch",
                                                 backend_specific_config={"count_functional": functional})
    return int(macs), int(params)


def ptflops(model, x):
    return _ptflops(model, x, True)


def ptflops_rule(model, x):
    return _ptflops(model, x, False)


def thop(model, x):
    from thop import profile

    with quiet():
        ops, params = profile(model, (x,), verbose=False)
    return int(ops), int(params)


def torchinfo(model, x):
    from torchinfo import summary

    with quiet():
        stats = summary(model, input_data=x, verbose=0)
    return int(stats.total_mult_adds), int(stats.total_params)


#: peer → its runner (the rule convcalc follows by default) and the runner of what it prints by default (None:
#: the same)
RUNNERS = {"fvcore": (fvcore, None), "ptflops": (ptflops_rule, ptflops), "thop": (thop, None),
           "torchinfo": (torchinfo, None)}
