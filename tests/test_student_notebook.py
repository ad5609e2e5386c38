"""The student notebook on its own: a real Jupyter kernel in which this package cannot be
imported, a folder that holds only the notebook, in Jupyter and with Otter's Colab detection on.

The kernel runs from a virtual environment of its own whose site-packages points at the project
environment's packages (otter-grader, torch, ipykernel) without running that directory's .pth
files, which hold this package's editable install; its PYTHONPATH is empty and its working
directory is the notebook's folder. The first cell of every run proves the package is absent.
"""

import copy
import json
import re
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from conftest import NOTEBOOK
from notebooks import QUESTIONS, REFERENCE_ANSWERS, load, reference_main, with_answers, with_main

KERNEL = "hw-student-only"
RESULTS = "CHECK-RESULTS:"
FAILED = "❌ Test case failed\n"   # Otter's own first line of a failed case
NOISE = re.compile(r"Error at line|case\(env|AssertionError|Traceback")

PROOF_CELL = """\
import importlib.util, sys
assert importlib.util.find_spec("grader") is None, "the course package is importable"
assert not any("backprop" in str(p) or "__editable__" in str(p) for p in sys.meta_path)
print("no course package:", sorted(p for p in __import__("os").listdir(".")))"""

COLAB_CELL = """\
# What Colab looks like to Otter: its shell class, and the frontend that holds the notebook.
import sys, types
_shell = get_ipython()
_shell.__class__ = type("Shell", (type(_shell),), {
    "__repr__": lambda self: "<google.colab._shell.Shell object>"})
_colab, _message = types.ModuleType("google.colab"), types.ModuleType("google.colab._message")
def _blocking_request(kind, request="", timeout_sec=5):
    assert kind == "get_ipynb"
    import json
    with open(%r, encoding="utf-8") as f:
        return {"ipynb": json.load(f)}
_message.blocking_request = _blocking_request
_colab._message = _message
sys.modules.update({"google": types.ModuleType("google"), "google.colab": _colab,
                    "google.colab._message": _message})
del _shell"""

RESULTS_CELL = f"""\
import json
_results = {{}}
for _q in {QUESTIONS!r}:
    _file = grader.check(_q)
    _results[_q] = [[r.test_case.name, bool(r.passed), r.message]
                    for r in _file.test_case_results]
print({RESULTS!r} + json.dumps(_results))"""


@pytest.fixture(scope="session")
def student_kernel(tmp_path_factory):
    """A kernel spec for a Python that has Otter and torch but not this package."""
    base = tmp_path_factory.mktemp("student-kernel")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    spec = base / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "student", "language": "python",
        "env": {"PYTHONPATH": "", "MPLBACKEND": "Agg"}}))
    return KernelSpecManager(kernel_dirs=[str(base / "kernels")])


def execute(notebook, folder, specs, colab=False, timeout=300):
    """Run `notebook` in `folder` with the student kernel; return the executed notebook.

    In Jupyter the notebook file is saved in the folder first (as Jupyter would); in Colab the
    folder stays empty and the fake frontend serves the notebook."""
    notebook = copy.deepcopy(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    if colab:
        served = folder.parent / f"{folder.name}-frontend.ipynb"
        nbformat.write(notebook, served)
    else:
        nbformat.write(notebook, folder / NOTEBOOK)
    extra = [PROOF_CELL] + ([COLAB_CELL % str(served)] if colab else [])
    notebook.cells[:0] = [nbformat.v4.new_code_cell(s) for s in extra]
    notebook.cells.append(nbformat.v4.new_code_cell(RESULTS_CELL))
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


def text(cell):
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"ERROR {output.ename}: {output.evalue}")
    return "".join(parts)


def errors(notebook):
    return [(c.source[:60], text(c)) for c in notebook.cells if c.cell_type == "code"
            and any(o.output_type == "error" for o in c.get("outputs", []))]


def check_outputs(notebook):
    return {c.source.split('"')[1]: text(c) for c in notebook.cells
            if c.cell_type == "code" and c.source.startswith('grader.check("')}


def check_results(notebook):
    found = text(notebook.cells[-1])
    assert RESULTS in found, found[-3000:]
    return json.loads(found.split(RESULTS, 1)[1])


def sealed_public(graded):
    """{question: [(passed, message when failed) of each public case, in order]} from sealed
    grading."""
    return {q.name: [(c.passed, c.message if not c.passed else "") for c in q.cases
                     if not c.hidden] for q in graded.report.questions}


def solved(template, solution):
    return with_answers(with_main(load(template), reference_main(solution)), REFERENCE_ANSWERS)


def without_export(notebook):
    notebook = copy.deepcopy(notebook)
    notebook.cells = [c for c in notebook.cells if "grader.export(" not in c.source]
    return notebook


