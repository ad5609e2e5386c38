"""Shared fixtures: the autograder is built once per test session, into a temporary directory.

End-to-end tests grade through a copy of the zip whose limits are seconds (TEST_LIMITS), so that
hanging submissions cost the suite little time; one test reads the production limits from the
zip itself (`production_zip`).
"""

import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.assign import build
from grader.classes import batch

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = build.NOTEBOOK
TEST_LIMITS = {"step_timeout": 2, "submission_timeout": 30}


def with_limits(zip_path, target, **limits):
    """A copy of the autograder zip with the sealed grader's settings changed."""
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "otter_config.json":
                config = json.loads(data)
                for plugin in config["plugins"]:
                    if isinstance(plugin, dict):
                        for settings in plugin.values():
                            settings.update(limits)
                data = json.dumps(config).encode()
            copy.writestr(item, data)
    return target


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(student template notebook, autograder zip with TEST_LIMITS, reference solution
    notebook), freshly built."""
    out = tmp_path_factory.mktemp("built")
    template, solution = build.build(ROOT, template_dir=out / "student_template",
                                     zip_path=out / "dist" / "autograder.zip")
    fast = with_limits(out / "dist" / "autograder.zip", out / "dist" / "autograder-test.zip",
                       **TEST_LIMITS)
    return template, fast, solution


@pytest.fixture(scope="session")
def production_zip(built):
    """The zip as built, with the limits course staff ship."""
    return built[1].parent / "autograder.zip"


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
    return {name: score for name, (score, _) in graded.report.scores().items()}


def maxima(graded):
    return {name: most for name, (_, most) in graded.report.scores().items()}


def report_cases(graded, question):
    """{case name: (passed, message)} of one question, from sealed.json."""
    entry = next(q for q in graded.report.questions if q.name == question)
    return {c.name: (c.passed, c.message) for c in entry.cases}


@pytest.fixture(scope="session")
def attacked(built, grade_all, tmp_path_factory):
    """The hostile, hanging and malformed corpus (tests/adversarial.py) graded through the zip,
    with a secret planted in the grading process's environment; {name: Graded}."""
    from adversarial import ESCAPED, EXPECT, MARKER, SECRET, build
    from notebooks import load, reference_main

    template, _, solution = built
    folder = tmp_path_factory.mktemp("adversarial")
    for path in [Path(MARKER), *Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*")]:
        path.unlink(missing_ok=True)
    paths = {name: build(name, load(template), reference_main(solution), folder / name)
             for name in EXPECT}
    os.environ["BACKPROP_PLANTED_SECRET"] = SECRET
    try:
        return grade_all(paths)
    finally:
        del os.environ["BACKPROP_PLANTED_SECRET"]
