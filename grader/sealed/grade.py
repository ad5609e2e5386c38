"""Sealed grading: run each question's probes in sandboxed children, judge them here.

This process loads the test files (hidden cases and reference answers included) but never runs
student code, so nothing a submission patches can change a verdict here. Each question gets a
child for its public cases and, once every public child has exited, one for its hidden cases;
each child loads only the cells its probes need and receives its cases one at a time. What the
children send back is validated (grader.sealed.protocol) and judged here against values this
process computes itself.
"""

import time

from grader.answers.boxes import read_boxes
from grader.authoring.errors import describe, provided_name
from grader.results import CaseResult, QuestionResult, Report
from grader.sealed import scan
from grader.sealed.child import PROVIDED_FILENAME
from grader.submission.cells import from_notebook
from grader.verdicts import STATUS_FLAGS, Flag, Kind, Status

PUBLIC, HIDDEN = 0, 1

STOPPED = {
    Status.TIMEOUT: "{q} {d}; this check did not finish.",
    Status.SKIPPED: "{q} was {d}.",
    Status.TAMPERED: "{q} was stopped: {d}. This check scores zero.",
}


def grade_notebook(notebook, context, sandbox):
    """Grade a notebook (nbformat 4) with the questions and settings of `context`; return a
    Report."""
    settings, homework = context.settings, context.homework
    deadline = time.monotonic() + settings["submission_timeout"]
    boxes = read_boxes(notebook, homework.get("boxes", []))
    submission = from_notebook(notebook, homework, deadline, boxes)
    questions = context.questions()
    provided = compile(homework["provided"], PROVIDED_FILENAME, "exec")
    jobs, owners = [], []
    for question in questions:
        for phase in (PUBLIC, HIDDEN):
            cases = [(k, c) for k, c in enumerate(question.cases) if c.hidden == bool(phase)]
            if not cases:
                continue
            names = set().union(*(c.spec.student_names for _, c in cases))
            jobs.append({
                "phase": phase, "timeout": settings["step_timeout"],
                "memory_mb": settings["memory_mb"],
                "provided": provided, "provided_number": submission.provided_at,
                "cells": [{"label": c.label, "source": c.source, "number": c.number}
                          for c in submission.cells_for(names)],
                "cases": [{"id": k, "code": c.spec.code, "name": c.spec.name,
                           "params": c.spec.student_names, "inputs": c.spec.inputs}
                          for k, c in cases]})
            owners.append(question)
    runs = sandbox.run(jobs, settings["step_timeout"], deadline)
    report = Report([], list(submission.messages))
    for note in submission.notes:
        report.note(note)
    for kind, detail in submission.flags + scan.review(submission.cells):
        report.flag(kind, detail)
    sources = {PROVIDED_FILENAME: (homework["provided"],
                                   provided_name(homework["protected"][0]["label"]))}
    sources.update({c.label: (c.source, c.name) for c in submission.cells})
    for question in questions:
        mine = [(job, run) for job, run, owner in zip(jobs, runs, owners) if owner is question]
        report.questions.append(_judge(question, mine, sources, report,
                                       question.name in context.extra_credit))
    report.note(f"Isolation: {sandbox.isolation}.")
    return report


def _judge(question, runs, sources, report, extra_credit):
    results, status = {}, Status.FINISHED
    for job, run in runs:
        if run.status != Status.FINISHED:
            status = run.status if status == Status.FINISHED else status
            report.note(f"{question.name}: {run.status.value}: {run.detail} "
                        f"({run.seconds:.1f} s).")
            report.flag(STATUS_FLAGS[run.status], f"{question.name}: {run.detail}")
        mine = {c["label"] for c in job["cells"]}  # a child may have loaded others' cells too
        failures = [f"{_capital(sources.get(e['cell'], ('', e['cell']))[1])} raised an error: "
                    f"{describe(e['error'], sources)}" for e in run.loaded or []
                    if e["cell"] in mine]
        stopped = STOPPED.get(run.status, "{q} was not graded: {d}.").format(  # garbled, crashed
            q=question.name, d=run.detail)
        for entry in job["cases"]:
            case = question.cases[entry["id"]]
            if entry["id"] in run.outcomes and run.status != Status.TAMPERED:
                outcome = run.outcomes[entry["id"]]
                if (outcome.get("error") or {}).get("type") == "AutogradRefused":
                    report.flag(Flag.REVIEW, f"{question.name}: called torch's autograd "
                                             "(refused)")
                verdict = case.spec.verdict(outcome, sources, "\n".join(failures) or None)
                for note in verdict.notes:
                    report.flag(Flag.EVIDENCE, f"{question.name} / {case.name}: {note}")
                message, kind, picture = verdict.message, verdict.kind, verdict.picture
                passed = verdict.passed
            else:
                message, kind, picture, passed = stopped, Kind.STOPPED, None, False
            if not passed and failures and "missing" not in run.outcomes.get(entry["id"], {}):
                message += "\nNote: " + "\n".join(failures)   # (a missing name says it)
            results[entry["id"]] = CaseResult(case.name, case.points, case.hidden, passed,
                                              message, kind, picture)
    return QuestionResult(question.name, [results[k] for k in sorted(results)], status,
                          extra_credit)


def _capital(text):
    return text[:1].upper() + text[1:]
