"""Shared fixtures: the autograder is built once per test session, into a temporary directory.

End-to-end tests grade through a copy of the zip whose limits are seconds
(slow_inputs.TEST_LIMITS), so that hanging submissions cost the suite little time; one test reads
the production limits from the zip itself (`production_zip`). The slowest inputs (the corpora
graded, the personas played, the student notebook run) are made by a process of their own beside
the tests (tests/slow_inputs.py).
"""

import fcntl
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from adversarial import SECRET
from grader.assign import build
from kernels import kernel_specs, make_kernel
from slow_inputs import ROOT, SLOW, TEST_LIMITS, Grading  # noqa: F401 - ROOT, TEST_LIMITS: for tests
from slow_inputs import build as build_for_tests
from slow_inputs import kernel_without_matplotlib as make_kernel_without_matplotlib

NOTEBOOK = build.NOTEBOOK
SLOW_INPUTS_LIMIT = 900   # seconds a test waits for a slow input before it fails
# In every grading process the session starts: what tests/adversarial.py's "environment" attack
# must not see.
os.environ["BACKPROP_PLANTED_SECRET"] = SECRET


# ---- the slow inputs, made beside the session ---------------------------------------------------

SLOW_KEY = pytest.StashKey()
FOLDER = "BACKPROP_SLOW_INPUTS"   # where they are made, for pytest-xdist's workers to find


class SlowInputs:
    """The process that makes the slow inputs the session's tests need (tests/slow_inputs.py),
    started by the first process of the session to have collected the tests (pytest alone, or
    one of pytest-xdist's workers); `load(name)` waits for what it made."""

    def __init__(self, folder, wanted):
        self.folder = folder
        with open(folder / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / "pid").exists():
                with open(folder / "log.txt", "wb") as log:
                    process = subprocess.Popen(
                        [sys.executable, str(Path(__file__).with_name("slow_inputs.py")),
                         str(folder), *sorted(wanted)], stdout=log, stderr=subprocess.STDOUT,
                        cwd=ROOT, start_new_session=True)
                (folder / "wanted.json").write_text(json.dumps(sorted(wanted)))
                (folder / "pid").write_text(str(process.pid))
        self.wanted = set(json.loads((folder / "wanted.json").read_text()))
        self.pid = int((folder / "pid").read_text())

    def wait(self, name, suffix=".pickle"):
        """The path of `name` + `suffix` once the process has written it."""
        path, deadline = self.folder / (name + suffix), time.monotonic() + SLOW_INPUTS_LIMIT
        while not path.exists():
            failed = self.folder / f"{name}.error"
            if failed.exists():
                pytest.fail(f"making {name} beside the tests failed:\n{failed.read_text()}")
            if not _running(self.pid) and not path.exists():
                pytest.fail("the process making the slow inputs ended:\n"
                            + (self.folder / "log.txt").read_text()[-5000:])
            if time.monotonic() > deadline:
                pytest.fail(f"{name} was not made within {SLOW_INPUTS_LIMIT} s")
            time.sleep(0.05)
        return path

    def load(self, name):
        return pickle.loads(self.wait(name).read_bytes())


def _running(pid):
    """Whether process `pid` runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def pytest_configure(config):
    if not hasattr(config, "workerinput"):   # pytest alone, or pytest-xdist's controller
        os.environ[FOLDER] = tempfile.mkdtemp(prefix="backprop-slow-inputs-")


def pytest_unconfigure(config):
    """The slow inputs' process and its folder go with the session."""
    if hasattr(config, "workerinput") or FOLDER not in os.environ:
        return
    folder = Path(os.environ.pop(FOLDER))
    if (folder / "pid").exists():
        pid = int((folder / "pid").read_text())
        try:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:   # ended, or not this process's child
            pass
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """The modules that need a slow input run last, so the others run while it is made."""
    waiting = {item.path for item in items if set(item.fixturenames) & set(SLOW)}
    items.sort(key=lambda item: item.path in waiting)


def pytest_collection_finish(session):
    wanted = {name for item in session.items for name in item.fixturenames} & set(SLOW)
    if session.config.option.collectonly:
        wanted = set()
    session.config.stash[SLOW_KEY] = SlowInputs(Path(os.environ[FOLDER]), wanted) \
        if wanted else None


@pytest.fixture(scope="session")
def slow(request):
    """The SlowInputs of the session, or None if it needs none."""
    return request.config.stash.get(SLOW_KEY, None)


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def built(slow, tmp_path_factory):
    """(student template notebook, autograder zip with TEST_LIMITS, reference solution
    notebook), freshly built (by the slow inputs' process when there is one)."""
    if slow is None:
        return build_for_tests(tmp_path_factory.mktemp("built"))
    return tuple(Path(path) for path in json.loads(slow.wait("built", ".json").read_text()))


@pytest.fixture(scope="session")
def production_zip(built):
    """The zip as built, with the limits course staff ship."""
    return built[1].parent / "autograder.zip"


@pytest.fixture(scope="session")
def grade_all(built, tmp_path_factory):
    """Grade {name: notebook or path} through the built zip (tests/slow_inputs.py's Grading)."""
    grading = Grading(built[1], tmp_path_factory.mktemp("graded"))
    yield grading
    grading.close()


@pytest.fixture(scope="session")
def corpus(slow):
    """Every corpus graded in one batch: {name: Graded} (tests/slow_inputs.py)."""
    return slow.load("corpus")


@pytest.fixture(scope="session")
def attacked(corpus):
    """The submissions of tests/adversarial.py, graded."""
    from adversarial import EXPECT

    return {name: corpus[name] for name in EXPECT}


@pytest.fixture(scope="session")
def played(slow):
    """{persona: Played}: every persona played in a kernel and graded (tests/slow_inputs.py)."""
    return slow.load("played")


@pytest.fixture(scope="session")
def student_runs(slow, played):
    """{(kind, colab): (executed notebook, folder)}: the solved and blank student notebooks run
    in Colab (tests/slow_inputs.py) and in Jupyter (the correct persona, which exports, and the
    blank one)."""
    runs = slow.load("student_runs")
    for kind, persona in (("solved", "correct"), ("blank", "blank")):
        runs[(kind, False)] = (played[persona].executed, played[persona].folder)
    return runs


@pytest.fixture(scope="session")
def student_kernel(tmp_path_factory):
    """A kernel spec for a Python that has Otter and torch but not this package (see
    tests/kernels.py); one for the whole session."""
    return make_kernel(tmp_path_factory.mktemp("student-kernel"))


@pytest.fixture(scope="session")
def kernel_without_matplotlib(slow, tmp_path_factory):
    """A student kernel whose Python lacks matplotlib: the one the personas played in, when
    they were played."""
    if slow is not None and "played" in slow.wanted:
        slow.wait("played")
        return kernel_specs(slow.folder / "kernel-without-matplotlib")
    return make_kernel_without_matplotlib(tmp_path_factory.mktemp("kernel-without-matplotlib"))


# ---- reading results --------------------------------------------------------------------------

def scores(graded):
    return {name: score for name, (score, _) in graded.report.scores().items()}


def report_cases(graded, question):
    """{case name: (passed, message)} of one question, from sealed.json."""
    entry = next(q for q in graded.report.questions if q.name == question)
    return {c.name: (c.passed, c.message) for c in entry.cases}
