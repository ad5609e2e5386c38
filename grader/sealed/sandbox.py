"""Run jobs of student code in confined children, bounded in time, memory and output.

A job is the cases of one question that share a visibility. Jobs run in phases: every public job
has finished, and its process has exited, before any job that sees a hidden case starts, so no
process that knows a hidden case ever runs beside one whose output the student sees at once.

Jobs of a phase that need the same cells share a child, one job after the other (all the engine
steps need the same `# MAIN CODE` cell), and each job keeps its own time limit: when one runs out
or its code ends the child, the child is stopped and the jobs after it go on, each in a fresh
child of its own.
Within a phase, `workers` children run at a time. Children are forked by the zygote
(grader.sealed.zygote), which holds torch and nothing of the grading. Whatever a child says is
read through grader.sealed.protocol, with a deadline on every read and a size limit on
everything.
"""

import os
import random
import select
import signal
import time
from dataclasses import dataclass, field

from grader.sealed import protocol
from grader.sealed.wall import readable_by_others
from grader.sealed.zygote import Zygote, ZygoteGone
from grader.verdicts import Status

EXIT_WAIT = 5.0   # seconds to wait for the zygote to report a child's exit


@dataclass
class JobRun:
    outcomes: dict = field(default_factory=dict)  # case id -> validated outcome
    loaded: list = None        # [{"cell", "error"}] once the cells are loaded
    enforced: list = field(default_factory=list)  # what the child said confines it
    status: Status = Status.FINISHED
    detail: str = ""           # what went wrong, for the student, when not finished
    loading: str = None        # the cell being loaded when the child stopped, if any
    seconds: float = 0.0


class _Child:
    """The parent's view of one running child and the jobs it runs, one after the other."""

    def __init__(self, pid, requests, replies, jobs, load, timeout):
        self.pid, self.requests, self.replies = pid, requests, replies
        self.jobs, self.load, self.timeout = jobs, load, timeout  # jobs: indices of its jobs
        self.reader = protocol.Reader(replies)
        self.current, self.case, self.nonce = 0, 0, None   # job (of self.jobs), case within it
        self.confined, self.loaded = False, False
        self.started = self.job_started = self.cell_started = time.monotonic()

    @property
    def deadline(self):
        """Loading gets `timeout` per job the child serves, and one cell at most `timeout`;
        then each job's cases get `timeout`."""
        if not self.loaded:
            return min(self.started + self.timeout * len(self.jobs),
                       self.cell_started + self.timeout)
        return self.job_started + self.timeout

    @property
    def stalled(self):
        """Whether the cell loading now has run for the whole of `timeout` on its own."""
        return not self.loaded and time.monotonic() >= self.cell_started + self.timeout


