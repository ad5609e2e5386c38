"""Shared fixtures: the autograder is built once per test session, into a temporary directory."""

from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.assign import build
from grader.classes import batch
from grader.classes import workers as local

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = build.NOTEBOOK


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(student template notebook, autograder zip, reference solution notebook), freshly built."""
    out = tmp_path_factory.mktemp("built")
    template, solution = build.build(ROOT, template_dir=out / "student_template",
                                     zip_path=out / "dist" / "autograder.zip")
    return template, out / "dist" / "autograder.zip", solution


@pytest.fixture(scope="session")
def grade_all(built, tmp_path_factory):
    """Grade {name: notebook or path} through the built zip, two at a time; return {name: Graded}."""
    _, zip_path, _ = built
    out = tmp_path_factory.mktemp("graded")

    def grade(submissions):
        paths = {}
        for name, item in submissions.items():
            if isinstance(item, Path):
                paths[name] = item
            else:
                folder = out / "in" / name
                folder.mkdir(parents=True, exist_ok=True)
                paths[name] = folder / NOTEBOOK
                nbformat.write(item, paths[name])
        entries = [batch.Entry(name, path) for name, path in paths.items()]
        batch.grade_all(entries, zip_path, out / "results", workers=2)
        return {name: replace(batch.load(out / "results" / name), submission=path)
                for name, path in paths.items()}

    return grade


def scores(graded):
    return {name: score for name, (score, _) in local.scores(graded).items()}


def maxima(graded):
    return {name: most for name, (_, most) in local.scores(graded).items()}


def report_cases(graded, question):
    """{case name: (passed, message)} of one question, from sealed.json."""
    entry = next(q for q in graded.report["questions"] if q["name"] == question)
    return {c["name"]: (c["passed"], c["message"]) for c in entry["cases"]}
