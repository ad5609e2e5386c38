"""Sealed grading: run each question's probes in a sandboxed child, judge them here.

This process loads the test files (hidden cases and reference answers included) but never runs
student code, so nothing a submission patches can change a verdict here. Each question gets one
child with its own time limit; the cells it loads are only those its probes need, and it receives
its cases one at a time. What the child sends back is validated (grader.sealed.protocol) and
judged here against values this process computes itself.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from otter.test_files.exception_test import ExceptionTestFile

from grader.authoring.cases import Collector
from grader.results import CaseResult, QuestionResult, Report
from grader.sealed import scan
from grader.submission.cells import from_notebook


@dataclass
class Case:
    name: str
    points: float
    hidden: bool
    spec: object = field(repr=False, default=None)


@dataclass
class Question:
    name: str
    cases: list


class TestFileError(Exception):
    """A staff-written test file could not be loaded: the autograder, not the student, failed."""


def load_questions(tests_dir, order=()):
    """Read Otter test files and collect each case's probe and judge (see grader.authoring.cases).

    Questions named in `order` come first, in that order."""
    order = list(order)
    rank = lambda path: (order.index(path.stem) if path.stem in order else len(order), path.stem)
    questions = []
    for path in sorted(Path(tests_dir).glob("*.py"), key=rank):
        try:
            questions.append(_load_question(path))
        except TestFileError:
            raise
        except Exception as error:  # noqa: BLE001 - any fault in a staff-written file
            raise TestFileError(f"{path.name} could not be loaded: {error!r}") from error
    return questions


def _load_question(path):
    test_file = ExceptionTestFile.from_file(str(path))
    cases = []
    for test in test_file.test_cases:
        collector = Collector()
        test.body.call_func(collector)
        if len(collector.specs) != 1:
            raise TestFileError(f"{path.name}: {test.body.test_func.__name__} must end with one "
                                "call of grader.authoring.cases.case(env, probe, judge, ...)")
        name = test.body.test_func.__name__.removeprefix("test_").replace("_", " ")
        cases.append(Case(name, test.points, test.hidden, collector.specs[0]))
    return Question(test_file.name, cases)


def grade(notebook, questions, homework, sandbox, step_timeout, submission_timeout,
          extra_credit=(), boxes=None):
    """Grade a notebook (nbformat 4) on `questions`; return a Report."""
    deadline = time.monotonic() + submission_timeout
    submission = from_notebook(notebook, homework, deadline, boxes)
    jobs = []
    for question in questions:
        names = set().union(*(c.spec.student_names for c in question.cases))
        cells = submission.cells_for(names)
        jobs.append({
            "provided": homework["provided"],
            "cells": [{"label": c.label, "source": c.source} for c in cells],
            # public cases first: nothing a hidden case shows the child can reach a message
            # the student sees before grades are published
            "cases": sorted(({"id": k, "source": c.spec.source, "name": c.spec.name,
                              "params": c.spec.student_names, "inputs": c.spec.inputs,
                              "hidden": c.hidden} for k, c in enumerate(question.cases)),
                            key=lambda c: c["hidden"]),
        })
    runs = sandbox.run(jobs, step_timeout, deadline)
    report = Report([], list(submission.messages))
    for note in submission.notes:
        report.note(note)
    for kind, detail in submission.flags + scan.review(submission.cells):
        report.flag(kind, detail)
    for question, run in zip(questions, runs):
        result = _judge(question, run)
        result.extra_credit = question.name in extra_credit
        report.questions.append(result)
        if run.status != "finished":
            report.note(f"{question.name}: {run.status}: {run.detail} ({run.seconds:.1f} s).")
            kind = {"timeout": "timeout", "skipped": "timeout", "tampered": "tampered"}.get(
                run.status, "crashed")
            report.flag(kind, f"{question.name}: {run.detail}")
    report.note(f"Isolation: {sandbox.isolation}.")
    return report


STOPPED = {
    "timeout": "{q} {d}; this check did not finish.",
    "skipped": "{q} was {d}.",
    "tampered": "{q} was stopped: {d}. This check scores zero.",
    "garbled": "{q} was not graded: {d}.",
}


def _judge(question, run):
    failures = [f"{e['cell']} raised an error: {e['error']}" for e in run.loaded or []]
    context = "\n".join(failures) if failures else None
    stopped = STOPPED.get(run.status, "{q} was not graded: {d}.").format(q=question.name,
                                                                         d=run.detail)
    results = []
    for k, case in enumerate(question.cases):
        if k in run.outcomes and run.status != "tampered":
            message = case.spec.verdict(run.outcomes[k], context)
        else:
            message = stopped
        if message is not None and failures and "is not defined" not in message:
            message += "\nNote: " + "\n".join(failures)
        results.append(CaseResult(case.name, case.points, case.hidden, message is None,
                                  message or "passed"))
    return QuestionResult(question.name, results, run.status)
