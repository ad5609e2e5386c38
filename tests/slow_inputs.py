"""The session's slow inputs: the build, the corpora graded through the zip, the personas played
in kernels and graded, and the student notebook run in Jupyter and in Colab.

When a session needs the corpora, the personas or the student runs, tests/conftest.py starts this
file as a process of its own (`python tests/slow_inputs.py FOLDER NAME...`) as soon as the tests
are collected. It builds first (built.json, which the session's `built` fixture reads), then makes
what was asked side by side, each pickled into FOLDER as soon as it is made; the tests meanwhile
run beside it on the other core, and a fixture waits only for what its test needs. A session that
needs none of them builds in-process. kernels.execute keeps the kernels running at once to a few.
"""

import copy
import itertools
import json
import os
import pickle
import queue
import re
import subprocess
import sys
import threading
import time
import traceback
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from grader.assign import build as assign
from grader.classroom import workers
from kernels import NOTEBOOK, check_results, execute, kernel_cpu, make_kernel
from notebooks import (REFERENCE_ANSWERS, load, main_cell, reference_main, with_answers,
                       with_main)

ROOT = Path(__file__).resolve().parent.parent
TEST_LIMITS = {"step_timeout": 1.0, "submission_timeout": 30}
OTTER_RUN_TIMEOUT = 300
SLOW = ("corpus", "played", "student_runs")


# ---- the build --------------------------------------------------------------------------------

def with_limits(zip_path, target, **limits):
    """A copy of the autograder zip with the sealed grader's settings changed."""
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(target, "w") as copy_:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "otter_config.json":
                config = json.loads(data)
                for plugin in config["plugins"]:
                    if isinstance(plugin, dict):
                        for settings in plugin.values():
                            settings.update(limits)
                data = json.dumps(config).encode()
            copy_.writestr(item, data)
    return target


def build(out):
    """(student template notebook, autograder zip with TEST_LIMITS, reference solution
    notebook), freshly built into `out`. The zip as built, with the limits course staff ship,
    sits beside the fast one."""
    template, solution = assign.build(ROOT, template_dir=out / "student_template",
                                      zip_path=out / "dist" / "autograder.zip")
    fast = with_limits(out / "dist" / "autograder.zip", out / "dist" / "autograder-test.zip",
                       **TEST_LIMITS)
    return template, fast, solution


# ---- grading ----------------------------------------------------------------------------------

class Grading:
    """Grades {name: notebook or path} through a zip, two at a time, as a batch does (one
    `grader.classroom.workers.grade_submission` per submission, in worker processes kept until
    `close`); saves each result as a batch would; returns {name: Graded}. Calls may run side by
    side, each in a folder of its own, sharing the two at a time."""

    def __init__(self, zip_path, folder):
        self.zip_path, self.folder, self.calls = zip_path, Path(folder), itertools.count()
        self.idle, self.started = queue.SimpleQueue(), []
        self.slots = threading.BoundedSemaphore(2)

    def __call__(self, submissions):
        out, paths = self.folder / str(next(self.calls)), {}
        for name, item in submissions.items():
            if isinstance(item, Path):
                paths[name] = item
            else:
                (out / "in" / name).mkdir(parents=True, exist_ok=True)
                paths[name] = out / "in" / name / NOTEBOOK
                nbformat.write(item, paths[name])
        with ThreadPoolExecutor(2) as pool:
            return dict(pool.map(lambda item: self._one(out, *item), paths.items()))

    def _one(self, out, name, path):
        with self.slots:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                worker = workers.Worker()
                self.started.append(worker)
            try:
                graded = workers.grade_submission(self.zip_path, path, worker)
            finally:
                self.idle.put(worker)
        workers.write(graded, out / "results" / name)
        return name, replace(graded, submission=path)

    def close(self):
        for worker in self.started:
            worker.close()


