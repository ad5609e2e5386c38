"""The autograder's entry point: `python -m grader.gradescope AUTOGRADER_DIR`.

Gradescope's run_autograder calls it in /autograder; `backprop-grader grade` calls it in a
directory laid out the same way (source/ from the zip, submission/, results/). It passes the
submission through intake, grades it sealed, and writes results/results.json in Otter's format,
always, even when intake refuses the submission or grading fails. No Jupyter kernel is started:
student code runs only in the sandbox, and nothing else needs executing.
"""

import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

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


def grade_directory(autograder, notebook, config, messages=()):
    """Grade `notebook` (nbformat 4) with the zip unpacked in autograder/source; write and
    return the sealed Report, with `messages` (from intake) first among its messages."""
    autograder = Path(autograder)
    source, results = autograder / "source", autograder / "results"
    sandbox = Sandbox(config["memory_mb"])
    sandbox.warm_up()  # the fork server imports torch while this process loads the rest
    from grader.sealed import grade as sealed  # imports Otter and torch

    if os.geteuid() == 0:  # children may run as other users: keep grading files to ourselves
        for private in (autograder, source, results, autograder / "submission"):
            if private.exists():
                private.chmod(0o700)
    homework = json.loads((source / "homework.json").read_text())
    questions = sealed.load_questions(source / "tests", homework["questions"])
    report = sealed.grade(notebook, questions, homework, sandbox, config["step_timeout"],
                          config["submission_timeout"])
    report.messages[:0] = messages
    (results / REPORT_NAME).write_text(json.dumps(report.to_json(), indent=1))
    return report


def run(autograder):
    autograder = Path(autograder).resolve()
    results = autograder / "results"
    results.mkdir(exist_ok=True)
    for name in (RESULTS_NAME, REPORT_NAME):
        (results / name).unlink(missing_ok=True)
    started = time.monotonic()
    try:
        homework = json.loads((autograder / "source" / "homework.json").read_text())
        notebook, messages = intake.prepare(autograder / "submission", homework["notebook"])
        config = otter_config(autograder)
        report = grade_directory(autograder, notebook, plugin_settings(config), messages)
        write_results(autograder, report)
    except intake.SubmissionError as error:
        write_failure(autograder, str(error))
        return
    except Exception:
        traceback.print_exc()
        write_failure(autograder, "The autograder failed on this submission. Please tell course "
                                  "staff; they can see the details in the output.")
        return
    print(f"Graded in {time.monotonic() - started:.1f} s.")
    for question in report.questions:
        print(f"  {question.name:<20} {question.score:>5g} / {question.possible:<5g}"
              f" {question.status}")
    print("\n".join(report.messages + report.notes))


def write_failure(autograder, message):
    """Results with every question at zero and `message` as the reason."""
    from grader.sealed import grade as sealed

    source = Path(autograder) / "source"
    homework = json.loads((source / "homework.json").read_text())
    questions = sealed.load_questions(source / "tests", homework["questions"])
    report = sealed.Report.failed(questions, message)
    (Path(autograder) / "results" / REPORT_NAME).write_text(json.dumps(report.to_json(), indent=1))
    write_results(autograder, report)
    print(message)


def write_results(autograder, report):
    from grader.otter_results import gradescope_json  # imports Otter: only needed once grading is done

    output = gradescope_json(report, otter_config(autograder))
    path = Path(autograder) / "results" / RESULTS_NAME
    path.with_suffix(".tmp").write_text(json.dumps(output, indent=4))
    path.with_suffix(".tmp").replace(path)


def serve():
    """Grade the autograder directories named on stdin, one per line, in this one process, and
    answer `done DIR` on stdout after each: a batch pays for imports and the fork server once.
    What each run prints goes to DIR/results/output.txt."""
    for line in sys.stdin:
        autograder = Path(line.strip())
        with open(autograder / "results" / OUTPUT_NAME, "w") as out, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            run(autograder)
        print(f"done {autograder}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        run(sys.argv[1] if len(sys.argv) > 1 else "/autograder")
