"""The autograder's entry point: `python -m grader.gradescope AUTOGRADER_DIR`.

Gradescope's run_autograder calls it in /autograder; `backprop-grader grade` calls it in a
directory laid out the same way (source/ from the zip, submission/, results/). It passes the
submission through intake, runs Otter's autograder (whose plugin grades in the sandbox), and makes
sure results/results.json exists even when intake refuses the submission or Otter fails.
"""

import json
import sys
import traceback
from pathlib import Path

from otter.run import AutograderConfig

from . import intake, sealed
from .otter_plugin import REPORT_NAME, grading_results

RESULTS_NAME = "results.json"


def run(autograder):
    autograder = Path(autograder).resolve()
    source, results = autograder / "source", autograder / "results"
    results.mkdir(exist_ok=True)
    (results / RESULTS_NAME).unlink(missing_ok=True)
    homework = json.loads((source / "homework.json").read_text())
    try:
        messages = intake.prepare(autograder / "submission", homework["notebook"])
    except intake.SubmissionError as error:
        write_failure(autograder, str(error))
        return
    try:
        from otter.run.run_autograder import main as otter_main

        otter_main(str(autograder))
    except Exception:
        traceback.print_exc()
    if not _readable(results / RESULTS_NAME):
        report_path = results / REPORT_NAME
        if _readable(report_path):
            report = sealed.Report.from_json(json.loads(report_path.read_text()))
            write_results(autograder, report)
        else:
            write_failure(autograder, "The autograder failed on this submission. Please tell "
                                      "course staff; they can see the details in the output.")
    if messages:  # what intake changed, in front of the grading's own messages
        output = json.loads((results / RESULTS_NAME).read_text())
        output["output"] = "\n".join(messages + [output.get("output", "")]).strip()
        (results / RESULTS_NAME).write_text(json.dumps(output, indent=4))


def write_failure(autograder, message):
    """Results with every question at zero and `message` as the reason."""
    source = Path(autograder) / "source"
    homework = json.loads((source / "homework.json").read_text())
    questions = sealed.load_questions(source / "tests", homework["questions"])
    write_results(autograder, sealed.Report.failed(questions, message))


def write_results(autograder, report):
    """Gradescope results for `report`, formatted by Otter as usual."""
    autograder = Path(autograder)
    config = json.loads((autograder / "source" / "otter_config.json").read_text())
    output = grading_results(report).to_gradescope_dict(AutograderConfig(config))
    if report.error:
        output["score"] = 0
    (autograder / "results" / RESULTS_NAME).write_text(json.dumps(output, indent=4))


def _readable(path):
    try:
        return isinstance(json.loads(Path(path).read_text()), dict)
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else "/autograder")
