"""Build the student template and dist/autograder.zip from the reference notebook.

Otter Assign does the splitting (student notebook, public and hidden test files). This module then
writes what Otter does not know about: homework.json (the pristine provided code and the "Do not
change" cells, for the sealed grader), a lean Gradescope environment with a CPU-only torch, a run
script that passes every submission through `grader.gradescope`, and this package as a wheel.
"""

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat
import yaml
from otter.assign import main as otter_assign

from grader.assign import student_tests
from grader.authoring.errors import protected_cells
from grader.submission.cells import Cell, _analyse

NOTEBOOK = "HW1.2_Backpropagation.ipynb"
TORCH = "torch==2.13.0+cpu"
PYTHON = "3.11"
TEMPLATES = Path(__file__).parent / "templates"


def build(root, template_dir=None, zip_path=None):
    """Regenerate `template_dir` and `zip_path` (defaults: root/student_template, root/dist).

    Returns (student notebook, reference solution notebook); the solution is kept beside the zip.
    """
    root = Path(root).resolve()
    template_dir = Path(template_dir or root / "student_template")
    zip_path = Path(zip_path or root / "dist" / "autograder.zip")
    with tempfile.TemporaryDirectory() as tmp, _pip_wheel(root, Path(tmp)) as pip:
        out = Path(tmp) / "assign"  # pip builds the wheel while Otter Assign runs
        master, settings = _master_for_otter(root / "reference" / NOTEBOOK, Path(tmp))
        otter_assign(str(master), str(out), no_pdfs=True)
        student = out / "student"
        notebook = student_notebook(nbformat.read(student / NOTEBOOK, as_version=4),
                                    student / "tests", root, settings)
        if template_dir.exists():
            shutil.rmtree(template_dir)
        template_dir.mkdir(parents=True)
        nbformat.write(notebook, template_dir / NOTEBOOK)
        homework = homework_layout(notebook)
        otter_zip = next((out / "autograder").glob("*.zip"))
        _write_zip(otter_zip, zip_path, homework, _wheel(pip, Path(tmp)))
        kept = zip_path.parent / "reference-solution.ipynb"
        shutil.copy(out / "autograder" / NOTEBOOK, kept)
    return template_dir / NOTEBOOK, kept


# ------------------------------------------------------------------ the student notebook

STUDENT_SETTINGS = "student_notebook"  # key of the ASSIGNMENT CONFIG cell read by this build
BOXES_KEY = "backprop"                  # the student notebook's metadata for its answer boxes
DEFAULT_COLAB_URL = ("https://colab.research.google.com/github/CS7150/CS7150-Homework-1/blob/"
                     "main/HW1.2_Backpropagation.ipynb")
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/[^)\s\"'<>]*")

INIT_CELL = """\
# Initialize Otter. Installs otter-grader, and matplotlib for the plots below, where they are
# missing (as in Colab). The public tests are stored in this notebook: this cell writes them to
# a tests folder beside it, where Otter reads them, and works from the notebook's folder.
import importlib.util, json, os
for _package in ("otter-grader", "matplotlib"):
    if importlib.util.find_spec(_package.split("-")[0]) is None:
        %pip install -q {_package}
import otter
from otter.check.utils import IPythonInterpreter
_colab = IPythonInterpreter.COLAB.value.running()

def _find_notebook(name="NOTEBOOK"):
    \"\"\"This notebook's file: in the kernel's folder, or where Jupyter or VS Code says it is.\"\"\"
    for path in (name, os.environ.get("JPY_SESSION_NAME", ""),
                 globals().get("__vsc_ipynb_file__", ""), globals().get("__session__", "")):
        if str(path).endswith(".ipynb") and os.path.isfile(path):
            return os.path.abspath(path)
    raise RuntimeError(
        f"This cell cannot find the notebook: there is no {name} in {os.getcwd()}, where the "
        "kernel runs. Save the notebook as " + name + ", then in a new cell run "
        "%cd /the/folder/of/the/notebook and run this cell again.")

if _colab:
    # Colab keeps no copy of the notebook file beside the kernel: ask Colab for the notebook.
    from google.colab import _message
    _read_notebook = lambda: _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]
else:
    _notebook_file = _find_notebook()
    if os.path.dirname(_notebook_file) != os.getcwd():  # Otter works from the notebook's folder
        os.chdir(os.path.dirname(_notebook_file))
        print(f"Working in {os.getcwd()}, the folder of this notebook.")
    _read_notebook = lambda: json.load(open(_notebook_file, encoding="utf-8"))
try:
    _tests = _read_notebook()["metadata"]["otter"]["tests"]
except Exception as _error:
    raise RuntimeError("Could not read the public tests stored in this notebook (in Colab, open "
                       f"the notebook again from the course's link) ({_error!r}).") from None
os.makedirs("tests", exist_ok=True)
for _question, _test in _tests.items():
    with open(os.path.join("tests", _question + ".py"), "w", encoding="utf-8") as _file:
        _file.write(_test)
grader = otter.Notebook(None if _colab else os.path.basename(_notebook_file), tests_dir="tests")""".replace(
    "NOTEBOOK", NOTEBOOK)

