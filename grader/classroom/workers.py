"""Grade submissions on this machine exactly as Gradescope would, with dist/autograder.zip.

Each submission gets a Gradescope-style directory (source/ from the zip, submission/, results/)
and is graded there by `grader.grading.grade_directory`, what the zip's run script runs. That
runs in a Worker: a `python -m grader.classroom.workers --serve` process (`serve` below) kept
across submissions, so a batch pays for imports and the zygote once. A Worker that overruns its
time limit is killed and the submission gets a results file saying so; the next submission gets
a fresh Worker.
"""

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.context import OUTPUT_NAME, REPORT_NAME, RESULTS_NAME, Context
from grader.results import Report

_workers, _lock = set(), threading.Lock()


@dataclass
class Graded:
    submission: Path
    results: dict        # Gradescope's results.json, as Otter wrote it
    report: Report       # sealed.json: every case's verdict and message, flags for staff
    output: str          # what the autograder printed (for course staff)


class Stopped(Exception):
    """Grading was stopped from outside (see `stop_all`); nothing was graded."""


class Worker:
    """A grading process that grades one autograder directory after another."""

    def __init__(self):
        # -I: no module from the current directory (a folder of submissions may hold a
        # `grader/` package) and no PYTHON* variables.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "grader.classroom.workers", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
            cwd=tempfile.gettempdir())
        self.lines, self.stopped = queue.Queue(), False
        threading.Thread(target=self._read, daemon=True).start()
        with _lock:
            _workers.add(self)

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def run(self, autograder, limit):
        """True if the directory was graded within `limit` seconds; False if this worker died
        or overran (it is then killed and must not be used again)."""
        try:
            self.process.stdin.write(f"{autograder}\n")
            self.process.stdin.flush()
        except OSError:   # it died since it was last asked
            self.close()
            return False
        deadline = time.monotonic() + limit
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if self.stopped:
                raise Stopped()
            if line == f"done {autograder}":
                return True
            if line is None:
                self.close()
                return False

    def close(self):
        """Kill it and its children (once: its process group id is not ours after that)."""
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        with _lock:
            _workers.discard(self)

    @property
    def alive(self):
        return self.process.poll() is None


def stop_all():
    """Kill every worker (for an interrupted batch): their submissions raise Stopped."""
    with _lock:
        workers = list(_workers)
    for worker in workers:
        worker.stopped = True
        worker.close()


def grade_submission(zip_path, submission, worker=None, timeout=None):
    """Grade one submission: a .ipynb, a .zip, or a folder holding what the student uploaded.
    Uses `worker` if given and alive, else a Worker of its own."""
    submission = Path(submission)
    with tempfile.TemporaryDirectory(prefix="backprop-grade-") as tmp:
        autograder = Path(tmp) / "autograder"
        for part in ("source", "results"):
            (autograder / part).mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(autograder / "source")
        (autograder / "submission_metadata.json").write_text("{}")
        settings = Context.load(autograder).settings
        limit = timeout or settings["submission_timeout"] + 2 * settings["step_timeout"] + 60
        fault = None
        try:
            if submission.is_dir():
                shutil.copytree(submission, autograder / "submission")
            else:
                (autograder / "submission").mkdir()
                shutil.copy(submission, autograder / "submission" / submission.name)
            own = worker is None or not worker.alive
            worker = Worker() if own else worker
            try:
                in_time = worker.run(autograder, limit)
            finally:
                if own:
                    worker.close()
        except Stopped:
            raise
        except Exception as error:  # noqa: BLE001 - one submission's fault ends only its grading
            in_time, fault = False, f"{type(error).__name__}: {error}"
        results = autograder / "results"
        output_path = results / OUTPUT_NAME
        output = output_path.read_text() if output_path.exists() else ""
        if not in_time:
            from grader.grading import AUTOGRADER_FAILED, write_failure

            if fault is None:
                output += f"\nThe grading process stopped or overran its {limit} s."
                write_failure(autograder, f"Grading did not finish within {limit} s.")
            else:
                output += f"\nThe submission could not be graded: {fault}"
                write_failure(autograder, AUTOGRADER_FAILED, fault)
        report = Report.load(results / REPORT_NAME)
        return Graded(submission, json.loads((results / RESULTS_NAME).read_text()), report, output)


def write(graded, out_dir):
    """Save results.json, sealed.json, output.txt and feedback.txt in `out_dir`."""
    from grader.feedback import tables

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULTS_NAME).write_text(json.dumps(graded.results, indent=4))
    graded.report.save(out_dir / REPORT_NAME)
    (out_dir / OUTPUT_NAME).write_text(graded.output)
    (out_dir / "feedback.txt").write_text(tables.feedback(graded.report, graded.submission.name))


def serve():
    """Grade the autograder directories named on stdin, one per line, in this one process, and
    answer `done DIR` on stdout after each: a batch pays for imports and the zygote once (it is
    forked here, before any submission is read). What each run prints goes to
    DIR/results/output.txt."""
    from grader.sealed.sandbox import Sandbox

    sandbox = Sandbox()
    from grader import grading

    grading.preload()
    for line in sys.stdin:
        autograder = Path(line.strip())
        with open(autograder / "results" / OUTPUT_NAME, "w") as out, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            grading.grade_directory(autograder, sandbox)
        print(f"done {autograder}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.exit("usage: python -m grader.classroom.workers --serve")
