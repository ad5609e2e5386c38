"""Shared fixtures: the autograder is built once per test session, into a temporary directory.

End-to-end tests grade through a copy of the zip whose limits are seconds (TEST_LIMITS), so that
hanging submissions cost the suite little time; one test reads the production limits from the
zip itself (`production_zip`).
"""

import json
import os
import queue
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.assign import build
from grader.classroom import workers

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = build.NOTEBOOK
TEST_LIMITS = {"step_timeout": 1.0, "submission_timeout": 30}


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
    """Grade {name: notebook or path} through the built zip, two at a time, as a batch does (one
    `grader.classroom.workers.grade_submission` per submission, in worker processes kept for the whole
    session); save each result as a batch would; return {name: Graded}."""
    _, zip_path, _ = built
    out = tmp_path_factory.mktemp("graded")
    idle, started = queue.SimpleQueue(), []

    def grade_one(name, path):
        try:
            worker = idle.get_nowait()
        except queue.Empty:
            worker = workers.Worker()
            started.append(worker)
        try:
            graded = workers.grade_submission(zip_path, path, worker)
        finally:
            idle.put(worker)
        workers.write(graded, out / "results" / name)
        return name, replace(graded, submission=path)

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
        with ThreadPoolExecutor(2) as pool:
            return dict(pool.map(lambda item: grade_one(*item), paths.items()))

    yield grade
    for worker in started:
        worker.close()


def scores(graded):
    return {name: score for name, (score, _) in graded.report.scores().items()}


def maxima(graded):
    return {name: most for name, (_, most) in graded.report.scores().items()}


def report_cases(graded, question):
    """{case name: (passed, message)} of one question, from sealed.json."""
    entry = next(q for q in graded.report.questions if q.name == question)
    return {c.name: (c.passed, c.message) for c in entry.cases}


@pytest.fixture(scope="session")
def corpus(built, grade_all, tmp_path_factory):
    """Every corpus graded in one batch (one pair of workers for the whole session): the engines
    of tests/engines.py, the hostile, hanging and malformed submissions of tests/adversarial.py
    (with a secret planted in the grading process's environment), and the mixed answers of
    tests/test_answer_grading.py. {name: Graded}; names are those of the corpora."""
    import nbformat
    from adversarial import ESCAPED, EXPECT, MARKER, SECRET, build
    from engines import CORRECT, WRONG
    from notebooks import load, main_cell, reference_main, with_answers, with_main
    from test_answer_grading import MIXED, ta_notebook

    template, _, solution = built
    base = reference_main(solution)
    submissions = {name: with_main(load(template), base + "\n" + case["code"])
                   for name, case in WRONG.items()}
    for name, cells in CORRECT.items():
        cells = [cells] if isinstance(cells, str) else cells
        notebook = with_main(load(template), cells[0])
        position = notebook.cells.index(main_cell(notebook))
        for offset, source in enumerate(cells[1:], start=1):
            notebook.cells.insert(position + offset, nbformat.v4.new_code_cell(source))
        submissions[name] = notebook
    submissions["mixed"] = with_answers(load(template),
                                        {name: text for name, (text, _) in MIXED.items()})
    submissions["ta_reading"] = ta_notebook(base)
    folder = tmp_path_factory.mktemp("adversarial")
    for path in [Path(MARKER), *Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*")]:
        path.unlink(missing_ok=True)
    for name in EXPECT:
        assert name not in submissions, name
        submissions[name] = build(name, load(template), base, folder / name)
    os.environ["BACKPROP_PLANTED_SECRET"] = SECRET
    try:
        return grade_all(submissions)
    finally:
        del os.environ["BACKPROP_PLANTED_SECRET"]


@pytest.fixture(scope="session")
def attacked(corpus):
    """The submissions of tests/adversarial.py, graded."""
    from adversarial import EXPECT

    return {name: corpus[name] for name in EXPECT}


@pytest.fixture(scope="session")
def student_kernel(tmp_path_factory):
    """A kernel spec for a Python that has Otter and torch but not this package (see
    tests/kernels.py); one for the whole session."""
    from kernels import make_kernel

    return make_kernel(tmp_path_factory.mktemp("student-kernel"))
