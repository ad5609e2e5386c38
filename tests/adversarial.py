"""Hostile, hanging and malformed submissions, and what grading must make of each.

`build(name, template, engine, folder)` writes the submission file for case `name` into `folder`
and returns its path; `engine` is a correct # MAIN CODE cell. Each case's `expect` names the
questions that must keep full marks ("full"), those that must score zero ("zero"), and a pattern
the feedback must contain ("says").
"""

import copy
import json
import pickle
import zipfile

import nbformat

from notebooks import (ANSWER_QUESTIONS, ENGINE_STEPS, QUESTIONS, REFERENCE_ANSWERS,
                       main_cell, with_answers, with_main)

ANSWERS, ENGINE, ALL = ANSWER_QUESTIONS, ENGINE_STEPS, QUESTIONS
MARKER = "/tmp/backprop-otter-log-payload-ran"


class Payload:
    """Unpickling this creates MARKER: it shows whether anything unpickled a submitted log."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def correct(template, engine):
    return with_answers(with_main(template, engine), REFERENCE_ANSWERS)


def blank_with(template, code):
    """The blank engine of the template with `code` appended to its # MAIN CODE cell."""
    notebook = copy.deepcopy(template)
    main_cell(notebook).source += "\n" + code
    return notebook


def write(notebook, folder, name="HW1.2_Backpropagation.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


TAMPERING = {
    "patch_otter_runner": '''
import otter.test_files.abstract_test as _abstract
from otter.test_files import exception_test as _exception
_abstract.TestFile.score = property(lambda self: self.possible)
_abstract.TestFile.passed_all = property(lambda self: True)
_exception.ExceptionTestFile.run = lambda self, env: setattr(self, "test_case_results",
    [_abstract.TestCaseResult(tc, "passed", True) for tc in self.test_cases])
''',
    "patch_comparisons": '''
import builtins, math, torch
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.equal = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
builtins.isinstance = lambda *args: True
builtins.AssertionError = type("Nothing", (Exception,), {})
''',
    "patch_grader_package": '''
import grader.authoring.cases, grader.authoring.checks
grader.authoring.checks.close = lambda *args, **kwargs: None
grader.authoring.checks.program_matches = lambda *args, **kwargs: None
grader.authoring.cases.CaseSpec.verdict = lambda *args, **kwargs: None
''',
}

READ_HIDDEN_TESTS = '''import glob, os, re, subprocess
stolen = ""
for path in (glob.glob("/autograder/source/tests/paper_forward.py")
             + glob.glob("/tmp/*/autograder/source/tests/paper_forward.py")
             + glob.glob("/tmp/*/autograder/submission/tests/paper_forward.py")
             + glob.glob("/proc/[0-9]*/cwd/tests/paper_forward.py")
             + glob.glob("/proc/[0-9]*/cwd/../source/tests/paper_forward.py")):
    for read in (lambda p: open(p).read(), lambda p: os.popen("cat " + p).read(),
                 lambda p: subprocess.run(["cat", p], capture_output=True, text=True).stdout):
        try:
            stolen += read(path)
        except Exception:
            pass
found = re.findall(r"compare_value, '([^']*)'", stolen) + ["?"] * 6
fwd_a, fwd_b, fwd_c, fwd_d, fwd_e, fwd_z = found[:6]
'''

HANG_ON_LOAD = "\nwhile True:\n    pass\n"

HANG_IN_TENSOR_BACKWARD = '''
_backward = backward_algorithm
def backward_algorithm(graph, one=1.0):
    import torch
    while torch.is_tensor(one):
        pass
    return _backward(graph, one)
'''

SLEEP_EVERYWHERE = '''
import time
def forward_algorithm(graph):
    time.sleep(10 ** 6)
def backward_algorithm(graph, one=1.0):
    time.sleep(10 ** 6)
'''

EXIT_ON_LOAD = "\nimport os\nos._exit(3)\n"

EXIT_IN_FORWARD = '''
import sys
def forward_algorithm(graph):
    sys.exit("bye")
'''

KILL_SELF_IN_BACKWARD = '''
import signal
def backward_algorithm(graph, one=1.0):
    signal.raise_signal(signal.SIGKILL)
'''

HUGE_PRINT = '''
for _ in range(3):
    print("x" * 10 ** 8)
'''

MEMORY_HOG = '''
import torch
def forward_algorithm(graph):
    hog = torch.ones(10 ** 11)
'''

FORK_BOMB = '''
import os
def forward_algorithm(graph):
    while True:
        os.fork()
'''


def build(name, template, engine, folder):
    """Write submission `name` in `folder`; return its path."""
    solved = correct(template, engine)
    if name in TAMPERING:
        return write(blank_with(template, TAMPERING[name]), folder)
    if name == "read_hidden_tests":
        notebook = copy.deepcopy(template)
        cell = next(c for c in notebook.cells if c.source.lstrip().startswith("# Give each value"))
        cell.source = READ_HIDDEN_TESTS
        return write(notebook, folder)
    if name == "otter_log_payload":
        path = write(template, folder / "nb")
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.write(path, path.name)
            zf.writestr(".OTTER_LOG", pickle.dumps(Payload()))
        return folder / "submission.zip"
    engine_changes = {"hang_on_load": HANG_ON_LOAD, "hang_in_tensor_backward":
                      HANG_IN_TENSOR_BACKWARD, "sleep_everywhere": SLEEP_EVERYWHERE,
                      "exit_on_load": EXIT_ON_LOAD, "exit_in_forward": EXIT_IN_FORWARD,
                      "kill_self_in_backward": KILL_SELF_IN_BACKWARD, "huge_print": HUGE_PRINT,
                      "memory_hog": MEMORY_HOG, "fork_bomb": FORK_BOMB}
    if name in engine_changes:
        return write(correct(template, engine + "\n" + engine_changes[name]), folder)
    if name == "invalid_json":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "HW1.2_Backpropagation.ipynb"
        path.write_text(json.dumps(solved)[:-200])
        return path
    if name == "json_but_not_a_notebook":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "HW1.2_Backpropagation.ipynb").write_text("[1, 2, 3]")
        return folder / "HW1.2_Backpropagation.ipynb"
    if name == "no_main_code_marker":
        notebook = with_main(solved, engine.replace("# MAIN CODE\n", "# my engine\n", 1))
        return write(notebook, folder)
    if name == "two_main_code_cells":
        notebook = copy.deepcopy(template)
        stub = main_cell(notebook)
        notebook.cells.insert(notebook.cells.index(stub) + 1, nbformat.v4.new_code_cell(engine))
        return write(with_answers(notebook, REFERENCE_ANSWERS), folder)
    if name == "colab_badge_on_top":
        notebook = copy.deepcopy(solved)
        badge = nbformat.v4.new_markdown_cell(
            '<a href="https://colab.research.google.com/github/x/y/blob/main/'
            'HW1.2_Backpropagation.ipynb" target="_parent"><img src="https://colab.research.'
            'google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>')
        notebook.cells.insert(0, badge)
        return write(notebook, folder)
    if name == "edited_protected_cells":
        notebook = copy.deepcopy(solved)
        for cell in notebook.cells:
            if cell.source.startswith("# Do not change the code in this cell.\nimport math"):
                cell.source = cell.source.replace(
                    "            self.gradient = self.gradient + upstream_gradient",
                    "            self.gradient = upstream_gradient").replace(
                    "        self.result = self.value", "        self.result = 0")
            elif cell.source.startswith("# Do not change the code in this cell.\nx = Leaf"):
                cell.source += "\nforward_algorithm = None"
        return write(notebook, folder)
    if name == "renamed_notebook":
        return write(solved, folder, "my homework (final) v2.ipynb")
    if name == "nbformat_3":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "HW1.2_Backpropagation.ipynb"
        nbformat.write(nbformat.convert(solved, 3), path, version=3)
        return path
    if name == "syntax_error_in_main":
        return write(correct(template, engine.replace("def forward_algorithm(graph):",
                                                      "def forward_algorithm(graph)", 1)), folder)
    if name == "huge_stored_output":
        notebook = copy.deepcopy(solved)
        main_cell(notebook).outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text="y" * (60 * 2**20))]
        return write(notebook, folder)
    if name == "notebook_over_size_limit":
        notebook = copy.deepcopy(solved)
        main_cell(notebook).outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text="z" * (101 * 2**20))]
        return write(notebook, folder)
    if name == "zip_without_notebook":
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.writestr("answers.txt", "see notebook")
            zf.writestr("homework.pdf", "%PDF-1.4")
        return folder / "submission.zip"
    if name == "zip_with_two_notebooks":
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.writestr("draft.ipynb", nbformat.writes(template))
            zf.writestr("final.ipynb", nbformat.writes(solved))
        return folder / "submission.zip"
    raise KeyError(name)


