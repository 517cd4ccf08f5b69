"""``convcalc sweep``: analyse a spec over the Cartesian product of var values (width, resolution, depth …), in
one process or ``--jobs N``. Rendered by :mod:`convcalc.render.sweep`; ``--format jsonl`` streams the points."""

from __future__ import annotations


def sweep(spec: str, sets: list[str] | None = None, format: str = "table", batch: int | None = None,
          input: str | None = None, units: str = "auto", chart: bool = True, jobs: int | str = 1,
          plot: str | None = None, width: int | None = None, wide: bool = False) -> int:
    """Params, MACs and FLOPs over a grid of var values.

    \b
    Lists multiply out (Cartesian product). The table shows every point, a pivot of MACs and params when two
    vars are swept, a scatter of MACs against params and how each count scales with each var. --format jsonl
    writes one JSON object per point as it is computed; --jobs N spreads the points over N processes.

    \b
    Examples:
      convcalc sweep mobilenet_v2 --set alpha=0.25,0.5,0.75,1.0
      convcalc sweep mobilenet_v2 --set alpha=0.5,1.0 --set num_classes=10,1000 --format csv
      convcalc sweep deeplabv3_resnet50 --set resolution=256,384,520 --jobs auto --format jsonl
    """
    from ...compare.sweep import parse_sweep_sets, stream_points, sweep as run_sweep, worker_count
    from ...errors import SpecError
    from ...render.emitters import emit
    from ...render.width import resolve_width
    from ...render.sweep import SweepStream, SweepView

    if plot is not None:  # before any work
        from ...render.charts import check_plot_target

        if format != "jsonl":
            check_plot_target(plot)
        else:  # streamed point by point: there is no whole grid to draw
            raise SpecError("--plot draws the whole grid; --format jsonl streams it", None,
                            "use another --format with --plot")
    from ...spec.loader import parse_input_override

    workers = worker_count(jobs)
    shape = parse_input_override(input) if input is not None else None
    axes, fixed = parse_sweep_sets(sets or [])
    if not axes:
        raise SpecError("nothing to sweep", None, "give at least one var with two or more values: "
                                                  "--set alpha=0.5,1.0")
    from ...compare.sweep import counted
    from ...render.progress import Progress

    with Progress(0, "sweep") as progress:  # per point, on a terminal's stderr
        if format != "jsonl":
            result = run_sweep(spec, axes, fixed, batch, workers, shape, progress)
            progress.close()
            emit(SweepView(result, units, chart), format, width=resolve_width(width, wide))
            if plot is not None:
                from ...render.charts import write_plot
                from ...render.figures import sweep_chart

                write_plot(sweep_chart(result), plot)
            return 0
        checked, points = stream_points(spec, axes, fixed, batch, workers, shape)
        try:
            emit(SweepStream(counted(checked, points, progress)), format)
        except BrokenPipeError:  # `convcalc sweep … -f jsonl | head`: the reader has what it wanted
            _quiet_stdout()
        finally:
            points.close()  # stops the worker processes at once
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not complain about the closed pipe
    (the recipe of the Python docs, "Note on SIGPIPE")."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's captured output)
        pass
