"""The Otter plugin that keeps `otter run -a autograder.zip` sealed too.

Gradescope and `backprop-grader grade` call grader.gradescope directly. Otter's own `otter run`
does not run the zip's script; it runs tests in the student's kernel, where student code can
replace the checks. Listed in otter_config.json, this plugin takes Otter's grading events instead:

- before_grading: delete any .OTTER_LOG before Otter unpickles it;
- before_execution: start the sealed grading (grader.gradescope.grade_directory) and hand Otter a
  placeholder notebook without a line of student code to execute;
- after_grading: replace Otter's results with the sealed verdicts;
- generate_report: notes for course staff, printed in the autograder output.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

from grader.authoring.cases import STUB_FLAG
from grader.otter_results import install
from grader.gradescope import grade_directory, settings


class SealedGrading(AbstractOtterPlugin):

    def before_grading(self, config):
        for log in Path(self.submission_path).parent.rglob(".OTTER_LOG"):
            log.unlink()

    def before_execution(self, submission):
        """Grade in the background while Otter executes the placeholder notebook."""
        autograder = Path(self.submission_path).resolve().parent.parent
        self.grading = ThreadPoolExecutor(1).submit(
            grade_directory, autograder, submission, settings(self.plugin_config))
        placeholder = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"{STUB_FLAG} = True")])
        placeholder.metadata = submission.get("metadata", {})
        return placeholder

    def after_grading(self, results):
        self.report = self.grading.result()
        install(self.report, results)

    def generate_report(self):
        return "\n".join(self.report.notes)