COLAB_SUBMIT = ("Otter cannot export a submission in Colab. To submit: File > Download > "
                "Download .ipynb, then upload that .ipynb file to Gradescope.")

EXPORT_CELL = f"""\
# Save your notebook first, then run this cell to export your submission.
from otter.check.utils import IPythonInterpreter
if grader.interpreter is IPythonInterpreter.COLAB:
    print({COLAB_SUBMIT!r})
else:
    grader.export(pdf=False, run_tests=True)"""


def _master_for_otter(master, tmp):
    """The reference notebook as Otter Assign reads it: this build's own settings
    (`student_notebook:` in the ASSIGNMENT CONFIG cell) taken out of the config cell."""
    notebook = nbformat.read(master, as_version=4)
    settings = {}
    for cell in notebook.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("# ASSIGNMENT CONFIG"):
            config = yaml.safe_load(cell.source) or {}
            settings = config.pop(STUDENT_SETTINGS, None) or {}
            if not isinstance(settings, dict) or set(settings) - {"colab_url"}:
                raise ValueError(f"{STUDENT_SETTINGS} in the ASSIGNMENT CONFIG cell takes only "
                                 "colab_url")
            cell.source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)
            break
    path = tmp / "master" / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    return path, settings


def student_notebook(notebook, tests_dir, root, settings):
    """Otter's student notebook made self-sufficient: the public tests (self-contained, see
    student_tests) and the answer boxes' labels in the notebook's metadata, an init cell that
    installs what is missing and works in Colab or from another folder, an export cell that
    says what to submit where Otter cannot export, and the configured Colab link."""
    from grader.answers.boxes import box_labels

    sources = student_tests.PackageSources(root)
    tests = {path.stem: student_tests.self_contained(path.read_text(), sources)
             for path in sorted(Path(tests_dir).glob("*.py"))}
    notebook.metadata["otter"] = {"OK_FORMAT": False, "tests": tests,
                                  "assignment_name": Path(NOTEBOOK).stem}
    # where the answers' boxes are, for the public checks to read them as grading does
    notebook.metadata[BOXES_KEY] = {"boxes": box_labels(notebook)}
    url = settings.get("colab_url") or DEFAULT_COLAB_URL
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    if markdown and COLAB_LINK.search(markdown[0].source):
        markdown[0].source = COLAB_LINK.sub(url, markdown[0].source)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if "otter.Notebook(" in cell.source:
            cell.source = INIT_CELL
        elif cell.source.rstrip().endswith("grader.export(pdf=False, run_tests=True)"):
            cell.source = EXPORT_CELL
    for number, cell in enumerate(notebook.cells):  # Otter's own cells get random ids
        cell.id = hashlib.sha1(f"{number}:{cell.source}".encode()).hexdigest()[:8]
    return notebook


def homework_layout(notebook):
    """What the sealed grader needs from the homework: the provided code, the protected cells
    with the headings they stand under, the names the provided code defines, the questions in
    notebook order, the answers with their markdown boxes, and the notebook's own Otter cells
    (never student code)."""
    from grader.answers.boxes import box_labels

    protected = [{"label": heading, "source": source}
                 for heading, source in protected_cells(notebook)]
    questions = [c.source.split('"')[1] for c in notebook.cells
                 if c.cell_type == "code" and c.source.startswith('grader.check("')]
    otter_cells = [c.source for c in notebook.cells if c.cell_type == "code"
                   and ("otter.Notebook(" in c.source or "grader.export(" in c.source)]
    provided = protected[0]["source"]
    boxes = box_labels(notebook)
    return {"notebook": NOTEBOOK, "provided": provided, "protected": protected,
            "provided_names": sorted(_analyse(Cell(0, provided)).binds), "questions": questions,
            "boxes": boxes, "answers": [box["name"] for box in boxes], "otter_cells": otter_cells}


def _pip_wheel(root, tmp):
    """Start building this package's wheel into tmp/wheel (a Popen: leaving it waits). With
    the setuptools this interpreter has, when it can build wheels: an isolated build would
    first install setuptools again (seconds)."""
    isolation = ["--no-build-isolation"] if _can_build_wheels() else []
    return subprocess.Popen([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                             *isolation, "-w", str(tmp / "wheel"), str(root)])


