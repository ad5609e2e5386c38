"""Run jobs of student code in confined child processes, bounded in time, memory and output.

Children are forked from a multiprocessing fork server that has imported torch and nothing of the
grading (no tests, no answers), so a child starts in milliseconds and can read nothing secret from
its own memory. The fork server starts with a clean module path (never the submission's folder);
each child closes what it inherited and drops the grader's environment. As root (Gradescope), each child also switches
to a user id of its own. Whatever the child says is read through grader.sealed.protocol, with a
deadline on every read and a size limit on everything.
"""

import multiprocessing
import os
import random
import select
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
import time
import types
from contextlib import contextmanager
from dataclasses import dataclass, field

from grader.sealed import protocol


@dataclass
class JobRun:
    outcomes: dict = field(default_factory=dict)  # case id -> validated outcome
    loaded: list = None        # [{"cell", "error"}] once the cells are loaded
    enforced: list = field(default_factory=list)  # what the child said confines it
    refused: list = field(default_factory=list)   # what the harness refused student code
    status: str = "finished"   # finished | timeout | crashed | garbled | tampered | skipped
    detail: str = ""           # what went wrong, for the student, when not finished
    loading: str = None        # the cell being loaded when the child stopped, if any
    seconds: float = 0.0


class _Running:
    """The parent's view of one running child."""

    def __init__(self, process, requests, replies, limits, cases):
        self.process, self.requests, self.replies, self.limits = process, requests, replies, limits
        self.reader = protocol.Reader(replies.fileno())
        self.cases, self.next_case, self.nonce = cases, 0, None
        self.started, self.confined = time.monotonic(), False


class Sandbox:
    """Runs jobs (see `grader.sealed.child`) in parallel, `workers` at a time."""

    def __init__(self, memory_mb=3072, workers=None):
        self.memory_mb = memory_mb
        self.workers = workers or os.cpu_count() or 1
        stdlib = os.path.dirname(os.__file__)
        self.separate_users = os.geteuid() == 0 and _readable_by_others(stdlib)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["grader.sealed.child"])
        self.enforced = []

    @property
    def isolation(self):
        """How student code is kept from grading files, for the staff notes."""
        who = ("each check ran as a user id of its own" if self.separate_users else
               "checks ran as the grading user" + (
                   " (Python is installed where other users cannot read it)"
                   if os.geteuid() == 0 else ""))
        return who + ("; " + "; ".join(self.enforced) if self.enforced else "")

    def warm_up(self):
        """Start the fork server now, so its imports overlap with the caller's own work."""
        from multiprocessing import forkserver

        with _clean_start():
            forkserver.ensure_running()

    def run(self, jobs, timeout, deadline):
        """Run `jobs`; each gets `timeout` seconds, and none starts after `deadline` (a
        time.monotonic() value). A job is not started when one of its cells already failed to
        finish loading in another job: it would only hang again."""
        from grader.sealed import child  # imports torch: only where children are started

        runs = [JobRun() for _ in jobs]
        pending, running = list(range(len(jobs))), {}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    i = pending.pop(0)
                    reason = self._reason_to_skip(runs, jobs[i], timeout, deadline)
                    if reason is not None:
                        runs[i].status, runs[i].detail = "skipped", reason
                        continue
                    running[i] = self._start(child, jobs[i], timeout)
                if running:
                    self._step(runs, running, timeout)
        finally:
            for i, entry in running.items():
                self._finish(runs[i], entry, "crashed", "grading stopped")
        return runs

    def _reason_to_skip(self, runs, job, timeout, deadline):
        stalled = {r.loading for r in runs if r.status == "timeout" and r.loading}
        stuck = [c["label"] for c in job["cells"] if c["label"] in stalled]
        if stuck:
            return f"not run: {stuck[0]} did not finish running within {timeout:g} s"
        if time.monotonic() + 1 > deadline:
            return "not run: the time for grading this submission ran out"
        return None

    def _start(self, child, job, timeout):
        requests_r, requests_w = self.context.Pipe(duplex=False)
        replies_r, replies_w = self.context.Pipe(duplex=False)
        limits = {"memory_mb": self.memory_mb, "cpu_seconds": int(timeout) + 2,
                  "uid": random.randrange(200_000, 2_000_000_000) if self.separate_users
                  else None,
                  "workdir": tempfile.mkdtemp(prefix="backprop-child-")}
        start = {"provided": job["provided"], "cells": job["cells"]}
        process = self.context.Process(target=child.main,
                                       args=(requests_r, replies_w, start, limits), daemon=True)
        from multiprocessing import forkserver

        with _clean_start():
            forkserver.ensure_running()  # a fork server that died is started again
            process.start()
        requests_r.close()
        replies_w.close()
        os.set_blocking(requests_w.fileno(), False)
        return _Running(process, requests_w, replies_r, limits, job["cases"])

    def _step(self, runs, running, timeout):
        now = time.monotonic()
        soonest = min(entry.started + timeout for entry in running.values())
        fds = [entry.reader.fd for entry in running.values()]
        ready, _, _ = select.select(fds, [], [], max(0.0, soonest - now))
        for i, entry in list(running.items()):
            run = runs[i]
            outcome = None
            if entry.reader.fd in ready:
                outcome = self._receive(run, entry, timeout)
            if outcome is None and time.monotonic() >= entry.started + timeout:
                outcome = ("timeout", f"timed out after {timeout:g} s")
            if outcome is not None:
                self._finish(run, entry, *outcome)
                del running[i]

    def _receive(self, run, entry, timeout):
        """Handle what the child sent; (status, detail) once it is done with, else None."""
        try:
            for message in entry.reader.pump():
                self._handle(run, entry, message, entry.started + timeout)
        except protocol.Violation as violation:
            return ("tampered" if violation.forged else "garbled",
                    f"the grading process stopped: {violation}")
        if entry.reader.closed:
            return self._ended(run, entry)
        return None

    def _handle(self, run, entry, message, deadline):
        if not isinstance(message, dict):
            raise protocol.Violation("it sent a message that is not an object")
        if not entry.confined:
            run.enforced = protocol.check_confined(message)
            if run.enforced is None:
                raise protocol.Violation("it spoke out of turn", forged=True)
            entry.confined = True
            return
        if run.loaded is None:
            label = protocol.check_loading(message)
            if label is not None:
                run.loading = label
                return
            errors = protocol.check_loaded(message)
            if errors is None:
                raise protocol.Violation("it spoke out of turn", forged=True)
            run.loaded, run.loading = errors, None
        elif entry.nonce is None:
            raise protocol.Violation("it spoke out of turn", forged=True)
        else:
            case = entry.cases[entry.next_case]
            outcome, refused = protocol.check_reply(message, case["id"], entry.nonce)
            run.outcomes[case["id"]] = outcome
            run.refused += [r for r in refused if r not in run.refused]
            entry.next_case += 1
        self._send_next(entry, deadline)

    def _send_next(self, entry, deadline):
        if entry.next_case < len(entry.cases):
            case = entry.cases[entry.next_case]
            entry.nonce = protocol.new_nonce()
            message = protocol.request(case["id"], entry.nonce, case["source"], case["name"],
                                       case["params"], case["inputs"])
        else:
            entry.nonce, message = None, protocol.DONE
        try:
            protocol.write_all(entry.requests.fileno(), protocol.frame(message), deadline)
        except OSError:
            pass  # the child is gone: its exit says why

    def _ended(self, run, entry):
        entry.process.join(timeout=5)
        code = entry.process.exitcode
        if code not in (0, None):
            return ("crashed", _exit_text(code))
        if run.loaded is None:
            return ("crashed", f"the grading process ended while {run.loading} was running "
                    "(does it call exit(), quit() or os._exit()?)" if run.loading else
                    "the grading process ended before the notebook loaded")
        if len(run.outcomes) < len(entry.cases):
            return ("crashed", "your code ended the grading process early (does it call "
                    "exit(), quit() or os._exit()?)")
        return ("finished", "")

    def _finish(self, run, entry, status, detail=""):
        _kill(entry.process, entry.limits["uid"])
        entry.requests.close()
        entry.replies.close()
        shutil.rmtree(entry.limits["workdir"], ignore_errors=True)
        run.seconds = time.monotonic() - entry.started
        if run.enforced:
            self.enforced = run.enforced
        if run.refused and status != "tampered":
            status, detail = "tampered", ("your code used " + ", ".join(run.refused) +
                                          ", which is not allowed while grading")
        run.status, run.detail = status, detail