# What grading must make of each case.
EXPECT = {
    # tampering: the code scores what it deserves, a blank engine nothing
    "patch_otter_runner": {"zero": ALL},
    "patch_comparisons": {"zero": ALL},
    "patch_grader_package": {"zero": ALL},
    "read_hidden_tests": {"zero": ANSWERS},
    "otter_log_payload": {"zero": ALL},
    # bounded: a hang costs the steps it hangs, nothing else
    "hang_on_load": {"full": ANSWERS, "zero": ENGINE, "says": r"did not finish running within"},
    "hang_in_tensor_backward": {"full": ANSWERS + ENGINE[:3], "zero": ["step4_tensors",
                                                                      "step6_matmul"],
                                # extra credit: the cases before the hang still count
                                "scores": {"step5_higher_order": 2.5},
                                "says": r"step4_tensors timed out after \d+ s"},
    "sleep_everywhere": {"full": ANSWERS, "zero": ENGINE, "says": r"timed out after \d+ s"},
    "exit_on_load": {"full": ANSWERS, "zero": ENGINE, "says": r"ended the grading process"},
    "exit_in_forward": {"full": ANSWERS, "zero": ENGINE, "says": r"raised SystemExit"},
    "kill_self_in_backward": {"full": ANSWERS + ENGINE[:1], "zero": ENGINE[1:],
                              "says": r"stopped by SIGKILL"},
    "huge_print": {"full": ALL},
    "memory_hog": {"full": ANSWERS, "zero": ENGINE, "says": r"memory"},
    "fork_bomb": {"full": ANSWERS, "zero": ENGINE, "says": r"os.fork is not allowed"},
    # malformed: a results file, a clear message, and everything that can be graded
    "invalid_json": {"zero": ALL, "says": r"not a valid notebook file: it is not JSON"},
    "json_but_not_a_notebook": {"zero": ALL, "says": r"not a Jupyter notebook"},
    "no_main_code_marker": {"full": ALL, "says": r"0 cells starting with '# MAIN CODE'"},
    "two_main_code_cells": {"full": ALL, "says": r"2 cells starting with '# MAIN CODE'"},
    "colab_badge_on_top": {"full": ALL},
    "edited_protected_cells": {"full": ALL, "says": r"cell under 'Exercise 2\.2.*' is missing or "
                                                    r"was edited; grading used the original cell"},
    "renamed_notebook": {"full": ALL, "says": r"named my homework \(final\) v2\.ipynb"},
    "nbformat_3": {"full": ALL},
    "syntax_error_in_main": {"full": ANSWERS, "zero": ENGINE, "says": r"SyntaxError"},
    "huge_stored_output": {"full": ALL},
    "notebook_over_size_limit": {"zero": ALL, "says": r"more than the 100 MB"},
    "zip_without_notebook": {"zero": ALL, "says": r"No notebook \(\.ipynb file\) was found"},
    "zip_with_two_notebooks": {"zero": ALL, "says": r"holds 2 notebooks"},
}
