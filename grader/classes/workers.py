"""Grade submissions on this machine exactly as Gradescope would, with dist/autograder.zip.

Each submission gets a Gradescope-style directory (source/ from the zip, submission/, results/)
and is graded there by `grader.gradescope.run`, the function the zip's run script calls. That runs
in a Worker: a `python -m grader.gradescope --serve` process kept across submissions, so a batch
pays for imports and the fork server once. A Worker that overruns its time limit is killed and the
submission gets a results.json saying so; the next submission gets a fresh Worker.
"""

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

from grader.gradescope import OUTPUT_NAME, REPORT_NAME, RESULTS_NAME, plugin_settings

_workers, _lock = set(), threading.Lock()


@dataclass
class Graded:
    submission: Path
    results: dict        # Gradescope results.json
    report: dict         # sealed.json (per-case verdicts and messages)
    output: str          # what the autograder printed (for course staff)
    extra_credit: list   # question names that are extra credit


class Stopped(Exception):
    """Grading was stopped from outside (see `stop_all`); nothing was graded."""


class Worker:
    """A grading process that grades one autograder directory after another."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.gradescope", "--serve"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.lines, self.stopped = queue.Queue(), False
        threading.Thread(target=self._read, daemon=True).start()
        with _lock:
            _workers.add(self)

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def grade(self, autograder, limit):
        """True if the directory was graded within `limit` seconds; False if this worker died
        or overran (it is then killed and must not be used again)."""
        self.process.stdin.write(f"{autograder}\n")
        self.process.stdin.flush()
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
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
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


def grade(zip_path, submission, worker=None, timeout=None):
    """Grade one submission: a .ipynb, a .zip, or a folder holding what the student uploaded.
    Uses `worker` if given and alive, else a Worker of its own."""
    submission = Path(submission)
    with tempfile.TemporaryDirectory(prefix="backprop-grade-") as tmp:
        autograder = Path(tmp) / "autograder"
        for part in ("source", "results"):
            (autograder / part).mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(autograder / "source")
        if submission.is_dir():
            shutil.copytree(submission, autograder / "submission")
        else:
            (autograder / "submission").mkdir()
            shutil.copy(submission, autograder / "submission" / submission.name)
        (autograder / "submission_metadata.json").write_text("{}")
        plugin = plugin_settings(json.loads((autograder / "source" / "otter_config.json")
                                            .read_text()))
        limit = timeout or plugin["submission_timeout"] + 2 * plugin["step_timeout"] + 60
        own = worker is None or not worker.alive
        worker = Worker() if own else worker
        try:
            in_time = worker.grade(autograder, limit)
        finally:
            if own:
                worker.close()
        results = autograder / "results"
        output_path = results / OUTPUT_NAME
        output = output_path.read_text() if output_path.exists() else ""
        if not in_time:
            from grader.gradescope import write_failure

            output += f"\nThe grading process stopped or overran its {limit} s."
            write_failure(autograder, f"Grading did not finish within {limit} s.")
        return Graded(submission, json.loads((results / RESULTS_NAME).read_text()),
                      json.loads((results / REPORT_NAME).read_text()), output,
                      plugin["extra_credit"])


def write(graded, out_dir):
    """Save results.json, sealed.json, output.txt and feedback.txt in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULTS_NAME).write_text(json.dumps(graded.results, indent=4))
    report = {**graded.report, "extra_credit": graded.extra_credit}
    (out_dir / REPORT_NAME).write_text(json.dumps(report, indent=1))
    (out_dir / "output.txt").write_text(graded.output)
    (out_dir / "feedback.txt").write_text(feedback(graded))


def scores(graded):
    """{question: (score, max_score)} from a Gradescope results.json, in its order."""
    return {t["name"]: (t["score"], t["max_score"]) for t in graded.results["tests"]
            if "max_score" in t}


def totals(graded):
    """(regular score, regular maximum, extra credit score)."""
    regular = possible = extra = 0.0
    for name, (score, maximum) in scores(graded).items():
        if name in graded.extra_credit:
            extra += score
        else:
            regular, possible = regular + score, possible + maximum
    return regular, possible, extra


def table(graded):
    """A plain-text score table for one graded submission."""
    rows = scores(graded)
    width = max([len(n) for n in rows] + [8])
    lines = [f"{graded.submission.name}"]
    for name, (score, maximum) in rows.items():
        mark = " (extra credit)" if name in graded.extra_credit else ""
        lines.append(f"  {name:<{width}}  {score:>5g} / {maximum:<5g}{mark}")
    regular, possible, extra = totals(graded)
    lines.append(f"  {'total':<{width}}  {regular:>5g} / {possible:<5g}"
                 + (f" + {extra:g} extra credit" if graded.extra_credit else ""))
    if graded.report.get("error"):
        lines.append(f"  note: {graded.report['error']}")
    return "\n".join(lines)


def feedback(graded):
    """What the student sees on Gradescope, as text: scores, then every failed case."""
    lines = [table(graded), ""]
    lines += graded.report.get("messages", [])
    for question in graded.report["questions"]:
        failed = [c for c in question["cases"] if not c["passed"]]
        if failed:
            lines.append(f"\n{question['name']} ({question['score']:g} / "
                         f"{question['possible']:g})")
            lines += [f"  - {c['name']}: " + c["message"].replace("\n", "\n    ") for c in failed]
    return "\n".join(lines) + "\n"
