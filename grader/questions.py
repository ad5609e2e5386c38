"""The questions of the homework, read from Otter's exception-based test files.

Read without importing Otter (a second of imports the grading process does not need): a test
file is Python that imports Otter's `test_case` decorator, sets `name` (and perhaps `points`),
and decorates test functions, each of which ends with one call of
grader.authoring.cases.case(env, probe, judge, ...). Running each function with a `Collector`
as `env` records its probe and judge. Point values resolve as Otter resolves them.
"""

import ast
import functools
import linecache
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.cases import Collector


class BrokenTests(Exception):
    """A staff-written test file could not be loaded: the autograder, not the student, failed."""


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


class _test_case:
    """Otter's decorator, as its test files use it."""

    def __init__(self, name=None, points=None, hidden=False, success_message=None,
                 failure_message=None):
        self.name, self.points, self.hidden = name, points, hidden

    def __call__(self, function):
        self.function = function
        return self


def load_questions(tests_dir, order=()):
    """Every question of `tests_dir`, those named in `order` first, in that order."""
    order = list(order)
    rank = lambda path: (order.index(path.stem) if path.stem in order else len(order), path.stem)
    files = tuple((path.name, path.read_text())
                  for path in sorted(Path(tests_dir).glob("*.py"), key=rank))
    return list(_questions(files))


@functools.lru_cache(maxsize=4)
def _questions(files):
    """The questions of test files given as (file name, text): read once for a batch of
    submissions graded with the same tests."""
    questions = []
    for name, text in files:
        try:
            questions.append(_load(name, text))
        except BrokenTests:
            raise
        except Exception as error:  # noqa: BLE001 - any fault in a staff-written file
            raise BrokenTests(f"{name} could not be loaded: {error!r}") from error
    return tuple(questions)


def _load(name, text):
    filename = f"<tests/{name}>"   # the probes' source is read back from linecache
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    tree = ast.parse(text, filename)
    tree.body = [s for s in tree.body if not (isinstance(s, ast.ImportFrom)
                                              and (s.module or "").startswith("otter"))]
    scope = {"test_case": _test_case, "__name__": Path(name).stem}
    exec(compile(tree, filename, "exec"), scope)
    tests = [v for v in scope.values() if isinstance(v, _test_case)]
    points = _points(scope.get("points"), [t.points for t in tests])
    cases = []
    for test, value in zip(tests, points):
        collector = Collector()
        test.function(collector)
        if len(collector.specs) != 1:
            raise BrokenTests(f"{name}: {test.function.__name__} must end with one call "
                                "of grader.authoring.cases.case(env, probe, judge, ...)")
        case_name = test.name or test.function.__name__.removeprefix("test_").replace("_", " ")
        cases.append(Case(case_name, value, bool(test.hidden), collector.specs[0]))
    return Question(scope.get("name", Path(name).stem), cases)


def _points(total, given):
    """Each case's points, as Otter resolves them: given values stand; a question total is
    shared among the cases without one; with neither, a question is worth 1."""
    if isinstance(total, list):
        return [float(p) for p in total]
    specified = sum(p for p in given if p is not None)
    open_cases = sum(p is None for p in given)
    if total is not None:
        rest = (total - specified) / open_cases if open_cases else 0.0
    else:
        rest = 1 / open_cases if open_cases and not specified else 0.0
    return [float(p) if p is not None else rest for p in given]
