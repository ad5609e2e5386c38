"""Grade a submission on this machine exactly as Gradescope would, with dist/autograder.zip.

The zip is unpacked into a Gradescope-style directory (source/, submission/, results/) and
`python -m grader.gradescope` runs there in a child process with an overall time limit, so even a
submission that brings the grader down leaves a results.json behind.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .gradescope import REPORT_NAME, RESULTS_NAME, plugin_settings

_running, _lock = set(), threading.Lock()


@dataclass
class Graded:
    submission: Path
    results: dict        # Gradescope results.json
    report: dict         # sealed.json (per-case verdicts and messages)
    output: str          # what the autograder printed (for course staff)
    extra_credit: list   # question names that are extra credit


class Stopped(Exception):
    """Grading was stopped from outside (see `stop_all`); nothing was graded."""


def grade(zip_path, submission, timeout=None):
    """Grade one submission: a .ipynb, a .zip, or a folder holding what the student uploaded."""
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
        output, in_time = _run([sys.executable, "-m", "grader.gradescope", str(autograder)],
                               limit)
        results_path = autograder / "results" / RESULTS_NAME
        if not results_path.exists():
            from .gradescope import write_failure

            write_failure(autograder, "The autograder failed on this submission." if in_time
                          else f"Grading did not finish within {limit} s.")
        return Graded(submission, json.loads(results_path.read_text()),
                      json.loads((autograder / "results" / REPORT_NAME).read_text()),
                      output, plugin["extra_credit"])


def _run(command, limit):
    """Run a grading process; return (its output, whether it ended within `limit` seconds)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    with _lock:
        _running.add(process)
    try:
        output, in_time = process.communicate(timeout=limit)[0], True
    except subprocess.TimeoutExpired:
        _kill(process)
        output, in_time = process.communicate()[0] + f"\nStopped after {limit} s.", False
    finally:
        with _lock:
            _running.discard(process)
    if getattr(process, "stopped", False):
        raise Stopped()
    return output, in_time


def _kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_all():
    """Kill every grading run in progress (for an interrupted batch)."""
    with _lock:
        for process in _running:
            process.stopped = True
            _kill(process)


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
