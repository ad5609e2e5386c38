"""A sealed Report in Otter's terms: GradingResults, and from them Gradescope's results.json.

Extra credit follows Gradescope's convention: an extra-credit question's entry has a maximum of 0
and its points on top, so the points possible are the regular total everywhere (Gradescope,
`otter run`, `backprop-grader`), and the score is the regular score plus the extra credit.
"""

from otter.run import AutograderConfig
from otter.test_files import GradingResults
from otter.test_files.abstract_test import TestCase, TestCaseResult
from otter.test_files.exception_test import ExceptionTestFile


def install(report, results):
    """Put a sealed Report into Otter's GradingResults, one test file per question."""
    results.results = {q.name: _test_file(q) for q in report.questions}
    general = report.messages + ([report.error] if report.error else [])
    if general:
        results.set_output("\n".join(general))


def gradescope_json(report, otter_config):
    """Gradescope's results.json for `report`, formatted by Otter as Otter would."""
    results = GradingResults([])
    install(report, results)
    output = results.to_gradescope_dict(AutograderConfig(otter_config))
    regular, _, extra = report.totals()
    output["score"] = 0 if report.error else regular + extra
    if not report.questions:  # not even the tests could be read: say so in an entry of its own
        output["tests"].append({"name": "Autograder", "score": 0, "max_score": 0,
                                "visibility": "visible", "output": report.error or ""})
    return output


class _ExtraCredit(ExceptionTestFile):
    """A question whose points come on top of the regular total."""

    @property
    def possible(self):
        return 0


def _test_file(question):
    cases, outcomes = [], []
    for case in question.cases:
        test = TestCase(f"{question.name} - {case.name}", "", case.hidden, case.points, None, None)
        cases.append(test)
        message = "✅ passed" if case.passed else "❌ " + case.message
        outcomes.append(TestCaseResult(test, message, case.passed))
    kind = _ExtraCredit if question.extra_credit else ExceptionTestFile
    test_file = kind(question.name, f"tests/{question.name}.py", cases, all_or_nothing=False)
    test_file.test_case_results = outcomes
    return test_file
