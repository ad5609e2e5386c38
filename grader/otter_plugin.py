"""The Otter plugin that makes grading sealed, for Gradescope and `otter run` alike.

Otter runs tests in the student's own kernel, where student code can replace the checks. This
plugin uses Otter's grading events instead:

- before_grading: delete any .OTTER_LOG before Otter unpickles it;
- before_execution: grade the submission in the sandbox (grader.sealed) and hand Otter a
  placeholder notebook without a line of student code to execute;
- after_grading: replace Otter's results with the sealed verdicts;
- generate_report: notes for course staff, printed in the autograder output.

Configuration (otter_config.json, under this plugin's name): step_timeout and
submission_timeout in seconds, memory_mb per child, extra_credit (question names).
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files import GradingResults
from otter.test_files.abstract_test import TestCase, TestCaseResult
from otter.test_files.exception_test import ExceptionTestFile

from . import sealed
from .cases import STUB_FLAG
from .sandbox import Sandbox

DEFAULTS = {"step_timeout": 20, "submission_timeout": 240, "memory_mb": 3072, "extra_credit": []}
REPORT_NAME = "sealed.json"


def settings(plugin_config):
    return {**DEFAULTS, **(plugin_config or {})}


class SealedGrading(AbstractOtterPlugin):

    def _layout(self):
        autograder = Path(self.submission_path).resolve().parent.parent
        return autograder / "source", autograder / "results"

    def before_grading(self, config):
        for log in Path(self.submission_path).parent.rglob(".OTTER_LOG"):
            log.unlink()

    def before_execution(self, submission):
        """Start sealed grading; while it runs, Otter executes a placeholder notebook."""
        source, results = self._layout()
        if os.geteuid() == 0:  # children run as other users: keep grading files to ourselves
            for private in (source, results, Path(self.submission_path).parent / "tests"):
                if private.exists():
                    private.chmod(0o700)
        config = settings(self.plugin_config)
        sandbox = Sandbox(config["memory_mb"])
        sandbox.warm_up()
        self.grading = ThreadPoolExecutor(1).submit(self._grade, submission, sandbox, config)
        placeholder = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"{STUB_FLAG} = True")])
        placeholder.metadata = submission.get("metadata", {})
        return placeholder

    def _grade(self, submission, sandbox, config):
        source, results = self._layout()
        homework = json.loads((source / "homework.json").read_text())
        questions = sealed.load_questions(source / "tests", homework["questions"])
        report = sealed.grade(submission, questions, homework, sandbox,
                              config["step_timeout"], config["submission_timeout"])
        sealed.write_report(report, results / REPORT_NAME)
        return report

    def after_grading(self, results):
        self.report = self.grading.result()
        install(self.report, results)

    def generate_report(self):
        return "\n".join(self.report.notes) or "Nothing to report."


def install(report, results):
    """Put a sealed Report into Otter's GradingResults, one test file per question."""
    results.results = {q.name: _test_file(q) for q in report.questions}
    general = report.messages + ([report.error] if report.error else [])
    if general:
        results.set_output("\n".join(general))


def _test_file(question):
    cases, outcomes = [], []
    for case in question.cases:
        test = TestCase(f"{question.name} - {case.name}", "", case.hidden, case.points, None, None)
        cases.append(test)
        message = "✅ passed" if case.passed else "❌ " + case.message
        outcomes.append(TestCaseResult(test, message, case.passed))
    test_file = ExceptionTestFile(question.name, f"tests/{question.name}.py", cases,
                                  all_or_nothing=False)
    test_file.test_case_results = outcomes
    return test_file


def grading_results(report):
    results = GradingResults([])
    install(report, results)
    return results
