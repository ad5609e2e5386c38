"""One submission, start to end: intake, sealed grading, the results files, whatever fails.

`grade_directory` is what Gradescope's run script runs (through grader.gradescope), what each
worker of a class batch runs (grader.classroom.workers) and what `otter run` runs (through
grader.otter_plugin), so a submission is graded the same way everywhere. It always writes
results/results.json and results/sealed.json: a submission that cannot be graded gets every
question at zero and a message saying why; a fault of the autograder says so, to the student and
to staff.
"""

import json
import os
import threading
import time
import traceback
from pathlib import Path

from grader.context import REPORT_NAME, RESULTS_NAME, Context
from grader.results import Report

AUTOGRADER_FAILED = ("The autograder failed on this submission; this is not a problem with your "
                     "work. Please tell course staff; they can see the details in the output.")


def preload():
    """Import what judging needs (sympy among it) in the background, while the first children
    run: it is not needed before their replies arrive."""
    def work():
        import grader.answers.compare  # noqa: F401
        import grader.feedback.results_json  # noqa: F401
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def grade_directory(autograder, sandbox):
    """Grade the submission in `autograder` with `sandbox` (grader.sealed.sandbox); write its
    results whatever goes wrong; return the Report."""
    from grader.submission import intake

    autograder = Path(autograder).resolve()
    results = autograder / "results"
    results.mkdir(exist_ok=True)
    for name in (RESULTS_NAME, REPORT_NAME):
        (results / name).unlink(missing_ok=True)
    started = time.monotonic()
    context = None
    try:
        context = Context.load(autograder)
        notebook, messages, flags = intake.prepare(context.submission,
                                                   context.homework["notebook"])
        if os.geteuid() == 0:  # children may run as other users: keep grading files to ourselves
            for private in (autograder, context.source, results, context.submission):
                if private.exists():
                    private.chmod(0o700)
        from grader.sealed.grade import grade_notebook

        report = grade_notebook(notebook, context, sandbox)
        report.messages[:0] = messages
        for kind, detail in flags:
            report.flag(kind, detail)
    except intake.SubmissionError as error:
        report = failed(context or autograder, str(error))
    except Exception as error:  # noqa: BLE001 - a fault of the autograder, not of the student
        traceback.print_exc()
        report = failed(context or autograder, AUTOGRADER_FAILED,
                        f"{type(error).__name__}: {error}")
    if report.error is None:
        report.note(f"Graded in {time.monotonic() - started:.1f} s.")
    write(autograder, report, context)
    from grader.feedback.tables import table

    print(table(report, staff=True))
    print("\n".join(report.messages + report.notes))
    return report


def failed(context, message, staff=None):
    """A Report with every question at zero and `message` as the reason (no questions, if even
    the tests cannot be read); `staff` says what broke when the autograder itself failed."""
    try:
        context = context if isinstance(context, Context) else Context.load(context)
        report = Report.failed(context.questions(), message, context.extra_credit)
    except Exception as error:  # noqa: BLE001
        staff = staff or f"{type(error).__name__}: {error}"
        report = Report.failed([], message)
    if staff:
        report.note(f"Autograder fault: {staff}")
    return report


def write(autograder, report, context=None):
    """results/sealed.json and results/results.json for `report`. Never raises: if the results
    cannot be formatted, results.json says so in an entry of its own."""
    from grader.feedback.results_json import results_json

    results = Path(autograder) / "results"
    report.save(results / REPORT_NAME)
    try:
        config = context.config if context else \
            json.loads((Path(autograder) / "source" / "otter_config.json").read_text())
        data = results_json(report, config)
    except Exception as error:  # noqa: BLE001 - a broken config or a bug: still a results file
        trouble = {"name": "Autograder", "score": 0, "max_score": 0, "visibility": "visible",
                   "output": "(staff: the results could not be written in full: "
                             f"{type(error).__name__}: {error})"}
        try:
            data = results_json(report, {})
        except Exception:  # noqa: BLE001
            data = {"score": 0, "output": AUTOGRADER_FAILED, "tests": []}
        data["tests"].append(trouble)
    path = results / RESULTS_NAME
    path.with_suffix(".tmp").write_text(json.dumps(data, indent=1))
    path.with_suffix(".tmp").replace(path)


def write_failure(autograder, message, staff=None):
    """Results with every question at zero and `message` as the reason (for a grading process
    that overran or died)."""
    write(autograder, failed(autograder, message, staff))