class Sandbox:
    """Runs jobs (see grader.sealed.child) in phases, `workers` children at a time."""

    def __init__(self, workers=None, fresh=False):
        """Start the zygote now: before anything secret is read, unless `fresh`."""
        self.workers = workers or os.cpu_count() or 1
        self.separate_users = os.geteuid() == 0 and readable_by_others(os.path.dirname(os.__file__))
        self.zygote = Zygote(fresh)
        self.enforced = []

    @property
    def isolation(self):
        """How student code is kept from grading files, for the staff notes."""
        who = ("each check ran as a user id of its own" if self.separate_users else
               "checks ran as the grading user" + (
                   " (Python is installed where other users cannot read it)"
                   if os.geteuid() == 0 else ""))
        return who + ("; " + "; ".join(self.enforced) if self.enforced else "")

    def close(self):
        self.zygote.close()

    def run(self, jobs, timeout, deadline):
        """Run `jobs` (each with a "phase"), phase by phase; each job gets `timeout` seconds,
        and none starts after `deadline` (a time.monotonic() value). A job is not started when
        one of its cells already failed to finish loading: it would only hang again. Returns
        a JobRun per job."""
        runs = [JobRun() for _ in jobs]
        self.stalled = set()
        for phase in sorted({job["phase"] for job in jobs}):
            indices = [i for i, job in enumerate(jobs) if job["phase"] == phase]
            self._run_phase(self._groups(indices, jobs), jobs, runs, timeout, deadline)
        return runs

    def _groups(self, indices, jobs):
        """Jobs that need the same cells go together; then the smallest groups merge until
        there are no more groups than workers (a child loads the cells of all its jobs)."""
        groups = {}
        for i in indices:
            groups.setdefault(tuple(c["label"] for c in jobs[i]["cells"]), []).append(i)
        groups = sorted(groups.values(), key=lambda g: -sum(len(jobs[i]["cases"]) for i in g))
        while len(groups) > self.workers:
            smallest = groups.pop()
            groups[-1] = sorted(groups[-1] + smallest)
            groups.sort(key=lambda g: -sum(len(jobs[i]["cases"]) for i in g))
        return groups

    def _run_phase(self, groups, jobs, runs, timeout, deadline):
        pending, running, ended = list(groups), [], []
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    group = self._startable(pending.pop(0), jobs, runs, timeout, deadline)
                    if group:
                        child = self._start(group, jobs, runs, timeout)
                        if child is not None:
                            running.append(child)
                if running:
                    ended += self._step(running, jobs, runs, pending)
        finally:
            for child in running:
                ended.append(self._stop(child, jobs, runs, Status.CRASHED, "grading stopped"))
            for pid in ended:  # a phase is over when its processes are
                self.zygote.wait_exit(pid, EXIT_WAIT)

    def _startable(self, group, jobs, runs, timeout, deadline):
        """The jobs of `group` that may start; the others are marked skipped."""
        startable = []
        for i in group:
            stuck = [c["label"] for c in jobs[i]["cells"] if c["label"] in self.stalled]
            if stuck:
                runs[i].status = Status.SKIPPED
                runs[i].detail = f"not run: {stuck[0]} did not finish running within {timeout:g} s"
            elif time.monotonic() + 1 > deadline:
                runs[i].status = Status.SKIPPED
                runs[i].detail = "not run: the time for grading this submission ran out"
            else:
                startable.append(i)
        return startable

    def _start(self, group, jobs, runs, timeout):
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        first = jobs[group[0]]
        for i in group:
            runs[i].loading = None  # a job may come back after another child stopped
        cells = {c["label"]: c for i in group for c in jobs[i]["cells"]}
        cells = sorted(cells.values(), key=lambda c: c["number"])
        load = protocol.job(first["provided"], sum(0 < c["number"] < first["provided_number"]
                                                   for c in cells),
                            [{"label": c["label"], "source": c["source"]} for c in cells])
        limits = {"memory_mb": first["memory_mb"],
                  "cpu_seconds": int(2 * timeout * len(group)) + 2,
                  "uid": random.randrange(200_000, 2_000_000_000) if self.separate_users
                  else None}
        try:
            if not self.zygote.alive:
                self.zygote.close()
                self.zygote = Zygote(fresh=True)  # never a fork of this process: it has secrets
            pid = self.zygote.spawn(group[0], limits, [requests_r, replies_w])
        except (ZygoteGone, OSError) as error:   # OSError: no fresh zygote could start
            for fd in (requests_w, replies_r):
                os.close(fd)
            for i in group:
                runs[i].status = Status.CRASHED
                runs[i].detail = f"the grading process could not start ({error})"
            return None
        finally:
            for fd in (requests_r, replies_w):
                os.close(fd)
        os.set_blocking(requests_w, False)
        return _Child(pid, requests_w, replies_r, group, load, timeout)

    def _step(self, running, jobs, runs, pending):
        """Wait for what the children say; return the pids of those that ended. The jobs a
        stopped child had not started yet go back to `pending`, in a child of their own."""
        soonest = min(child.deadline for child in running)
        fds = [child.reader.fd for child in running]
        ready, _, _ = select.select(fds, [], [], max(0.0, soonest - time.monotonic()))
        ended = []
        for child in list(running):
            outcome = None
            if child.reader.fd in ready:
                outcome = self._receive(child, jobs, runs)
            if outcome is None and time.monotonic() >= child.deadline:
                outcome = (Status.TIMEOUT, f"timed out after {child.timeout:g} s")
            if outcome is not None:
                loading = runs[child.jobs[0]].loading if not child.loaded else None
                timed_out = outcome[0] == Status.TIMEOUT
                if timed_out and loading and child.stalled:
                    self.stalled.add(loading)
                if not child.loaded and len(child.jobs) > 1:
                    # stopped while loading the cells of several jobs: those that need the cell
                    # at fault end as the child did; the others go again, each on its own (all
                    # of them when the cells together, not one of them, ran out of time)
                    faulty = [] if timed_out and not child.stalled else \
                        [i for i in child.jobs if loading in {c["label"] for c in jobs[i]["cells"]}]
                    rest = [[i] for i in child.jobs if i not in faulty]
                    child.jobs = faulty
                else:  # the jobs it had not started: each in a child of its own, side by side
                    rest = [[i] for i in child.jobs[child.current + 1:]] if child.loaded else []
                ended.append(self._stop(child, jobs, runs, *outcome))
                running.remove(child)
                if outcome[0] != Status.FINISHED:
                    pending[:0] = [group for group in rest if group]
        return ended

    def _receive(self, child, jobs, runs):
        """Handle what the child sent; (status, detail) once it is done with, else None."""
        try:
            for message in child.reader.pump():
                self._handle(child, jobs, runs, message)
        except protocol.Violation as violation:
            return (Status.TAMPERED if violation.forged else Status.GARBLED,
                    f"the grading process stopped: {violation}")
        if child.reader.closed:
            return self._ended(child, jobs, runs)
        return None

    def _handle(self, child, jobs, runs, message):
        mine = [runs[i] for i in child.jobs]
        if not child.confined:
            enforced = protocol.check_confined(message)
            if enforced is None:
                raise protocol.Violation("it spoke out of turn", forged=True)
            for run in mine:
                run.enforced = enforced
            child.confined = True
            self._send(child, child.load)
            return
        if not child.loaded:
            label = protocol.check_loading(message)
            if label is not None:
                for run in mine:
                    run.loading = label
                child.cell_started = time.monotonic()
                return
            errors = protocol.check_loaded(message)
            if errors is None:
                raise protocol.Violation("it spoke out of turn", forged=True)
            for run in mine:
                run.loaded, run.loading = errors, None
            child.loaded, child.job_started = True, time.monotonic()
        elif child.nonce is None:
            raise protocol.Violation("it spoke out of turn", forged=True)
        else:
            job, run = jobs[child.jobs[child.current]], runs[child.jobs[child.current]]
            case = job["cases"][child.case]
            outcome = protocol.check_reply(message, case["id"], child.nonce)
            run.outcomes[case["id"]] = outcome
            child.case += 1
            if child.case == len(job["cases"]):   # this job is done: the next one's clock starts
                self._close_job(child, runs, Status.FINISHED, "")
                child.current, child.case = child.current + 1, 0
                child.job_started = time.monotonic()
        self._send_next(child, jobs)

    def _send_next(self, child, jobs):
        if child.current < len(child.jobs):
            case = jobs[child.jobs[child.current]]["cases"][child.case]
            child.nonce = protocol.new_nonce()
            message = protocol.request(case["id"], child.nonce, case["code"], case["name"],
                                       case["params"], case["inputs"])
        else:
            child.nonce, message = None, protocol.DONE
        self._send(child, message)

    def _send(self, child, message):
        try:
            protocol.write_all(child.requests, protocol.to_child(message), child.deadline)
        except OSError:
            pass  # the child is gone: its exit says why

    def _ended(self, child, jobs, runs):
        code = self.zygote.wait_exit(child.pid, EXIT_WAIT)
        if code is not None:
            self.zygote.exits[child.pid] = code  # still needed by the phase's end
        if code not in (0, None):
            return (Status.CRASHED, _exit_text(code))
        if not child.loaded:
            loading = runs[child.jobs[0]].loading
            return (Status.CRASHED, f"the grading process ended while {loading} was running "
                    "(does it call exit(), quit() or os._exit()?)" if loading else
                    "the grading process ended before the notebook loaded")
        if child.current < len(child.jobs):
            return (Status.CRASHED, "your code ended the grading process early (does it call "
                    "exit(), quit() or os._exit()?)")
        return (Status.FINISHED, "")

    def _stop(self, child, jobs, runs, status, detail):
        """Stop the child (unless it has exited: its pid may be reused); record how its jobs
        ended (all of them, if it stopped while loading the cells); return its pid."""
        self.zygote.collect()
        if child.pid not in self.zygote.exits:
            for kill in (lambda: os.killpg(child.pid, signal.SIGKILL),
                         lambda: os.kill(child.pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
        for fd in (child.requests, child.replies):
            try:
                os.close(fd)
            except OSError:
                pass
        if child.jobs and runs[child.jobs[0]].enforced:
            self.enforced = runs[child.jobs[0]].enforced
        if not child.loaded:
            for i in child.jobs:
                self._close_run(runs[i], child, status, detail)
        elif child.current < len(child.jobs):
            self._close_job(child, runs, status, detail)
        return child.pid

    def _close_job(self, child, runs, status, detail):
        self._close_run(runs[child.jobs[child.current]], child, status, detail)

    def _close_run(self, run, child, status, detail):
        run.seconds = time.monotonic() - child.job_started
        run.status, run.detail = status, detail


def _exit_text(code):
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:  # a real-time signal
            name = f"signal {-code}"
        reason = {"SIGKILL": " (it may have run out of memory)",
                  "SIGXCPU": " (it used up its CPU time)",
                  "SIGSEGV": " (a crash inside the process)",
                  "SIGSYS": " (it made a system call that is not allowed)"}.get(name, "")
        return f"the grading process was stopped by {name}{reason}"
    return f"your code ended the grading process (exit code {code})"