def _readable_by_others(path):
    """Whether a user with no rights of its own can read `path` (to import the stdlib there)."""
    path = os.path.realpath(path)
    parts = [path] + [os.path.dirname(path)]
    while parts[-1] != "/":
        parts.append(os.path.dirname(parts[-1]))
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in parts) and \
        bool(os.stat(path).st_mode & stat.S_IROTH)


@contextmanager
def _clean_start():
    """Start fork servers and children with nothing of the caller's: no __main__ module to
    re-import (Otter's CLI, pytest, ...), and a module path without the current directory, which
    under `otter run` is the submission's folder."""
    main, path = sys.modules["__main__"], list(sys.path)
    sys.modules["__main__"] = types.ModuleType("__main__")
    sys.path[:] = _trusted_path(path)
    try:
        yield
    finally:
        sys.modules["__main__"] = main
        sys.path[:] = path


def _trusted_path(path):
    """Module path entries that are Python's own or this package's, never the current folder."""
    import grader

    package_root = os.path.dirname(os.path.dirname(os.path.realpath(grader.__file__)))
    python = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    keep = [p for p in path if p and os.path.realpath(p) != os.path.realpath(os.getcwd())
            and (os.path.realpath(p) in python or "site-packages" in p
                 or os.path.realpath(p).startswith(sys.base_prefix)
                 or os.path.realpath(p) == package_root)]
    return keep if package_root in keep else keep + [package_root]


def _exit_text(code):
    if code < 0:
        name = signal.Signals(-code).name
        reason = {"SIGKILL": " (it may have run out of memory)",
                  "SIGXCPU": " (it used up its CPU time)",
                  "SIGSEGV": " (a crash inside the process)",
                  "SIGSYS": " (it made a system call that is not allowed)"}.get(name, "")
        return f"the grading process was stopped by {name}{reason}"
    return f"your code ended the grading process (exit code {code})"


def _kill(process, uid):
    """Stop a child, its process group, and (as root) everything running as its user id."""
    for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
        try:
            kill()
        except (ProcessLookupError, PermissionError, OSError, AttributeError):
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
