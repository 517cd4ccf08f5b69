"""Work in worker processes, read back in order: what ``convcalc sweep --jobs N`` runs on
(:func:`convcalc.compare.sweep.run_points`).

The standard library does the scheduling (:class:`concurrent.futures.ProcessPoolExecutor`); this module only
feeds it. Each worker receives a ``state`` once, through the pool's initializer (for a sweep: the parsed
:class:`~convcalc.spec.loader.Network`, so the spec is read once in all), then tasks ``work(state, chunk,
*args)``. The results come back in the order of the chunks, whichever worker finishes first, and only a few
chunks per worker are in flight at a time, so memory does not grow with the number of chunks (``--format jsonl``
streams 10^7 points).

Workers are forked from a single-threaded process (the command line), else started by ``forkserver`` or
``spawn`` (:func:`_context` says why). They ignore Ctrl-C: the parent stops the pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator

#: the most points a sweep task carries: about 50 ms of MobileNet (3 ms a point), so the cost of a task (pickling
#: a chunk and its results, well under 1 ms) stays below 1 %, and Ctrl-C, a failing point or a closed pipe
#: (``| head``) stops the run within a chunk or two (the running tasks finish first)
MAX_CHUNK = 16
#: tasks in flight per worker: enough that a worker never waits for its next one
AHEAD = 4

_state = None  # the worker's copy of the state (set once per process by _start_worker)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's limit), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def chunk_size(items: int, workers: int) -> int:
    """Items per task: about eight tasks per worker over the whole, 1 to :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, items // (workers * 8)))


def _context():
    """``fork`` when this process runs a single thread (the command line): cheapest to start, and nothing to
    re-import. With other threads alive (a dask client, a notebook's helpers) a fork can copy a lock some thread
    holds and deadlock, so then ``forkserver`` (or ``spawn`` where there is none), which start clean workers that
    import the caller's main module (a script then needs the usual ``if __name__ == "__main__":`` guard)."""
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _start_worker(state) -> None:
    global _state
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state = state


def _task(work: Callable, chunk, args: tuple):
    return work(_state, chunk, *args)


def ordered_map(work: Callable, state, chunks: Iterable, args: tuple = (), workers: int = 2) -> Iterator:
    """``work(state, chunk, *args)`` for each of ``chunks`` (read lazily) in ``workers`` processes, yielded in the
    order of the chunks. ``work`` is a module-level function (it is pickled by name); ``state`` is sent to each
    worker once. Stopping early (an exception, ``close()``) cancels the chunks not started and waits for the
    running ones."""
    chunks = iter(chunks)
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_start_worker, initargs=(state,))
    try:
        pending: deque = deque()

        def submit() -> None:
            for chunk in chunks:
                pending.append(pool.submit(_task, work, chunk, args))
                if len(pending) >= workers * AHEAD:
                    return

        submit()
        while pending:
            result = pending.popleft().result()
            submit()
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
