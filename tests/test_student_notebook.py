"""The student notebook on its own: a real Jupyter kernel in which this package cannot be
imported, a folder that holds only the notebook, in Jupyter and with Otter's Colab detection on.

The kernel runs from a virtual environment of its own whose site-packages points at the project
environment's packages (otter-grader, torch, ipykernel) without running that directory's .pth
files, which hold this package's editable install; its PYTHONPATH is empty and its working
directory is the notebook's folder. The first cell of every run proves the package is absent.
The kernel (the `student_kernel` fixture of tests/conftest.py) and the helpers that run the
notebook live in tests/kernels.py, shared with tests/test_personas.py; the runs themselves are
made with the session's other slow inputs (`student_runs`, tests/slow_inputs.py).
"""

import re
import subprocess
import time

import pytest

from conftest import NOTEBOOK
from kernels import FAILED, NOISE, check_outputs, check_results, errors, kernel_python, text
from notebooks import POINTS, QUESTIONS


def sealed_public(graded):
    """{question: [(passed, message when failed) of each public case, in order]} from sealed
    grading."""
    return {q.name: [(c.passed, c.message if not c.passed else "") for c in q.cases
                     if not c.hidden] for q in graded.report.questions}


@pytest.fixture(scope="module")
def sealed(played):
    """The solved and blank notebooks (the correct and blank personas) and the zip the solved one
    exported, graded through the zip."""
    assert played["correct"].exported is not None, "the export cell wrote no single zip"
    return {"solved": played["correct"].graded, "blank": played["blank"].graded,
            "exported": played["correct"].exported}


@pytest.mark.parametrize("colab", [False, True], ids=["jupyter", "colab"])
def test_solved_notebook_passes_every_public_check(student_runs, colab):
    notebook, _ = student_runs[("solved", colab)]
    assert "no course package" in text(notebook.cells[0])
    assert errors(notebook) == []
    outputs = check_outputs(notebook)
    assert list(outputs) == QUESTIONS
    for question, output in outputs.items():
        assert re.search(rf"{question} results: All test cases passed!", output), output
    results = check_results(notebook)
    assert list(results) == QUESTIONS and all(results.values())
    assert all(passed for cases in results.values() for _, passed, _ in cases), results


@pytest.mark.parametrize("colab", [False, True], ids=["jupyter", "colab"])
def test_blank_notebook_fails_each_check_with_a_message(student_runs, colab):
    notebook, _ = student_runs[("blank", colab)]
    assert "no course package" in text(notebook.cells[0])
    failing = [source for source, _ in errors(notebook)]
    assert not any(s.startswith(("grader.check", "# Initialize Otter", "# Save your"))
                   for s in failing), errors(notebook)
    results = check_results(notebook)
    assert list(results) == QUESTIONS
    for question, cases in results.items():
        assert cases and not any(passed for _, passed, _ in cases), question
        for _, _, message in cases:
            # the grader's message alone: no Otter line numbers, no test source, no traceback
            assert message.startswith(FAILED), message
            assert not NOISE.search(message), message
            assert not re.search(r"\bgrader\.|_hw_public_checks|<public tests", message), message


def test_colab_and_jupyter_give_the_same_verdicts_and_messages(student_runs):
    for kind in ("solved", "blank"):
        jupyter, colab = student_runs[(kind, False)][0], student_runs[(kind, True)][0]
        assert check_outputs(colab) == check_outputs(jupyter)
        assert check_results(colab) == check_results(jupyter)


def test_colab_first_and_last_cells(student_runs):
    notebook, folder = student_runs[("solved", True)]
    init = next(c for c in notebook.cells if c.source.startswith("# Initialize Otter"))
    assert text(init).strip() == ""
    assert sorted(p.name for p in (folder / "tests").iterdir()) == \
        sorted(f"{q}.py" for q in QUESTIONS)
    export = next(c for c in notebook.cells if c.source.startswith("# Save your notebook"))
    assert "File > Download > Download .ipynb" in text(export) and "Gradescope" in text(export)
    assert "Traceback" not in text(export) and not list(folder.glob("*.zip"))


def test_checks_agree_with_sealed_grading(student_runs, sealed):
    """What the notebook says is what Gradescope gives: the same verdicts, the same messages."""
    for kind in ("solved", "blank"):
        notebook, _ = student_runs[(kind, False)]
        in_notebook = {q: [(passed, message.removeprefix(FAILED) if not passed else "")
                           for _, passed, message in cases]
                       for q, cases in check_results(notebook).items()}
        assert in_notebook == sealed_public(sealed[kind]), kind


def test_exported_zip_grades_in_full(student_runs, sealed):
    notebook, _ = student_runs[("solved", False)]
    export = next(c for c in notebook.cells if c.source.startswith("# Save your notebook"))
    assert "Your submission received the following results" in text(export), text(export)
    report = sealed["exported"].report
    assert report.error is None
    assert {q.name: q.score for q in report.questions} == POINTS, report.scores()


def test_otter_check_with_only_the_notebook_and_an_empty_tests_folder(student_runs, student_kernel,
                                                                     tmp_path):
    """`otter check` executes the notebook, whose first cell writes the public tests it stores
    into the tests folder Otter's command line insists on, and runs them."""
    _, solved_folder = student_runs[("solved", False)]
    folder = tmp_path / "only-the-notebook"
    (folder / "tests").mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes((solved_folder / NOTEBOOK).read_bytes())
    python = kernel_python(student_kernel)
    start = time.monotonic()
    done = subprocess.run([str(python), "-m", "otter", "check", NOTEBOOK], cwd=folder,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                              "MPLBACKEND": "Agg"})
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All tests passed!" in done.stdout, done.stdout[-3000:]
    print(f"otter check: {elapsed:.1f} s")
