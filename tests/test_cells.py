"""Unit tests of grader.submission.cells (which cells grading runs, what counts as an edit,
answers from boxes) and of grader.sealed.scan (the static review of student cells), on small
notebooks built in memory."""

import time
from types import SimpleNamespace

import nbformat
import pytest

from engines import CORRECT

from grader.sealed import scan
from grader.submission import cells
from grader.submission.cells import Cell, Submission, from_notebook

PROTECTED = '''# Do not change the code in this cell.
import math

class ComputationNode:
    def __init__(self, *input_nodes, name=None):
        self.input_nodes = list(input_nodes)
        self.result = None
        self.gradient = None

SCALE = {"a": 1, "b": [2, 3]}
'''
OTTER_SETUP = ('# Initialize Otter\nimport otter\n'
               'grader = otter.Notebook("HW1.2_Backpropagation.ipynb")')
OTTER_EXPORT = 'grader.export(pdf=False, force_save=True)\nprint("Exported.")'


def homework(**changes):
    hw = {"protected": [{"label": "Setup", "source": PROTECTED}],
          "provided_names": ["ComputationNode", "math"],
          "answers": [],
          "otter_cells": [OTTER_SETUP, OTTER_EXPORT]}
    hw.update(changes)
    return hw


def notebook(*sources):
    """A notebook of code cells; a source starting with "md:" is a markdown cell."""
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:")
        else nbformat.v4.new_code_cell(s) for s in sources])


def plain_notebook(sources):
    """A large notebook of code cells as plain dicts (what from_notebook reads of a cell),
    built without nbformat's per-cell cost."""
    return {"cells": [{"cell_type": "code", "source": s} for s in sources]}


def numbers(cell_list):
    return [c.number for c in cell_list]


def by_number(submission, number):
    return next(c for c in submission.cells if c.number == number)


def run(cell_list):
    """Run cells the way grading does (in order, one namespace); return the namespace."""
    namespace = {}
    for cell in cell_list:
        exec(compile(cell.source, cell.label, "exec"), namespace)
    return namespace


# --- which cells a check needs ----------------------------------------------------------------

def test_cells_for_takes_the_definitions_and_what_they_use_in_notebook_order():
    sub = from_notebook(notebook(
        "md:# Homework",                                                 # 1
        PROTECTED,                                                       # 2
        "import torch",                                                  # 3
        "def helper(x):\n    return x * FACTOR",                         # 4
        "unrelated = 42\nprint('hello')",                                # 5
        "class Mul(ComputationNode):\n"                                  # 6
        "    def forward(self):\n"
        "        return helper(torch.ones(1))",
        "FACTOR = OFFSET + 1",                                           # 7
        "OFFSET = 2",                                                    # 8
        "print(unrelated, Mul)",                                         # 9
    ), homework())
    assert numbers(sub.cells) == [3, 4, 5, 6, 7, 8, 9]
    assert numbers(sub.cells_for(["Mul"])) == [3, 4, 6, 7, 8]
    assert numbers(sub.cells_for(["helper"])) == [4, 7, 8]
    assert numbers(sub.cells_for(["unrelated"])) == [5]
    assert numbers(sub.cells_for(["OFFSET", "unrelated"])) == [5, 8]
    assert sub.cells_for(["nothing_defines_this"]) == []


def test_a_helper_used_only_inside_a_method_is_included():
    sub = from_notebook(notebook(
        "def local_gradient(a, b):\n    return b",
        "def not_needed():\n    return 1",
        "class Matmul(ComputationNode):\n"
        "    def backward(self):\n"
        "        inner = 3\n"
        "        def scaled(g):\n"
        "            return g * inner\n"
        "        return [scaled(local_gradient(self.gradient, self.input_nodes[1]))]",
    ), homework())
    assert numbers(sub.cells_for(["Matmul"])) == [1, 3]
    matmul = by_number(sub, 3)
    assert {"local_gradient", "ComputationNode"} <= matmul.uses
    assert not {"inner", "scaled", "self", "g"} & matmul.uses  # locals are not module names


