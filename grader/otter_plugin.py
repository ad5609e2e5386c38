"""The Otter plugin that keeps `otter run -a autograder.zip` sealed too.

Gradescope and `backprop-grader grade` call grader.grading directly. Otter's own `otter run`
does not run the zip's script; it runs tests in the student's kernel, where student code can
replace the checks. Listed in otter_config.json, this plugin takes Otter's grading events instead:

- before_grading: delete every submitted file but the notebook (a .OTTER_LOG Otter would
  unpickle, a package its kernel would import);
- before_execution: start the sealed grading (grader.grading.grade_directory) and hand Otter a
  placeholder notebook without a line of student code to execute;
- after_grading: make Otter write the sealed results, as grader.feedback.results_json formats
  them for Gradescope;
- generate_report: notes for course staff, printed in the autograder output.
"""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

from grader import grading
from grader.authoring.cases import STUB_FLAG
from grader.feedback.results_json import results_json
from grader.sealed.sandbox import Sandbox

# Otter's kernel runs only the placeholder: never the kernel a submission names.
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class SealedGrading(AbstractOtterPlugin):

    def before_grading(self, config):
        """Leave only the notebook in the submission folder: Otter's kernel runs there, and a
        submitted file (a .OTTER_LOG Otter would unpickle, a grader/ package it would import)
        must never run."""
        notebook = Path(self.submission_path).resolve()
        for path in notebook.parent.iterdir():
            if path != notebook:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    def before_execution(self, submission):
        """Grade in the background while Otter executes the placeholder notebook."""
        self.autograder = Path(self.submission_path).resolve().parent.parent
        # A zygote from a fresh interpreter: this process may already hold the tests.
        self.sandbox = Sandbox(fresh=True)
        self.grading = ThreadPoolExecutor(1).submit(grading.grade_directory, self.autograder,
                                                    self.sandbox)
        placeholder = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"{STUB_FLAG} = True")])
        placeholder.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
        return placeholder

    def after_grading(self, results):
        try:
            self.report = self.grading.result()
        except Exception as error:  # noqa: BLE001 - results are written whatever goes wrong
            self.report = grading.failed(self.autograder, grading.AUTOGRADER_FAILED,
                                         f"{type(error).__name__}: {error}")
        finally:
            self.sandbox.close()
        report = self.report
        results.to_gradescope_dict = lambda ag_config: results_json(report, _config(ag_config))

    def generate_report(self):
        return "\n".join(self.report.notes)


def _config(ag_config):
    """The settings results_json reads, from Otter's AutograderConfig."""
    return {"show_hidden": ag_config.show_hidden,
            "force_public_test_summary": ag_config.force_public_test_summary}
