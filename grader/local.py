"""Grade a submission on this machine exactly as Gradescope would, with dist/autograder.zip.

The zip is unpacked into a Gradescope-style directory (source/, submission/, results/) and
`python -m grader.gradescope` runs there in a child process with an overall time limit, so even a
submission that brings the grader down leaves a results.json behind.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .gradescope import RESULTS_NAME, write_failure
from .otter_plugin import REPORT_NAME, settings


@dataclass
class Graded:
    submission: Path
    results: dict        # Gradescope results.json
    report: dict         # sealed.json (per-case verdicts), or None if grading never got there
    output: str          # what the autograder printed (for course staff)
    extra_credit: list   # question names that are extra credit


def grade(zip_path, submission, out_dir=None, timeout=None):
    """Grade one .ipynb or .zip; copy results.json, sealed.json and output.txt to `out_dir`."""
    submission = Path(submission)
    with tempfile.TemporaryDirectory(prefix="backprop-grade-") as tmp:
        autograder = Path(tmp) / "autograder"
        for part in ("source", "submission", "results"):
            (autograder / part).mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(autograder / "source")
        shutil.copy(submission, autograder / "submission" / submission.name)
        (autograder / "submission_metadata.json").write_text("{}")
        config = json.loads((autograder / "source" / "otter_config.json").read_text())
        plugin = settings(next(iter(config["plugins"][0].values())))
        limit = timeout or plugin["submission_timeout"] + 2 * plugin["step_timeout"] + 60
        try:
            done = subprocess.run([sys.executable, "-m", "grader.gradescope", str(autograder)],
                                  capture_output=True, text=True, timeout=limit,
                                  start_new_session=True)
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            output = f"{expired.stdout or ''}{expired.stderr or ''}\nStopped after {limit} s."
            write_failure(autograder, f"Grading did not finish within {limit} s.")
        results_path = autograder / "results" / RESULTS_NAME
        if not results_path.exists():
            write_failure(autograder, "The autograder failed on this submission.")
        report_path = autograder / "results" / REPORT_NAME
        graded = Graded(submission, json.loads(results_path.read_text()),
                        json.loads(report_path.read_text()) if report_path.exists() else None,
                        output, plugin["extra_credit"])
        if out_dir is not None:
            out_dir = Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(results_path, out_dir / RESULTS_NAME)
            if report_path.exists():
                shutil.copy(report_path, out_dir / REPORT_NAME)
            (out_dir / "output.txt").write_text(output)
    return graded


def scores(graded):
    """{question: (score, max_score)} from a Gradescope results.json, in its order."""
    return {t["name"]: (t["score"], t["max_score"]) for t in graded.results["tests"]
            if "max_score" in t}


def table(graded):
    """A plain-text score table for one graded submission."""
    rows = scores(graded)
    width = max([len(n) for n in rows] + [8])
    lines = [f"{graded.submission.name}"]
    regular = extra = possible = 0.0
    for name, (score, maximum) in rows.items():
        mark = " (extra credit)" if name in graded.extra_credit else ""
        lines.append(f"  {name:<{width}}  {score:>5g} / {maximum:<5g}{mark}")
        if name in graded.extra_credit:
            extra += score
        else:
            regular += score
            possible += maximum
    lines.append(f"  {'total':<{width}}  {regular:>5g} / {possible:<5g}"
                 + (f" + {extra:g} extra credit" if graded.extra_credit else ""))
    error = graded.report.get("error") if graded.report else graded.results.get("output")
    if error:
        lines.append(f"  note: {error}")
    return "\n".join(lines)