@pytest.fixture(scope="module")
def runs(built, student_kernel, tmp_path_factory):
    """The solved and blank notebooks, in Jupyter and in Colab, run at once."""
    template, _, solution = built
    base = tmp_path_factory.mktemp("student-runs")
    jobs = {("solved", False): solved(template, solution),
            ("blank", False): without_export(load(template)),
            ("solved", True): solved(template, solution),
            ("blank", True): load(template)}
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {key: pool.submit(execute, nb, base / f"{key[0]}-{'colab' if key[1] else 'jupyter'}",
                                    student_kernel, key[1])
                   for key, nb in jobs.items()}
        return {key: (future.result(), base / f"{key[0]}-{'colab' if key[1] else 'jupyter'}")
                for key, future in futures.items()}


@pytest.fixture(scope="module")
def sealed(runs, grade_all):
    solved_nb, solved_folder = runs[("solved", False)]
    exported = sorted(solved_folder.glob("*.zip"))
    assert len(exported) == 1, "the export cell wrote no zip"
    graded = grade_all({"solved": solved_folder / NOTEBOOK,
                        "blank": runs[("blank", False)][1] / NOTEBOOK,
                        "exported": exported[0]})
    return graded


@pytest.mark.parametrize("colab", [False, True], ids=["jupyter", "colab"])
def test_solved_notebook_passes_every_public_check(runs, colab):
    notebook, folder = runs[("solved", colab)]
    assert "no course package" in text(notebook.cells[0])
    assert errors(notebook) == []
    outputs = check_outputs(notebook)
    assert list(outputs) == QUESTIONS
    for question, output in outputs.items():
        assert re.search(rf"{question} results: All test cases passed!", output), output
    results = check_results(notebook)
    assert all(passed for cases in results.values() for _, passed, _ in cases), results


@pytest.mark.parametrize("colab", [False, True], ids=["jupyter", "colab"])
def test_blank_notebook_fails_each_check_with_a_message(runs, colab):
    notebook, _ = runs[("blank", colab)]
    assert "no course package" in text(notebook.cells[0])
    failing = [source for source, _ in errors(notebook)]
    assert not any(s.startswith(("grader.check", "# Initialize Otter", "# Save your"))
                   for s in failing), errors(notebook)
    for question, cases in check_results(notebook).items():
        assert cases and not any(passed for _, passed, _ in cases), question
        for _, _, message in cases:
            # the grader's message alone: no Otter line numbers, no test source, no traceback
            assert message.startswith(FAILED), message
            assert not NOISE.search(message), message
            assert not re.search(r"\bgrader\.|_hw_public_checks|<public tests", message), message


def test_colab_and_jupyter_give_the_same_verdicts_and_messages(runs):
    for kind in ("solved", "blank"):
        jupyter, colab = runs[(kind, False)][0], runs[(kind, True)][0]
        assert check_outputs(colab) == check_outputs(jupyter)
        assert check_results(colab) == check_results(jupyter)


def test_colab_first_and_last_cells(runs):
    notebook, folder = runs[("solved", True)]
    init = next(c for c in notebook.cells if c.source.startswith("# Initialize Otter"))
    assert text(init).strip() == ""
    assert sorted(p.name for p in (folder / "tests").iterdir()) == \
        sorted(f"{q}.py" for q in QUESTIONS)
    export = next(c for c in notebook.cells if c.source.startswith("# Save your notebook"))
    assert "File > Download > Download .ipynb" in text(export) and "Gradescope" in text(export)
    assert "Traceback" not in text(export) and not list(folder.glob("*.zip"))


def test_checks_agree_with_sealed_grading(runs, sealed):
    """What the notebook says is what Gradescope gives: the same verdicts, the same messages."""
    for kind in ("solved", "blank"):
        notebook, _ = runs[(kind, False)]
        in_notebook = {q: [(passed, message.removeprefix(FAILED) if not passed else "")
                           for _, passed, message in cases]
                       for q, cases in check_results(notebook).items()}
        assert in_notebook == sealed_public(sealed[kind]), kind


def test_exported_zip_grades_in_full(runs, sealed):
    notebook, _ = runs[("solved", False)]
    export = next(c for c in notebook.cells if c.source.startswith("# Save your notebook"))
    assert "Your submission received the following results" in text(export), text(export)
    report = sealed["exported"].report
    assert report.error is None
    assert all(q.score == q.possible > 0 for q in report.questions), report.scores()


def test_otter_check_with_only_the_notebook_and_an_empty_tests_folder(runs, student_kernel,
                                                                     tmp_path):
    """`otter check` executes the notebook, whose first cell writes the public tests it stores
    into the tests folder Otter's command line insists on, and runs them."""
    _, solved_folder = runs[("solved", False)]
    folder = tmp_path / "only-the-notebook"
    (folder / "tests").mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes((solved_folder / NOTEBOOK).read_bytes())
    python = Path(json.loads(Path(student_kernel.get_kernel_spec(KERNEL).resource_dir,
                                  "kernel.json").read_text())["argv"][0])
    start = time.monotonic()
    done = subprocess.run([str(python), "-m", "otter", "check", NOTEBOOK], cwd=folder,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                              "MPLBACKEND": "Agg"})
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All tests passed!" in done.stdout, done.stdout[-3000:]
    print(f"otter check: {elapsed:.1f} s")
