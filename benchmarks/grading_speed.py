"""How long grading takes, side by side on the same submissions, and where the time goes.

Measures, in one run, on this machine:
  1. bare execution of a solved notebook's own cells (nbclient; no Otter cells, no grading);
  2. Otter's own `otter run -a dist/autograder.zip` on that notebook;
  3. `backprop-grader grade` on that notebook (sealed grading of one submission);
  4. a class of N submissions: (a) graded one after another, a `backprop-grader grade FILE` per
     submission; (b) as a batch, `backprop-grader grade FOLDER` (one worker per core); and (c)
     as a batch with one worker, to separate the gain of reused workers from parallelism;
and, to show where the time goes, Python with torch imported, and a Jupyter kernel's start.

Targets: (3) at most 1.5 times (1); (4) the batch at least 1.7 times faster than one by one.

Run after `make` (it needs dist/autograder.zip and dist/reference-solution.ipynb):
    .venv/bin/python benchmarks/grading_speed.py [--class-size 40] [--repeats 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "dist" / "autograder.zip"
SOLVED = ROOT / "dist" / "reference-solution.ipynb"
BLANK = ROOT / "student_template" / "HW1.2_Backpropagation.ipynb"
PYTHON = sys.executable


def timed(command, **kwargs):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def median_of(repeats, measure):
    return statistics.median(measure() for _ in range(repeats))


def bare(notebook, workdir):
    """The notebook's own cells, executed by nbclient: no Otter cells, no checks."""
    script = f"""
import nbformat
from nbclient import NotebookClient
nb = nbformat.read({str(notebook)!r}, as_version=4)
nb.cells = [c for c in nb.cells
            if not (c.cell_type == "code" and ("otter" in c.source or "grader." in c.source))]
NotebookClient(nb, resources={{"metadata": {{"path": {str(workdir)!r}}}}}).execute()
"""
    return timed([PYTHON, "-c", script])


def kernel_start(workdir):
    script = f"""
import nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
NotebookClient(nb, resources={{"metadata": {{"path": {str(workdir)!r}}}}}).execute()
"""
    return timed([PYTHON, "-c", script])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not ZIP.exists() or not SOLVED.exists():
        sys.exit("Run `make` first: dist/autograder.zip and dist/reference-solution.ipynb are "
                 "needed.")
    cli = [PYTHON, "-m", "grader.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        student = tmp / "HW1.2_Backpropagation.ipynb"
        shutil.copy(SOLVED, student)
        rows = {
            "python + import torch": median_of(args.repeats,
                                               lambda: timed([PYTHON, "-c", "import torch"])),
            "Jupyter kernel start (one cell)": median_of(args.repeats,
                                                         lambda: kernel_start(tmp)),
            "(1) bare execution of the notebook": median_of(args.repeats,
                                                            lambda: bare(student, tmp)),
            "(2) otter run -a autograder.zip": median_of(args.repeats, lambda: timed(
                [PYTHON, "-m", "otter", "run", "-a", str(ZIP), "-o", str(tmp), str(student)])),
            "(3) backprop-grader grade (sealed)": median_of(args.repeats, lambda: timed(
                cli + ["grade", str(student), "--zip", str(ZIP), "--out",
                       str(tmp / f"one-{time.time_ns()}")])),
        }
        folder = tmp / "class"
        folder.mkdir()
        for i in range(args.class_size):  # solved and blank notebooks, alternately
            shutil.copy(SOLVED if i % 2 == 0 else BLANK, folder / f"student{i:03}.ipynb")
        rows[f"(4a) {args.class_size} submissions, one command each"] = sum(
            timed(cli + ["grade", str(path), "--zip", str(ZIP), "--out", str(tmp / "serial")])
            for path in sorted(folder.iterdir()))
        rows[f"(4b) {args.class_size} submissions, one batch, {os.cpu_count()} workers"] = timed(
            cli + ["grade", str(folder), "--zip", str(ZIP), "--out", str(tmp / "batch")])
        rows[f"(4c) {args.class_size} submissions, one batch, 1 worker"] = timed(
            cli + ["grade", str(folder), "--zip", str(ZIP), "--out", str(tmp / "batch1"),
                   "--workers", "1"])
    width = max(map(len, rows))
    print(f"Grading speed on {os.cpu_count()} cores (median of {args.repeats} runs where "
          "repeated)\n")
    for name, seconds in rows.items():
        print(f"  {name:<{width}}  {seconds:7.2f} s")
    values = list(rows.values())
    print(f"\n  sealed grading / bare execution:  {values[4] / values[2]:.2f}  (target <= 1.5)")
    print(f"  one after another / batch:         {values[5] / values[6]:.2f}  (target >= 1.7)")


if __name__ == "__main__":
    main()