def test_names_used_in_class_bodies_and_defaults_are_found():
    sub = from_notebook(notebook(
        "EPS = 1e-6",
        "def default():\n    return 0",
        "class Leaf(ComputationNode):\n    tolerance = EPS\n"
        "    def __init__(self, value=default()):\n        self.value = value",
    ), homework())
    assert numbers(sub.cells_for(["Leaf"])) == [1, 2, 3]


@pytest.mark.parametrize("source, names", [
    ("for loop_name, (i, j) in []:\n    pass", {"loop_name", "i", "j"}),
    ("with open(__file__) as handle, open(__file__) as (h2):\n    pass", {"handle", "h2"}),
    ("import numpy as np\nimport os.path\nfrom math import pi as PI, e", {"np", "os", "PI", "e"}),
    ("if True:\n    if False:\n        nested = 1\n    else:\n        other = 2\nelse:\n"
     "    third = 3", {"nested", "other", "third"}),
    ("try:\n    t1 = 1\nexcept Exception:\n    t2 = 2\nelse:\n    t3 = 3\nfinally:\n"
     "    t4 = 4", {"t1", "t2", "t3", "t4"}),
    ("while False:\n    w = 1\nelse:\n    w2 = 2", {"w", "w2"}),
    ("a, (b, *c) = 1, (2, 3)\nd: int = 4\nf = g = 5\nh += 1", {"a", "b", "c", "d", "f", "g", "h"}),
    ("async def coroutine():\n    pass\nclass K:\n    inner = 1", {"coroutine", "K"}),
])
def test_names_bound_by_statements_are_found(source, names):
    sub = from_notebook(notebook("unrelated = 0", source), homework())
    assert by_number(sub, 2).binds == names
    for name in names:
        assert numbers(sub.cells_for([name])) == [2], name


def test_a_cell_with_a_syntax_error_still_binds_its_functions_and_classes():
    broken = ("def broken(:\n    pass\n"
              "class Engine(ComputationNode):\n    def forward(self)\n        pass\n"
              "answer = 3\n"
              "    def indented_method(self):\n        pass\n")
    sub = from_notebook(notebook("x = 1", broken, "y = Engine"), homework())
    assert by_number(sub, 2).binds == {"broken", "Engine", "answer"}
    assert numbers(sub.cells_for(["Engine"])) == [2]
    assert numbers(sub.cells_for(["y"])) == [2, 3]


def test_a_huge_expression_does_not_break_the_analysis():
    huge = "x = " + " + ".join(["1"] * 300_000)
    sub = from_notebook(notebook("y = 2", huge, "z = x"), homework())
    assert numbers(sub.cells) == [1, 2, 3]
    assert "x" in by_number(sub, 2).binds
    assert numbers(sub.cells_for(["z"])) == [2, 3]
    assert scan.review(sub.cells) == []


def test_magics_and_shell_lines_become_pass():
    sub = from_notebook(notebook("%matplotlib inline\n!pip install torch\nif True:\n"
                                 "    %time x = 1\ny = 2", "%%time\nz = 3"), homework())
    assert by_number(sub, 1).source == "pass\npass\nif True:\n    pass\ny = 2"
    assert by_number(sub, 2).source == "pass\nz = 3"
    assert run(sub.cells)["z"] == 3


# --- size and time limits ---------------------------------------------------------------------
# Bounds in CPU seconds of this process: what else the machine runs does not count.

def test_17000_cells_are_read_quickly(monkeypatch):
    monkeypatch.setattr(cells, "MAX_CELLS", 20_000)
    nb = plain_notebook([f"v{i} = v{i - 1} + 1" if i else "v0 = 0" for i in range(17_000)])
    started = time.process_time()
    sub = from_notebook(nb, homework(protected=[]))
    elapsed = time.process_time() - started
    assert len(sub.cells) == 17_000 and sub.flags == []
    assert elapsed < 2.0, elapsed
    assert len(sub.cells_for(["v16999"])) == 17_000