def _can_build_wheels():
    """setuptools 70.1 or newer builds wheels itself; older ones need the wheel package."""
    try:
        version = tuple(int(p) for p in re.findall(r"\d+", metadata.version("setuptools"))[:2])
    except metadata.PackageNotFoundError:
        return False
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _wheel(pip, tmp):
    if pip.wait() != 0:
        raise subprocess.CalledProcessError(pip.returncode, pip.args)
    return next((tmp / "wheel").glob("*.whl"))


def _write_zip(otter_zip, zip_path, homework, wheel):
    """Otter's zip with our environment, setup and run script in place of Otter's defaults."""
    replaced = {"run_autograder", "setup.sh", "environment.yml", "run_otter.py"}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(otter_zip) as source, \
            zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in replaced:
                target.writestr(item, source.read(item))
        target.writestr("homework.json", json.dumps(homework, indent=1))
        target.write(wheel, wheel.name)
        environment = (TEMPLATES / "environment.yml").read_text().format(
            python=PYTHON, torch=TORCH, wheel=wheel.name)
        target.writestr("environment.yml", environment)
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            target.writestr(info, (TEMPLATES / name).read_text())


# ------------------------------------------------------------------ build, verify, publish


@dataclass
class Outcome:
    """What `assign` did: `problems` is empty when the build was published."""
    template: Path
    zip_path: Path
    reference: object   # grader.classroom.workers.Graded of the reference solution
    blank: object       # ... of the blank student template
    problems: list

    @property
    def ok(self):
        return not self.problems

    def tables(self):
        from grader.feedback.tables import table

        return ("Reference solution\n" + table(self.reference.report, "reference solution")
                + "\n\nBlank student template\n" + table(self.blank.report, "blank template")
                + "\n")


def _cases(graded):
    """(question, case, points, passed, message) of every case sealed grading decided."""
    for question in graded.report.questions:
        for case in question.cases:
            yield question.name, case.name, case.points, case.passed, case.message


def verify(reference, blank):
    """The reasons a build must not ship: every case the reference solution fails, and every
    case that gives the blank template points, each with what was expected and what was found
    (the case's message)."""
    problems = []
    if reference.report.error:
        problems.append(f"the reference solution could not be graded: {reference.report.error}")
    for question, case, points, passed, message in _cases(reference):
        if not passed:
            problems.append(f"the reference solution fails {question} / {case}: {message}")
    for question, case, points, passed, message in _cases(blank):
        if passed and points:
            problems.append(f"the blank template earns {points:g} point(s) on {question} / "
                            f"{case}: it should fail, but the case passed")
    return problems


def assign(root):
    """Build into a scratch directory, grade the reference solution and the blank template
    through the new zip, and only if the reference earns every point and the blank template
    none, replace root/student_template and root/dist (autograder.zip, reference-solution.ipynb,
    graded/). Otherwise nothing in `root` changes. Returns an Outcome."""
    from grader.classroom import workers

    root = Path(root).resolve()
    dist = root / "dist"
    with tempfile.TemporaryDirectory(prefix="backprop-assign-") as scratch:
        scratch = Path(scratch)
        template, solution = build(root, template_dir=scratch / "student_template",
                                   zip_path=scratch / "dist" / "autograder.zip")
        zip_path = scratch / "dist" / "autograder.zip"
        worker = workers.Worker()  # one grading process for both: imports paid once
        try:
            reference = workers.grade_submission(zip_path, solution, worker)
            blank = workers.grade_submission(zip_path, template, worker)
        finally:
            worker.close()
        problems = verify(reference, blank)
        outcome = Outcome(root / "student_template" / NOTEBOOK, dist / "autograder.zip",
                          reference, blank, problems)
        if problems:
            return outcome
        for graded, name in [(reference, "reference"), (blank, "template")]:
            workers.write(graded, scratch / "dist" / "graded" / name)
        dist.mkdir(exist_ok=True)
        _publish(scratch / "student_template", root / "student_template")
        _publish(scratch / "dist" / "graded", dist / "graded")
        for name in ("reference-solution.ipynb", "autograder.zip"):
            staged = dist / f".{name}.new"
            shutil.copy(scratch / "dist" / name, staged)
            staged.replace(dist / name)
    return outcome


def _publish(new, old):
    """Replace directory `old` by a copy of `new`: the copy is made beside `old` first and
    swapped in by renames, so `old` is never a half-written mix."""
    staged, aside = old.with_name(f".{old.name}.new"), old.with_name(f".{old.name}.old")
    for leftover in (staged, aside):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(new, staged)
    if old.exists():
        old.replace(aside)
    staged.replace(old)
    if aside.exists():
        shutil.rmtree(aside)