def otter_run(zip_path, notebook_path, out_dir, check=True):
    """Otter's own `otter run` of the zip (the plugin path); returns its results.json. Otter's
    kernel can hang at start-up, so the run has a deadline."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o",
                    str(out_dir), str(notebook_path)], check=check, capture_output=True,
                   timeout=OTTER_RUN_TIMEOUT)
    return json.loads((out_dir / "results.json").read_text())


def without_export(notebook):
    """The notebook without its export cell, which would only run every check once more."""
    notebook = copy.deepcopy(notebook)
    notebook.cells = [c for c in notebook.cells if "grader.export(" not in c.source]
    return notebook


# ---- the corpora ------------------------------------------------------------------------------

def grade_corpus(built, grade_all, folder):
    """Every corpus graded in one batch: the engines of tests/engines.py, the hostile, hanging
    and malformed submissions of tests/adversarial.py, and the mixed answers of
    tests/test_answer_grading.py. {name: Graded}; names are those of the corpora."""
    from adversarial import ESCAPED, EXPECT, MARKER, build
    from engines import CORRECT, WRONG
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
    for path in [Path(MARKER), *Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*")]:
        path.unlink(missing_ok=True)
    for name in EXPECT:
        assert name not in submissions, name
        submissions[name] = build(name, load(template), base, folder / name)
    return grade_all(submissions)


# ---- the personas -----------------------------------------------------------------------------

@dataclass
class Played:
    executed: object    # the notebook after "Run All", with the observer cells around it
    folder: Path        # the notebook's folder
    checks: dict        # {question: [[case, passed, message], ...] or what the check cell raised}
    graded: object      # grader.classroom.workers.Graded: results.json, sealed.json
    exported: object = None   # the Graded of the zip its export cell wrote (EXPORTS only)


def student_engine(solution):
    """The reference engine as a student who solved it has it: without Otter Assign's markers."""
    source = reference_main(solution)
    source = re.sub(r'\n *""" # BEGIN PROMPT\n.*?""" # END PROMPT', "", source, flags=re.S)
    return re.sub(r"\n *# (BEGIN SOLUTION NO PROMPT|END SOLUTION)", "", source)


EXPORTS = "correct"   # the one persona that runs the export cell


def play_personas(built, grade_all, student_kernel, kernel_without_matplotlib, base):
    """{persona: Played}: every persona of tests/personas.py run in a kernel of its own while the
    same notebooks are graded through the zip, all in one `grade_all` call. The export cell,
    which runs every check once more, runs in the correct notebook only."""
    from personas import PERSONAS

    template, _, solution = built
    template, engine = load(template), student_engine(solution)
    notebooks = {name: p.make(template, engine) if name == EXPORTS else
                 without_export(p.make(template, engine)) for name, p in PERSONAS.items()}
    started, seconds = time.monotonic(), {}

    def play(name):
        run = PERSONAS[name].run
        folder, options = base / name, {}
        if run == "colab":
            options["colab"] = True
        elif run == "elsewhere":   # as Jupyter Server starts a kernel: it names the notebook
            options.update(cwd=base / f"{name}-home",
                           env={"JPY_SESSION_NAME": str(folder / NOTEBOOK)})
        specs = kernel_without_matplotlib if run == "no-matplotlib" else student_kernel
        executed = execute(notebooks[name], folder, specs, record=True, **options)
        seconds[name] = time.monotonic() - started
        return name, executed, folder

    def grade():
        graded = grade_all(notebooks)
        seconds["graded"] = time.monotonic() - started
        return graded

    with ThreadPoolExecutor(len(notebooks) + 1) as pool:
        grading = pool.submit(grade)
        runs = list(pool.map(play, notebooks))
        graded = grading.result()
    zips = sorted((base / EXPORTS).glob("*.zip"))
    exported = grade_all({"exported": zips[0]})["exported"] if len(zips) == 1 else None
    print(f"\n{len(PERSONAS)} personas played and graded in {time.monotonic() - started:.1f} s "
          f"(the last kernel done at {max(v for k, v in seconds.items() if k != 'graded'):.1f} s, "
          f"{sum(kernel_cpu(executed) for _, executed, _ in runs):.1f} s of CPU in the kernels; "
          f"grading done at {seconds['graded']:.1f} s)")
    return {name: Played(executed, folder, check_results(executed),
                         graded[name], exported if name == EXPORTS else None)
            for name, executed, folder in runs}


