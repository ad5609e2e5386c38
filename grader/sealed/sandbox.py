"""Run jobs of student code in confined child processes, bounded in time, memory and output.

Children are forked from a multiprocessing fork server that has imported torch and nothing of the
grading (no tests, no answers), so a child starts in milliseconds and can read nothing secret from
its own memory. As root (Gradescope), each child also switches to a user id of its own, so it can
read no grading file and signal no grading process. The parent reads raw bytes from each child and
never unpickles what a child sends.
"""

import json
import multiprocessing
import os
import random
import shutil
import signal
import stat
import sys
import tempfile
import time
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait

MAX_OUTPUT = 64 * 2**20


@dataclass
class JobRun:
    messages: list = field(default_factory=list)  # JSON objects the child sent, in order
    status: str = "finished"   # finished | timeout | crashed | garbled | skipped
    detail: str = ""           # what went wrong, for the student, when not finished
    loading: str = None        # the cell being loaded when the child stopped, if any
    seconds: float = 0.0
    received: int = 0          # bytes read from the child


class Sandbox:
    """Runs jobs (see `grader.sealed.child`) in parallel, `workers` at a time."""

    def __init__(self, memory_mb=3072, workers=None):
        self.memory_mb = memory_mb
        self.workers = workers or os.cpu_count() or 1
        stdlib = os.path.dirname(os.__file__)
        self.separate_users = os.geteuid() == 0 and _readable_by_others(stdlib)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["grader.sealed.child"])

    @property
    def isolation(self):
        """How student code is kept from grading files, for the staff notes."""
        if self.separate_users:
            return "each check ran as a user id of its own"
        return ("checks ran as the grading user, behind audit hooks only" +
                (" (Python is installed where other users cannot read it)"
                 if os.geteuid() == 0 else ""))

    def warm_up(self):
        """Start the fork server now, so its imports overlap with the caller's own work."""
        from multiprocessing import forkserver

        forkserver.ensure_running()

    def run(self, jobs, timeout, deadline):
        """Run `jobs`; each gets `timeout` seconds, and none starts after `deadline` (a
        time.monotonic() value). A job is not started when one of its cells already failed to
        finish loading in another job: it would only hang again."""
        from grader.sealed import child  # imports torch: only where children are started

        runs = [JobRun() for _ in jobs]
        pending, running = list(range(len(jobs))), {}
        while pending or running:
            while pending and len(running) < self.workers:
                i = pending.pop(0)
                stalled = {r.loading for r in runs if r.status == "timeout" and r.loading}
                stuck = [c["label"] for c in jobs[i]["cells"] if c["label"] in stalled]
                reason = (f"not run: {stuck[0]} did not finish running within {timeout:g} s"
                          if stuck else None)
                if reason is None and time.monotonic() + 1 > deadline:
                    reason = "not run: the time for grading this submission ran out"
                if reason is not None:
                    runs[i].status, runs[i].detail = "skipped", reason
                    continue
                receiver, sender = self.context.Pipe(duplex=False)
                limits = {"memory_mb": self.memory_mb, "cpu_seconds": int(timeout) + 2,
                          "uid": random.randrange(200_000, 2_000_000_000)
                          if self.separate_users else None,
                          "workdir": tempfile.mkdtemp(prefix="backprop-child-")}
                process = self.context.Process(target=child.main, args=(sender, jobs[i], limits),
                                               daemon=True)
                with _main_module_hidden():
                    process.start()
                sender.close()
                running[i] = (process, receiver, limits, time.monotonic(),
                              len(jobs[i]["cases"]))
            if running:
                self._step(runs, running, timeout)
        return runs

    def _step(self, runs, running, timeout):
        now = time.monotonic()
        soonest = min(entry[3] + timeout for entry in running.values())
        ready = wait([entry[1] for entry in running.values()], timeout=max(0.0, soonest - now))
        for i, (process, receiver, limits, started, cases) in list(running.items()):
            run = runs[i]
            if receiver in ready and not self._receive(receiver, run):
                process.join(timeout=5)
                self._finish(run, process, limits, started, cases, "finished")
            elif time.monotonic() >= started + timeout:
                self._finish(run, process, limits, started, cases, "timeout",
                             f"timed out after {timeout:g} s")
            else:
                continue
            del running[i]

    def _receive(self, receiver, run):
        """Read one message; False when the child closed its end or sent garbage."""
        try:
            data = receiver.recv_bytes(MAX_OUTPUT - run.received)
            message = json.loads(data)
        except EOFError:
            return False
        except (OSError, ValueError):
            message = None
        run.received += len(data) if message is not None else 0
        if not _well_formed(message):
            run.status, run.detail = "garbled", "the grading process sent unreadable output"
            return False
        run.messages.append(message)
        if "loading" in message:
            run.loading = message["loading"]
        if "loaded" in message:
            run.loading = None
        return True

    def _finish(self, run, process, limits, started, cases, status, detail=""):
        _kill(process, limits["uid"])
        shutil.rmtree(limits["workdir"], ignore_errors=True)
        run.seconds = time.monotonic() - started
        if run.status == "garbled":
            return
        code = process.exitcode
        if status == "finished" and code not in (0, None):
            status, detail = "crashed", _exit_text(code)
        elif status == "finished" and not any("loaded" in m for m in run.messages):
            status, detail = "crashed", (
                f"the grading process ended while {run.loading} was running (does it call "
                "exit(), quit() or os._exit()?)" if run.loading else
                "the grading process ended before the notebook loaded")
        elif status == "finished" and sum("case" in m for m in run.messages) < cases:
            status, detail = "crashed", ("your code ended the grading process early (does it "
                                         "call exit(), quit() or os._exit()?)")
        run.status, run.detail = status, detail


def _well_formed(message):
    """The only messages a child sends (see grader.sealed.child._run); anything else is forged."""
    if not isinstance(message, dict) or len(message) not in (1, 2):
        return False
    if set(message) == {"loading"}:
        return isinstance(message["loading"], str)
    if set(message) == {"loaded"}:
        return isinstance(message["loaded"], list) and all(
            isinstance(e, dict) and set(e) == {"cell", "error"}
            and all(isinstance(v, str) for v in e.values()) for e in message["loaded"])
    return set(message) == {"case", "outcome"} and type(message["case"]) is int


def _readable_by_others(path):
    """Whether a user with no rights of its own can read `path` (to import the stdlib there)."""
    path = os.path.realpath(path)
    parts = [path] + [os.path.dirname(path)]
    while parts[-1] != "/":
        parts.append(os.path.dirname(parts[-1]))
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in parts) and \
        bool(os.stat(path).st_mode & stat.S_IROTH)


@contextmanager
def _main_module_hidden():
    """Keep multiprocessing from re-importing the parent's __main__ (Otter's CLI, pytest, ...)
    in every child, which costs about a second per child and runs code the child has no use for."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _exit_text(code):
    if code < 0:
        name = signal.Signals(-code).name
        reason = {"SIGKILL": " (it may have run out of memory)",
                  "SIGXCPU": " (it used up its CPU time)",
                  "SIGSEGV": " (a crash inside the process)"}.get(name, "")
        return f"the grading process was stopped by {name}{reason}"
    return f"your code ended the grading process (exit code {code})"


def _kill(process, uid):
    """Stop a child, its process group, and (as root) everything running as its user id."""
    for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
        try:
            kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass
    if uid is not None:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/status") as status:
                        owners = next(l for l in status if l.startswith("Uid:")).split()[1:]
                    if str(uid) in owners:
                        os.kill(int(entry), signal.SIGKILL)
                except (OSError, StopIteration):
                    pass
    process.join(timeout=5)
