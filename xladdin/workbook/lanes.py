"""Where the weekly compute's second lane runs (:data:`xladdin.workbook.weekly.SIDE_STEPS`: the dashboard,
then the crowding sheet): a forked copy of this process, or a thread of it.

The steps hold Python's lock for most of their work, so a thread beside the main lane shares one core with
it; a forked child (Linux) has its own interpreter and runs on the other core. The child inherits the run's
context (the market, the parameters, the shared views) without copying it, computes the side steps with the
same functions, sends their outcomes, the results they write for the cover and the tables they mark stale
back through a pipe (pickled: about 10 MB on the full-scale sample), and exits. The tables are the same in
either lane (tested); a child that ends without sending them (killed, out of memory) has its steps computed
again in this process, with a warning.
"""
from __future__ import annotations

import contextvars
import logging
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

log = logging.getLogger("xladdin.workbook")

#: the second lane's kinds: "process" (a forked child; Linux only), "thread", or "auto" (:func:`lane_kind`)
LANE_KINDS = ("auto", "process", "thread")


@dataclass
class Outcome:
    """What one step gave: its tables, a note for each table it could not compute (a missing input
    table), or an error (a bug or a bad parameter: the run stops, naming the table); its wall time."""

    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    error: Any = None  # a WeeklyError
    seconds: float = 0.0


Attempt = Callable[[Any, Any, dict], Outcome]


def lane_kind(kind: str = "auto") -> str:
    """The kind of second lane to start: ``kind`` itself unless "auto", which is "process" on Linux when this
    process runs no other Python thread (a fork copies only the calling thread: another thread's locks would
    stay taken in the child), else "thread"."""
    if kind not in LANE_KINDS:
        raise ValueError(f"the compute lane must be one of {', '.join(LANE_KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    if sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1:
        return "process"
    return "thread"


class ThreadLane:
    """The side steps in a thread of this process, inside the caller's context (its shared scope)."""

    def __init__(self, ctx: Any, steps: list, attempt: Attempt):
        self.outcomes: dict[str, Outcome] = {}
        self.steps, self.attempt = steps, attempt
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run, ctx),
                                       name="xladdin-compute", daemon=True)
        self.thread.start()  # RuntimeError where threads cannot start

    def _run(self, ctx: Any) -> None:
        for step in self.steps:
            self.outcomes[step.name] = self.attempt(ctx, step, {})

    def join(self) -> dict[str, Outcome]:
        self.thread.join()
        return self.outcomes

    def cancel(self) -> None:
        """Nothing to stop: a daemon thread ends with the process."""


class ProcessLane:
    """The side steps in a forked child process (see the module's docstring)."""

    def __init__(self, ctx: Any, steps: list, attempt: Attempt):
        self.ctx, self.steps, self.attempt = ctx, steps, attempt
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            # Python >= 3.12 warns on fork() when native threads (Arrow's, OpenBLAS's pools) exist: both
            # libraries re-create their pools in a forked child, and the child runs only the steps below
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()  # OSError (no memory for the page tables, process limit): the caller uses a thread
        if pid == 0:
            self._child(read_end, write_end)  # never returns
        os.close(write_end)
        self.pid, self.fd = pid, read_end

    def _child(self, read_end: int, write_end: int) -> None:
        """Run the steps, send what they gave, exit: never return into the parent's frames (their ``finally``
        blocks, e.g. the job's staging cleanup, belong to the parent)."""
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent stops the run
            payload = pickle.dumps(self._run(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            code = 0
        except BaseException:  # noqa: BLE001 - reported by the parent (no tables came), which recomputes them
            pass
        finally:
            os._exit(code)

    def _run(self) -> tuple[dict, dict, dict]:
        outcomes = {}
        for step in self.steps:
            outcome = self.attempt(self.ctx, step, {})
            outcomes[step.name] = (outcome.tables, outcome.notes, _portable_error(outcome.error), outcome.seconds)
        results = {name: getattr(self.ctx.results, name) for step in self.steps for name in step.writes}
        return outcomes, results, dict(self.ctx.stale)

    def join(self) -> dict[str, Outcome]:
        """The side steps' outcomes; the results they write and the tables they mark stale are set on the
        caller's context as the thread lane would have left them."""
        fd, self.fd = self.fd, None  # closed below: a later cancel() must not close the number again (reused)
        with os.fdopen(fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if status != 0 or not payload:
            how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit status {os.WEXITSTATUS(status)}")
            log.warning("the second compute process ended without its tables (%s); computing %s here", how,
                        ", ".join(s.name for s in self.steps))
            return {step.name: self.attempt(self.ctx, step, {}) for step in self.steps}
        outcomes, results, stale = pickle.loads(payload)
        for name, value in results.items():
            setattr(self.ctx.results, name, value)
        self.ctx.stale.update(stale)
        return {name: Outcome(tables, notes, _error_from(error), seconds)
                for name, (tables, notes, error, seconds) in outcomes.items()}

    def cancel(self) -> None:
        """Stop the child (the run failed or was interrupted in the main lane)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def start_lane(kind: str, ctx: Any, steps: list, attempt: Attempt) -> ThreadLane | ProcessLane | None:
    """The second lane running ``steps``, or None where neither a process nor a thread can start (the browser's
    Python of xlwings Lite): the caller then runs them itself."""
    if lane_kind(kind) == "process":
        try:
            return ProcessLane(ctx, steps, attempt)
        except OSError as exc:
            log.warning("cannot start a second compute process (%s); using a thread", exc)
    try:
        return ThreadLane(ctx, steps, attempt)
    except RuntimeError:
        return None


# ------------------------------------------------------------------ errors across the pipe
class ChildError(Exception):
    """An error of the child process that could not be pickled: its type and text."""


def _portable_error(error: Any) -> tuple | None:
    """(error, cause) of a failed step: the error pickles itself (its table and message), the cause (lost by
    pickling, kept as ``__cause__``) travels apart, as its text when it cannot be pickled."""
    if error is None:
        return None
    cause = error.__cause__
    try:
        pickle.loads(pickle.dumps(cause))
    except Exception:  # noqa: BLE001 - any unpicklable exception travels as its text
        cause = ChildError(f"{type(cause).__name__}: {cause}")
    return error, cause


def _error_from(portable: tuple | None) -> Any:
    if portable is None:
        return None
    error, cause = portable
    error.__cause__ = cause
    return error