STANDIN = "0.0.1"   # the version of the stand-in matplotlib the local index serves
SHOWN = "(the stand-in for matplotlib showed a plot)"
STANDIN_PYPLOT = '''"""A stand-in for matplotlib.pyplot from the local index: it keeps the calls."""
calls = []


def _keep(name):
    def call(*args, **kwargs):
        calls.append(name)
    return call


plot, legend, figure = _keep("plot"), _keep("legend"), _keep("figure")


def show(*args, **kwargs):
    calls.append("show")
    print(%r)
''' % SHOWN


def standin_wheel(folder):
    """A wheel named matplotlib (pyplot's plot, legend and show, keeping their calls): what a
    package index would serve, in a folder pip reads with --find-links."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"matplotlib-{STANDIN}.dist-info"
    files = {"matplotlib/__init__.py": f'__version__ = "{STANDIN}"\n',
             "matplotlib/pyplot.py": STANDIN_PYPLOT,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: matplotlib\nVersion: {STANDIN}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(folder / f"matplotlib-{STANDIN}-py3-none-any.whl", "w") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
    return folder


def kernel_without_matplotlib(base):
    """A student kernel whose Python lacks matplotlib, with a local index that serves the
    stand-in (what the first cell then installs)."""
    index = standin_wheel(base / "index")
    return make_kernel(base, hide=("matplotlib", "mpl_toolkits", "pylab"),
                       env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(index),
                            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                            "PIP_ROOT_USER_ACTION": "ignore"})


# ---- the student notebook on its own ----------------------------------------------------------

def solved(template, solution):
    return with_answers(with_main(load(template), reference_main(solution)), REFERENCE_ANSWERS)


def run_student_notebook(built, student_kernel, base):
    """{(kind, True): (executed notebook, its folder)}: the solved and blank notebooks in Colab,
    export cell included (in Colab it says how to download). In Jupyter they are the correct and
    the blank personas (`play_personas`)."""
    template, _, solution = built
    jobs = {("solved", True): solved(template, solution), ("blank", True): load(template)}

    def folder(key):
        return base / f"{key[0]}-{'colab' if key[1] else 'jupyter'}"

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {key: pool.submit(execute, nb, folder(key), student_kernel, key[1])
                   for key, nb in jobs.items()}
        return {key: (future.result(), folder(key)) for key, future in futures.items()}


# ---- made beside the session --------------------------------------------------------------------

def main(folder, wanted):
    """Make `wanted` (names in SLOW) in `folder`: built.json first, then NAME.pickle for each as
    soon as it is made (written whole, then renamed); NAME.error with the traceback if making it
    failed."""
    folder, started = Path(folder), time.monotonic()
    built = build(folder / "built")
    print(f"built in {time.monotonic() - started:.1f} s", flush=True)
    _publish(folder / "built.json", json.dumps([str(path) for path in built]).encode())
    grading = Grading(built[1], folder / "graded")
    kernel = make_kernel(folder / "student-kernel") if set(wanted) - {"corpus"} else None
    makers = {
        "corpus": lambda: grade_corpus(built, grading, folder / "corpus"),
        "played": lambda: play_personas(built, grading, kernel, kernel_without_matplotlib(
            folder / "kernel-without-matplotlib"), folder / "personas"),
        "student_runs": lambda: run_student_notebook(built, kernel, folder / "student-runs")}

    def make(name):
        try:
            _publish(folder / f"{name}.pickle", pickle.dumps(makers[name]()))
            print(f"{name} made at {time.monotonic() - started:.1f} s", flush=True)
        except BaseException:  # noqa: B036 - the session must hear of any failure
            _publish(folder / f"{name}.error", traceback.format_exc().encode())

    try:
        with ThreadPoolExecutor(len(wanted)) as pool:
            list(pool.map(make, wanted))
    finally:
        grading.close()


def _publish(path, data):
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


if __name__ == "__main__":
    import slow_inputs  # what is pickled names this module, not __main__

    slow_inputs.main(sys.argv[1], sys.argv[2:])
