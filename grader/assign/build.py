"""Build the student template and dist/autograder.zip from the reference notebook.

Otter Assign does the splitting (student notebook, public and hidden test files). This module then
writes what Otter does not know about: homework.json (the pristine provided code and the "Do not
change" cells, for the sealed grader), a lean Gradescope environment with a CPU-only torch, a run
script that passes every submission through `grader.gradescope`, and this package as a wheel.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
from otter.assign import main as otter_assign

from grader.submission.cells import PROTECTED_MARK, Cell, _analyse

NOTEBOOK = "HW1.2_Backpropagation.ipynb"
TORCH = "torch==2.13.0+cpu"
PYTHON = "3.11"
TEMPLATES = Path(__file__).parent / "templates"


def build(root, template_dir=None, zip_path=None):
    """Regenerate `template_dir` and `zip_path` (defaults: root/student_template, root/dist)."""
    root = Path(root).resolve()
    template_dir = Path(template_dir or root / "student_template")
    zip_path = Path(zip_path or root / "dist" / "autograder.zip")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "assign"
        otter_assign(str(root / "reference" / NOTEBOOK), str(out), no_pdfs=True)
        student = out / "student"
        notebook = nbformat.read(student / NOTEBOOK, as_version=4)
        for number, cell in enumerate(notebook.cells):  # Otter's own cells get random ids
            cell.id = hashlib.sha1(f"{number}:{cell.source}".encode()).hexdigest()[:8]
        nbformat.write(notebook, student / NOTEBOOK)
        if template_dir.exists():
            shutil.rmtree(template_dir)
        shutil.copytree(student, template_dir)
        homework = homework_layout(notebook)
        otter_zip = next((out / "autograder").glob("*.zip"))
        wheel = _wheel(root, Path(tmp))
        _write_zip(otter_zip, zip_path, homework, wheel)
        solution = Path(tmp) / "solution.ipynb"
        shutil.copy(out / "autograder" / NOTEBOOK, solution)
        kept = zip_path.parent / "reference-solution.ipynb"
        shutil.copy(solution, kept)
    return template_dir / NOTEBOOK, kept


def homework_layout(notebook):
    """What the sealed grader needs from the homework: the provided code, the protected cells,
    the names the provided code defines, and the questions in notebook order."""
    protected, heading = [], "the notebook"
    questions = []
    for cell in notebook.cells:
        source = cell.source
        if cell.cell_type == "markdown":
            titles = [line.lstrip("#").strip() for line in source.splitlines()
                      if line.startswith("#")]
            heading = titles[-1] if titles else heading
        elif cell.cell_type == "code" and source.startswith(PROTECTED_MARK):
            protected.append({"label": heading, "source": source})
        elif cell.cell_type == "code" and source.startswith('grader.check("'):
            questions.append(source.split('"')[1])
    provided = protected[0]["source"]
    return {"notebook": NOTEBOOK, "provided": provided, "protected": protected,
            "provided_names": sorted(_analyse(Cell(0, provided)).binds), "questions": questions}


def _wheel(root, tmp):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(tmp / "wheel"), str(root)], check=True)
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
