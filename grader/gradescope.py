"""The autograder's entry point: `python -m grader.gradescope AUTOGRADER_DIR`.

Gradescope's run_autograder calls it in /autograder; `backprop-grader grade` calls it in a
directory laid out the same way (source/ from the zip, submission/, results/). It passes the
submission through intake, grades it sealed, and writes results/results.json in Otter's format,
always, even when intake refuses the submission or grading fails. No Jupyter kernel is started:
student code runs only in the sandbox, and nothing else needs executing.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

from grader.classes.tables import table
from grader.submission import intake
from grader.sealed.sandbox import Sandbox

RESULTS_NAME = "results.json"
REPORT_NAME = "sealed.json"
OUTPUT_NAME = "output.txt"
PLUGIN = "grader.otter_plugin.SealedGrading"
DEFAULTS = {"step_timeout": 20, "submission_timeout": 240, "memory_mb": 3072, "extra_credit": []}


def settings(plugin_config):
    """The sealed grader's settings: defaults updated by the plugin's otter_config entry."""
    return {**DEFAULTS, **(plugin_config or {})}


def otter_config(autograder):
    return json.loads((Path(autograder) / "source" / "otter_config.json").read_text())


def plugin_settings(config):
    entries = [e for e in config.get("plugins", []) if isinstance(e, dict) and PLUGIN in e]
    return settings(entries[0][PLUGIN] if entries else None)


def grade_directory(autograder, notebook, config, messages=(), flags=()):
    """Grade `notebook` (nbformat 4) with the zip unpacked in autograder/source; write and
    return the sealed Report, with `messages` and `flags` (from intake) first in it."""
    autograder = Path(autograder)
    source, results = autograder / "source", autograder / "results"
    homework = json.loads((source / "homework.json").read_text())
    sandbox = Sandbox(config["memory_mb"])
    sandbox.warm_up()  # the fork server imports torch while this process loads the rest
    from grader.answers.boxes import read_boxes
    from grader.sealed import grade as sealed  # imports Otter and torch

    if os.geteuid() == 0:  # children may run as other users: keep grading files to ourselves
        for private in (autograder, source, results, autograder / "submission"):
            if private.exists():
                private.chmod(0o700)
    questions = sealed.load_questions(source / "tests", homework["questions"])
    report = sealed.grade(notebook, questions, homework, sandbox, config["step_timeout"],
                          config["submission_timeout"], config["extra_credit"],
                          read_boxes(notebook, homework.get("boxes", [])))
    report.messages[:0] = messages
    for kind, detail in flags:
        report.flag(kind, detail)
    report.save(results / REPORT_NAME)
    return report


def run(autograder):
    """Grade the submission in `autograder` and write its results, whatever goes wrong."""
    autograder = Path(autograder).resolve()
    results = autograder / "results"
    results.mkdir(exist_ok=True)
    for name in (RESULTS_NAME, REPORT_NAME):
        (results / name).unlink(missing_ok=True)
    started = time.monotonic()
    try:
        homework = json.loads((autograder / "source" / "homework.json").read_text())
        notebook, messages, flags = intake.prepare(autograder / "submission",
                                                   homework["notebook"])
        config = otter_config(autograder)
        report = grade_directory(autograder, notebook, plugin_settings(config), messages, flags)
        write_results(autograder, report)
    except intake.SubmissionError as error:
        write_failure(autograder, str(error))
        return
    except Exception as error:  # noqa: BLE001 - a fault of the autograder, not of the student
        traceback.print_exc()
        write_failure(autograder, "The autograder failed on this submission; this is not a "
                                  "problem with your work. Please tell course staff; they can "
                                  "see the details in the output.",
                      staff=f"{type(error).__name__}: {error}")
        return
    print(f"Graded in {time.monotonic() - started:.1f} s.")
    print(table(report, staff=True))
    print("\n".join(report.messages + report.notes))


def write_failure(autograder, message, staff=None):
    """Results with every question at zero and `message` as the reason; `staff` says what
    broke when the autograder itself failed. Never raises: if even the tests cannot be read,
    the results hold one entry saying so."""
    autograder = Path(autograder)
    report = failure_report(autograder, message, staff)
    report.save(autograder / "results" / REPORT_NAME)
    try:
        write_results(autograder, report)
    except Exception as error:  # noqa: BLE001 - Otter's formatter or its config is broken
        _write_json(autograder / "results" / RESULTS_NAME, {
            "score": 0, "output": message, "tests": [{
                "name": "Autograder", "score": 0, "max_score": 0, "visibility": "visible",
                "output": f"{message}\n(staff: {staff or error})"}]})
    print(message)
    if staff:
        print(f"Autograder fault: {staff}")


def failure_report(autograder, message, staff=None):
    """A Report with every question at zero (no questions, if even the tests cannot be read)."""
    from grader.results import Report

    try:
        from grader.sealed import grade as sealed

        source = autograder / "source"
        homework = json.loads((source / "homework.json").read_text())
        config = plugin_settings(otter_config(autograder))
        questions = sealed.load_questions(source / "tests", homework["questions"])
        report = Report.failed(questions, message, config["extra_credit"])
    except Exception as error:  # noqa: BLE001
        staff = staff or f"{type(error).__name__}: {error}"
        report = Report.failed([], message)
    if staff:
        report.note(f"Autograder fault: {staff}")
    return report


def write_results(autograder, report):
    from grader.otter_results import gradescope_json  # imports Otter: only once grading is done

    _write_json(Path(autograder) / "results" / RESULTS_NAME,
                gradescope_json(report, otter_config(autograder)))


def _write_json(path, data):
    path.with_suffix(".tmp").write_text(json.dumps(data, indent=4))
    path.with_suffix(".tmp").replace(path)


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else "/autograder")