def test_more_than_max_cells_are_cut_with_a_review_flag():
    count = cells.MAX_CELLS + 1
    nb = plain_notebook([f"v{i} = {i}" for i in range(count)])
    nb["cells"][:0] = [{"cell_type": "markdown", "source": "text"}] * 10
    sub = from_notebook(nb, homework())
    assert len(sub.cells) == cells.MAX_CELLS
    assert sub.cells[-1].source == f"v{cells.MAX_CELLS - 1} = {cells.MAX_CELLS - 1}"
    assert ("review", f"{count} code cells; only the first {cells.MAX_CELLS} were read") \
        in sub.flags


def _chain(n):
    """n cells, each using the one before: cells_for the last takes them all."""
    chain = []
    for i in range(n):
        cell = Cell(i + 1, "")
        cell.binds, cell.uses = {f"v{i}", "shared"}, ({f"v{i - 1}", "shared"} if i else set())
        chain.append(cell)
    return Submission(chain, [], [])


def _best_time(sub, names, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        chosen = sub.cells_for(names)
        best = min(best, time.process_time() - started)
    return best, chosen


def test_cells_for_is_linear():
    small, large = _chain(5_000), _chain(20_000)
    t_small, chosen_small = _best_time(small, ["v4999"])
    t_large, chosen_large = _best_time(large, ["v19999"])
    assert len(chosen_small) == 5_000 and len(chosen_large) == 20_000
    assert numbers(chosen_large) == list(range(1, 20_001))
    assert t_large < 8 * t_small + 0.005, (t_small, t_large)


def test_a_passed_deadline_stops_the_reading():
    sub = from_notebook(notebook("md:intro", "a = 1", "b = 2"), homework(),
                        deadline=time.monotonic() - 1)
    assert sub.cells == []
    assert ("timeout", "reading the notebook stopped at cell 2") in sub.flags


def test_the_deadline_is_checked_between_cells(monkeypatch):
    clock = iter(range(1, 100))
    monkeypatch.setattr(cells, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    sub = from_notebook(notebook("md:intro", "a = 1", "b = 2", "md:x", "c = 3", "d = 4"),
                        homework(), deadline=2.5)
    assert numbers(sub.cells) == [2, 3]
    assert ("timeout", "reading the notebook stopped at cell 5") in sub.flags


# --- "Do not change" cells --------------------------------------------------------------------

EDITED_MESSAGE = ("The \"Do not change\" cell under 'Setup' is missing or was edited; grading "
                  "used the original cell.")
EDITED_FLAG = ("edited", "the \"Do not change\" cell under 'Setup'")

SAME_MEANING = {
    "unchanged": PROTECTED,
    "blank lines and trailing spaces": "\n\n" + PROTECTED.replace("\n", "   \n") + "\n\n",
    "comments added": PROTECTED.replace("import math", "import math  # for exp\n# my notes"),
    "two-space indentation": PROTECTED.replace("    ", "  "),
    "other quotes and spacing": PROTECTED.replace('{"a": 1, "b": [2, 3]}',
                                                  "{ 'a' : 1 ,\n   'b' : [ 2, 3, ] }"),
    "redundant parentheses": PROTECTED.replace("self.result = None", "self.result = (None)"),
    "windows line ends": PROTECTED.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("source", SAME_MEANING.values(), ids=SAME_MEANING.keys())
def test_formatting_changes_to_a_protected_cell_are_not_edits(source):
    sub = from_notebook(notebook("x = 1", source, "y = 2"), homework())
    assert sub.messages == ["The notebook has 0 cells starting with '# MAIN CODE' (it should "
                            "have one); the engine was taken from the cells that define its "
                            "classes and functions, in notebook order."]
    assert not [f for f in sub.flags if f[0] == "edited"]
    assert numbers(sub.cells) == [1, 3]  # the protected cell is never a student cell


CHANGED_MEANING = {
    "changed value": PROTECTED.replace('"b": [2, 3]', '"b": [2, 4]'),
    "changed name": PROTECTED.replace("self.gradient = None", "self.grad = None"),
    "added line": PROTECTED + "EXTRA = 1\n",
    "removed line": PROTECTED.replace("import math\n", ""),
    "changed string": PROTECTED.replace('"a"', '"A"'),
}


@pytest.mark.parametrize("source", CHANGED_MEANING.values(), ids=CHANGED_MEANING.keys())
def test_changes_in_meaning_of_a_protected_cell_are_reported(source):
    sub = from_notebook(notebook("# MAIN CODE\nx = 1", source), homework())
    assert sub.messages == [EDITED_MESSAGE]
    assert EDITED_FLAG in sub.flags
    assert numbers(sub.cells) == [1]  # the edited cell does not run either


def test_a_deleted_protected_cell_is_reported():
    sub = from_notebook(notebook("# MAIN CODE\nx = 1"), homework())
    assert sub.messages == [EDITED_MESSAGE]
    assert sub.flags == [EDITED_FLAG]


def test_a_protected_cell_without_marker_is_reported_and_its_names_noted():
    sub = from_notebook(notebook("# MAIN CODE\nx = 1", PROTECTED.split("\n", 1)[1]), homework())
    assert EDITED_FLAG in sub.flags
    assert sub.notes == ["Student cells redefine provided names: ComputationNode, math."]


def test_a_comment_above_the_protected_marker_is_not_an_edit():
    sub = from_notebook(notebook("# MAIN CODE\nx = 1", "# Exercise 1\n" + PROTECTED),
                        homework())
    assert sub.messages == []
    assert not [f for f in sub.flags if f[0] == "edited"]


def test_one_main_code_cell_gives_no_message():
    sub = from_notebook(notebook(PROTECTED, "  # MAIN CODE\nclass Mul(ComputationNode):\n"
                                            "    pass"), homework())
    assert sub.messages == [] and sub.flags == [] and sub.notes == []


def test_duplicated_main_code_marker_is_mentioned():
    sub = from_notebook(notebook(PROTECTED, "# MAIN CODE\na = 1", "# MAIN CODE\nb = 2"),
                        homework())
    assert sub.messages == ["The notebook has 2 cells starting with '# MAIN CODE' (it should "
                            "have one); the engine was taken from the cells that define its "
                            "classes and functions, in notebook order."]
    assert numbers(sub.cells_for(["a", "b"])) == [2, 3]


# --- answers from markdown boxes --------------------------------------------------------------

ANSWERS = ["answer_missing", "answer_blank", "answer_given", "answer_none"]
BOX_TEXT = "it's \"O(n)\"\nsecond line \\ end"


def box(text, where="box"):
    """An answer as grader.answers.boxes.read_boxes returns it."""
    return {"text": text, "where": where}


def test_answers_from_boxes():
    sub = from_notebook(
        notebook(PROTECTED, "# MAIN CODE\nx = 1",
                 "answer_blank = ...",
                 "answer_given = 'O(n^2)'",
                 "answer_none = ..."),
        homework(answers=ANSWERS),
        boxes={"answer_missing": box(BOX_TEXT), "answer_blank": box("O(1)"),
               "answer_given": box("from the box")})
    assert ("answers from boxes", "answer_missing, answer_blank") in sub.flags
    assert ("no answer", "answer_none") in sub.flags
    assert len([f for f in sub.flags if f[0] in ("answers from boxes", "no answer")]) == 2
    box_cells = [c for c in sub.cells if c.name_text]
    assert [c.label for c in box_cells] == ["<box of answer_missing>", "<box of answer_blank>"]
    assert [c.binds for c in box_cells] == [{"answer_missing"}, {"answer_blank"}]
    # numbered after every cell of the notebook: in notebook order, they run last
    assert min(c.number for c in box_cells) > 5
    in_order = sorted(sub.cells_for(["answer_blank"]), key=lambda c: c.number)
    assert run(in_order)["answer_blank"] == "O(1)"
    # what grading would run for each answer, and the value it yields
    assert run(sub.cells_for(["answer_missing"]))["answer_missing"] == BOX_TEXT
    assert [c.label for c in sub.cells_for(["answer_blank"])] == \
        ["<cell 3: answer_blank = ...>", "<box of answer_blank>"]
    assert run(sub.cells_for(["answer_blank"]))["answer_blank"] == "O(1)"
    assert numbers(sub.cells_for(["answer_given"])) == [4]
    assert run(sub.cells_for(["answer_given"]))["answer_given"] == "O(n^2)"
    assert run(sub.cells_for(["answer_none"]))["answer_none"] is Ellipsis


def test_answers_from_display_math_are_flagged_apart():
    sub = from_notebook(notebook(PROTECTED, "a = ..."), homework(answers=["a", "b"]),
                        boxes={"a": box("O(n)", "display math"), "b": box("2")})
    assert ("answers from display math", "a") in sub.flags
    assert ("answers from boxes", "b") in sub.flags
    assert [c.label for c in sub.cells if c.name_text] == ["<display math of a>", "<box of b>"]
    assert [c.name for c in sub.cells if c.name_text] == ["the display math of a",
                                                          "the box of b"]
    assert run(sub.cells_for(["a"]))["a"] == "O(n)"


def test_answers_without_boxes_or_answers():
    sub = from_notebook(notebook("a = 1"), homework(protected=[], answers=["a", "b"]))
    assert sub.flags == [("no answer", "b")]
    sub = from_notebook(notebook("a = 1"), homework(protected=[], answers=[]),
                        boxes={"a": box("box")})
    assert sub.flags == [] and numbers(sub.cells) == [1]


def test_a_later_real_answer_wins_over_an_earlier_blank():
    sub = from_notebook(notebook("ans = ...", "ans = 'O(n)'"), homework(answers=["ans"]),
                        boxes={"ans": box("from the box")})
    assert not [f for f in sub.flags if f[0] in ("answers from boxes", "no answer")]
    assert run(sub.cells_for(["ans"]))["ans"] == "O(n)"


# --- Otter's cells ----------------------------------------------------------------------------

def test_otter_cells_are_never_student_cells():
    sub = from_notebook(notebook(
        OTTER_SETUP,                                                          # 1
        "x = 1",                                                              # 2
        'grader.check("q1")',                                                 # 3
        '# Run the tests\ngrader.check("q2")\n\ngrader.check_all()',          # 4
        "import otter\ngrader = otter.Notebook()\ngrader.check_all()",        # 5
        "grader.export( pdf = False,\n    force_save = True )\n"
        "print( 'Exported.' )  # save",                                      # 6 (in meaning)
        'grader.check("q3")\nresult = 2',                                     # 7 a student cell
        "# MAIN CODE\ny = 2",                                                 # 8
    ), homework())
    assert numbers(sub.cells) == [2, 7, 8]
    assert sub.cells_for(["grader", "otter"]) == []


def test_an_otter_like_cell_that_differs_in_meaning_is_a_student_cell():
    sub = from_notebook(notebook('grader.export(pdf=True)\nprint("Exported.")'), homework())
    assert numbers(sub.cells) == [1]


# --- scan.review ------------------------------------------------------------------------------

# A correct engine of the engine corpus, in the style most students write.
CORRECT_ENGINE = CORRECT["own_dfs_t_reset_to_zero"]


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_review_does_not_flag_a_correct_engine(name):
    cells = [CORRECT[name]] if isinstance(CORRECT[name], str) else CORRECT[name]
    sub = from_notebook(notebook(PROTECTED, *cells), homework())
    assert numbers(sub.cells_for(["forward_algorithm", "backward_algorithm", "Mul"]))
    assert scan.review(sub.cells) == []


SUSPECT = {
    "sys._getframe": ("import sys\nframe = sys._getframe(1)", "frame access", "_getframe"),
    "tb_frame": ("try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame",
                 "frame access", "tb_frame"),
    "getattr string": ("def peek(e):\n    return getattr(e.__traceback__, 'tb_frame')",
                       "frame access", "tb_frame"),
    "torch.autograd": ("import torch\ndef grad(y, x):\n    return torch.autograd.grad(y, x)",
                       "torch autograd", "autograd"),
    "from torch import autograd": ("from torch import autograd", "torch autograd", "autograd"),
    "requires_grad": ("def f(t):\n    t.requires_grad_(True)", "torch autograd",
                      "requires_grad_"),
    "torch.func": ("import torch\ng = torch.func.grad(lambda x: x)",
                   "torch autograd (torch.func)", "func"),
    "ctypes": ("import ctypes\nctypes.string_at(0)", "native code", "ctypes"),
    "subprocess": ("import subprocess\nsubprocess.run(['ls'])", "processes", "subprocess"),
    "from subprocess": ("from subprocess import run", "processes", "subprocess"),
    "os.system": ("import os\nos.system('ls')", "processes", "system"),
    "gc": ("import gc\nobjs = gc.get_objects()", "garbage collector", "get_objects"),
    "sys.modules": ("import sys\nsys.modules['grader']", "module table", "modules"),
}


@pytest.mark.parametrize("source, what, name", SUSPECT.values(), ids=SUSPECT.keys())
def test_review_flags_suspect_code(source, what, name):
    cell = Cell(7, source)
    found = scan.review([Cell(1, CORRECT_ENGINE), cell])
    details = [detail for kind, detail in found]
    assert all(kind == "review" for kind, _ in found)
    expected = [d for d in details if d.startswith(f"uses {what}: ")]
    assert len(expected) == 1, details
    assert f"{name} in cell 7 ({cell.name})" in expected[0]
    assert "in cell 1 " not in " ".join(details)  # the correct engine is never blamed


def test_review_names_the_cell():
    assert scan.review([Cell(3, "\nimport sys\nf = sys._getframe(1)")]) == \
        [("review", "uses frame access: _getframe in cell 3 (your cell starting `import sys`)")]


def test_review_of_func_needs_torch():
    assert scan.review([Cell(1, "def func(x):\n    return x\ny = func(1)")]) == []


def test_review_ignores_code_that_does_not_parse():
    assert scan.review([Cell(1, "import ctypes\ndef broken(:")]) == []


def test_review_gives_one_flag_per_kind_with_at_most_five_places():
    source = "\n".join(f"x{i} = a.{name}" for i, name in enumerate(scan.SUSPECT)
                       if name != "func")
    found = scan.review([Cell(1, source)])
    kinds = {what for name, what in scan.SUSPECT.items() if name != "func"}
    assert len(found) == min(len(kinds), scan.MAX_FLAGS)
    assert sorted(detail.split(":")[0] for _, detail in found) == \
        sorted(f"uses {what}" for what in kinds)
    frame = next(detail for _, detail in found if detail.startswith("uses frame access: "))
    assert frame.count(" in cell 1 (") == 5  # eight frame names, five shown


def test_review_does_not_flag_otter_calls_in_student_cells():
    """`grader` in a notebook is Otter's object: checking from one's own cell is not suspect;
    importing the grader package is."""
    assert scan.review([Cell(1, 'x = 1\ngrader.check("step1_forward")')]) == []
    found = scan.review([Cell(2, "import grader.authoring.cases")])
    assert [kind for kind, _ in found] == ["review"] and "the grader" in found[0][1]
