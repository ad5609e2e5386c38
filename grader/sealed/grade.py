"""Sealed grading: run each question's probes in a sandboxed child, judge them here.

This process loads the test files (hidden cases and reference answers included) but never runs
student code, so nothing a submission patches can change a verdict here. Each question gets one
child with its own time limit; the cells it loads are only those its probes need.
"""

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from otter.test_files.exception_test import ExceptionTestFile

from grader.authoring.cases import Collector, read_outcome
from grader.authoring.codec import InvalidData
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


@dataclass
class CaseResult:
    name: str
    points: float
    hidden: bool
    passed: bool
    message: str


@dataclass
class QuestionResult:
    name: str
    cases: list
    status: str = "finished"   # how its child ended: finished, timeout, crashed, skipped, ...

    @property
    def score(self):
        return sum(c.points for c in self.cases if c.passed)

    @property
    def possible(self):
        return sum(c.points for c in self.cases)


@dataclass
class Report:
    questions: list
    messages: list = field(default_factory=list)  # for the student, about the whole notebook
    notes: list = field(default_factory=list)     # for course staff only
    error: str = None                              # set when the submission could not be graded

    def to_json(self):
        return {"questions": [dict(asdict(q), score=q.score, possible=q.possible)
                              for q in self.questions],
                "messages": self.messages, "notes": self.notes, "error": self.error}

    @classmethod
    def from_json(cls, data):
        return cls([QuestionResult(q["name"], [CaseResult(**c) for c in q["cases"]], q["status"])
                    for q in data["questions"]], data.get("messages", []),
                   data.get("notes", []), data.get("error"))

    @classmethod
    def failed(cls, questions, message):
        """Every case of every question at zero, with `message` saying why."""
        return cls([QuestionResult(q.name, [CaseResult(c.name, c.points, c.hidden, False, message)
                                            for c in q.cases], "skipped") for q in questions],
                   error=message)


def load_questions(tests_dir, order=()):
    """Read Otter test files and collect each case's probe and judge (see grader.authoring.cases).

    Questions named in `order` come first, in that order."""
    order = list(order)
    rank = lambda path: (order.index(path.stem) if path.stem in order else len(order), path.stem)
    questions = []
    for path in sorted(Path(tests_dir).glob("*.py"), key=rank):
        test_file = ExceptionTestFile.from_file(str(path))
        cases = []
        for test in test_file.test_cases:
            collector = Collector()
            test.body.call_func(collector)
            if len(collector.specs) != 1:
                raise ValueError(f"{path.name}: {test.body.test_func.__name__} must end with one "
                                 "call of grader.authoring.cases.case(env, probe, judge, ...)")
            name = test.body.test_func.__name__.removeprefix("test_").replace("_", " ")
            cases.append(Case(name, test.points, test.hidden, collector.specs[0]))
        questions.append(Question(test_file.name, cases))
    return questions


def grade(notebook, questions, homework, sandbox, step_timeout, submission_timeout):
    """Grade a notebook (nbformat 4) on `questions`; return a Report."""
    submission = from_notebook(notebook, homework)
    jobs = []
    for question in questions:
        names = set().union(*(c.spec.student_names for c in question.cases))
        cells = submission.cells_for(names)
        jobs.append({
            "provided": homework["provided"],
            "cells": [{"label": c.label, "source": c.source} for c in cells],
            "cases": [{"id": k, "source": c.spec.source, "name": c.spec.name,
                       "inputs": c.spec.inputs} for k, c in enumerate(question.cases)],
        })
    deadline = time.monotonic() + submission_timeout
    runs = sandbox.run(jobs, step_timeout, deadline)
    report = Report([], submission.messages,
                    submission.notes + [f"Isolation: {sandbox.isolation}."])
    for question, job, run in zip(questions, jobs, runs):
        report.questions.append(_judge(question, job, run))
        if run.status != "finished":
            report.notes.append(f"{question.name}: {run.detail} ({run.seconds:.1f} s).")
    return report


def _judge(question, job, run):
    loaded = next((m["loaded"] for m in run.messages if "loaded" in m), [])
    failures = [f"{e['cell']} raised an error: {e['error']}" for e in loaded]
    if failures:
        context = "\n".join(failures)
    elif job["cells"]:
        context = None
    else:
        context = "no cell of your notebook defines it."
    outcomes = {m["case"]: m.get("outcome") for m in run.messages if "case" in m}
    stopped = {"timeout": f"{question.name} {run.detail}; this check did not finish.",
               "skipped": f"{question.name} was {run.detail}."}.get(
        run.status, f"{question.name} was not graded: {run.detail}.")
    results = []
    for k, case in enumerate(question.cases):
        if k in outcomes:
            try:
                message = case.spec.verdict(read_outcome(outcomes[k]), context)
            except InvalidData as error:
                message = f"The values your code produced could not be read ({error})."
        else:
            message = stopped
        if message is not None and failures and "is not defined" not in message:
            message += "\nNote: " + "\n".join(failures)
        results.append(CaseResult(case.name, case.points, case.hidden, message is None,
                                  message or "passed"))
    return QuestionResult(question.name, results, run.status)

