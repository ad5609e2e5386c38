"""Answers written in the notebook's markdown (grader/answers/boxes.py): in \\boxed{} cells,
or in display math that replaced a box.

The published notebook is rebuilt from its text (tests/data/HW1.2_Backpropagation.txt):
blocks between blank lines become cells, those opening with "In [n]:" code cells, the
others markdown.  Its boxes are then filled in the way students fill them, with no
answer cells, and every answer read back must be judged as the master notebook's
hidden tests judge it.  read_boxes() returns {name: {"text": ..., "where": ...}}; texts()
keeps the texts of the answers read from boxes.
"""
import copy
import re
import time

import nbformat
import pytest

from grader.answers import compare_bigo, compare_value
from grader.answers.boxes import box_labels, read_boxes
from notebooks import REFERENCE, fill, published, unbox

NAMES = ["dz_dx_formula", "fwd_a", "fwd_b", "fwd_c", "fwd_d", "fwd_e", "fwd_z", "dz_dz", "dz_de",
         "dz_dd", "dz_dc", "dz_db", "dz_da", "dz_dx", "T_run", "T_forward", "T_backward",
         "T_backward_W1", "M_run", "M_forward", "M_backward", "M_backward_W1"]
# What students put in the published boxes, by the box's left-hand side (its first member).
FILLED = {
    r"\frac{dz}{dx}": r"\sinh{x}",
    "a": r"\text{log 2}",
    "b": "2",
    "c": r"\log{2}",
    "d": r"-\log 2",
    "e": r"\frac{1}{2}",
    "z": r"\frac{5}{4} = 1.25",
    r"\frac{\partial z}{\partial z}": "1",
    r"\frac{\partial z}{\partial e}": r"\text{1/2}",
    r"\frac{\partial z}{\partial d}": r"\frac{1}{4}",
    r"\frac{\partial z}{\partial c}": r"-\frac{1}{4}",
    r"\frac{\partial z}{\partial b}": "0.5",
    r"\frac{\partial z}{\partial a}": r"\frac{\partial z}{\partial b} \cdot 2 = 1",
    r"\frac{\partial z}{\partial x}": r"\frac{3}{4}",
    r"T_{\text{run}}": r"O(nbd^2)",
    r"T_{\text{forward}}": r"O(n b d^{2}) \text{ Same since no graph is built}",
    r"T_{\text{backward}}": r"\mathcal{O}(n \cdot b \cdot d^2)",
    r"T_{\text{backward-for-}W_1}": r"O(nbd^2 + nbd) = O(nbd^2)",
    r"M_{\text{run}}": r"O(bd)",
    r"M_{\text{forward}}": r"O(n\,b\,d)",
    r"M_{\text{backward}}": r"O(nbd + nd^{2})",
    r"M_{\text{backward-for-}W_1}": r"O(d^2 + nbd)",
}


@pytest.fixture(scope="module")
def master():
    return nbformat.read(REFERENCE, as_version=4)


@pytest.fixture(scope="module")
def labels(master):
    return box_labels(master)


@pytest.fixture(scope="module")
def references(master):
    """{name: (compare function, reference)} from the master notebook's hidden tests."""
    found = {}
    for cell in master.cells:
        for name, function, reference in re.findall(
                r"answer_correct\(found, '(\w+)', (compare_\w+), '([^']*)'\)", cell.source):
            found[name] = ({"compare_value": compare_value, "compare_bigo": compare_bigo}[function],
                           reference)
    return found


def texts(read, where="box"):
    """{name: text} of the answers read_boxes() read, all of which must come from `where`."""
    assert all(found["where"] == where for found in read.values()), read
    return {name: found["text"] for name, found in read.items()}


def test_labels_of_the_master_notebook(labels):
    assert [entry["name"] for entry in labels] == NAMES
    assert all(set(entry) == {"name", "label", "heading"} for entry in labels)
    by_name = {entry["name"]: entry["label"] for entry in labels}
    assert by_name["dz_dx_formula"] == r"\frac{dz}{dx}"
    assert by_name["fwd_a"] == "a"
    assert by_name["dz_de"] == r"\frac{\partial z}{\partial e}"
    assert by_name["T_backward_W1"] == r"T_{\text{backward-for-}W_1}"
    assert by_name["M_run"] == r"M_{\text{run}}"


def test_every_published_box_has_a_label(labels):
    """The published notebook's boxes carry exactly the master notebook's labels."""
    assert set(FILLED) == {entry["label"] for entry in labels}


def test_published_boxes_filled_in_by_a_student(labels, references):
    notebook = fill(published(), FILLED)
    assert not any(c.cell_type == "code" and "fwd_a" in c.source for c in notebook.cells)
    by_label = {entry["label"]: entry["name"] for entry in labels}
    read = texts(read_boxes(notebook, labels))
    assert read == {by_label[label]: answer for label, answer in FILLED.items()}
    assert len(read) == 22
    for name, answer in read.items():
        compare, reference = references[name]
        verdict = compare(answer, reference)
        assert verdict.correct, (name, answer, verdict)


# Boxes as the issue found them in real notebooks: derivations, alternatives, prose.
DERIVED = {
    "d": r"\text{-log2 or log(0.5)}",
    "e": r"e^{d} = e^{-\log 2} = \frac{1}{2}",
    r"\frac{\partial z}{\partial d}": r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{2} = \tfrac{1}{4}",
    r"\frac{\partial z}{\partial x}": r"\frac{\partial z}{\partial a} + \frac{\partial z}{\partial c} = 1 - \frac{1}{4} = \frac{3}{4}",
    r"T_{\text{run}}": r"\sum_{i=1}^n \left( T_{\text{mm}} + T_{\sigma} \right) = n \left[ O(bd^2) + O(bd) \right] = O(nbd^2)",
    r"T_{\text{backward}}": r"\theta(n b d^2)",
    r"M_{\text{forward}}": r"\sum_{i=1}^{n} |x_i| = O(nbd) \quad \text{(every activation is kept)}",
    r"M_{\text{backward}}": r"\sum_{i=1}^n \left(|x_i| + |\nabla W_i|\right) = O(nbd + nd^2)",
}


def test_derivations_in_boxes(labels, references):
    by_label = {entry["label"]: entry["name"] for entry in labels}
    read = texts(read_boxes(fill(published(), DERIVED), labels))
    for label, answer in DERIVED.items():
        name = by_label[label]
        assert read[name] == answer
        compare, reference = references[name]
        assert compare(answer, reference).correct, (name, compare(answer, reference))
    # ... and the same chains ending on a wrong member are wrong.
    wrong = {r"T_{\text{run}}": DERIVED[r"T_{\text{run}}"].replace("O(nbd^2)", "O(nbd)"),
             "d": r"\text{-log2 or log(2)}"}
    read = texts(read_boxes(fill(published(), wrong), labels))
    for name in ("T_run", "fwd_d"):
        compare, reference = references[name]
        assert not compare(read[name], reference).correct, name


def test_published_notebook_as_it_is(labels, references):
    """The seed's own boxes: the big-O boxes are TODO placeholders; dz/dx holds cosh (wrong)."""
    read = texts(read_boxes(published(), labels))
    assert set(read) == set(NAMES[:14])
    assert read["dz_dx_formula"] == r"\cosh{x}"
    assert read["fwd_a"] == r"\text{log 2}"
    assert read["fwd_e"] == r"\text{1/2 }"
    assert not compare_value(read["dz_dx_formula"], references["dz_dx_formula"][1]).correct
    for name in NAMES[1:14]:
        compare, reference = references[name]
        assert compare(read[name], reference).correct, name


def test_wrong_answers_in_boxes_are_judged_wrong(labels, references):
    wrong = {"a": "2", "z": r"\frac{5}{4} = 1", r"T_{\text{run}}": "O(nbd)",
             r"M_{\text{backward}}": r"O(nbd) \text{ since only activations are kept}"}
    read = texts(read_boxes(fill(published(), wrong), labels))
    for name in ("fwd_a", "fwd_z", "T_run", "M_backward"):
        compare, reference = references[name]
        assert not compare(read[name], reference).correct, name


def test_generated_notebook_placeholders_are_not_answers(master, labels):
    """The student notebook built from the master keeps \\texttt{name} in its boxes."""
    assert read_boxes(master, labels) == {}
    notebook = copy.deepcopy(master)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(r"\boxed{\texttt{fwd\_a}}", r"\boxed{\log 2}") \
                .replace(r"\boxed{\texttt{T\_run}}", r"\boxed{O(n\, b\, d^{2})}")
    assert texts(read_boxes(notebook, labels)) == {"fwd_a": r"\log 2", "T_run": r"O(n\, b\, d^{2})"}


@pytest.mark.parametrize("content", [
    r"\texttt{fwd\_a}", r"O(\text{TODO: fill me in})", "", "   ", "...", r"\dots", "?", "O(...)",
    r"\text{}", r"\text{ TODO }",
])
def test_unfilled_boxes_are_skipped(labels, content):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"$$\na = \\boxed{{{content}}}\n$$")])
    assert read_boxes(notebook, labels) == {}


def md(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in sources])


def test_a_note_in_a_filled_box_is_not_a_placeholder(labels):
    notebook = md(r"$$T_{\text{run}} = \boxed{O(nbd^2) \text{ TODO: check}}$$",
                  r"$$M_{\text{run}} = \boxed{O(\text{TODO: fill me in})}$$")
    assert texts(read_boxes(notebook, labels)) == {"T_run": r"O(nbd^2) \text{ TODO: check}"}
    assert compare_bigo(r"O(nbd^2) \text{ TODO: check}", "O(n b d^2)").correct


def test_box_forms(labels):
    notebook = md(
        r"$a = \boxed{\log 2}$ inline, and $b=\boxed{2}$ on the same line",
        "$$ \\frac{ \\partial{z} }{ \\partial e } =\n \\boxed{ \\frac{1}{\\left(2\\right)} } $$",
        r"$$T_{\text{backward-for-}W_{1}} = \boxed{O(\max(n, b)\, d^{2}\, \min\{1, 2\})}$$",
        r"\[M_{\text{run}} = \boxed{O(bd)}\]",
        r"$$\dfrac{dz}{dx} = \boxed{\boxed{\sinh x}}$$",
    )
    assert texts(read_boxes(notebook, labels)) == {
        "fwd_a": r"\log 2", "fwd_b": "2", "dz_de": r"\frac{1}{\left(2\right)}",
        "T_backward_W1": r"O(\max(n, b)\, d^{2}\, \min\{1, 2\})", "M_run": "O(bd)",
        "dz_dx_formula": r"\boxed{\sinh x}"}
    assert compare_value(r"\boxed{\sinh x}", "sinh(x)").correct


def test_last_filled_box_wins(labels):
    notebook = md(r"$$a = \boxed{1}$$", r"$$a = \boxed{\log 2}$$", r"$$a = \boxed{\texttt{fwd\_a}}$$")
    assert texts(read_boxes(notebook, labels)) == {"fwd_a": r"\log 2"}


def test_unknown_labels_and_boxes_without_label_are_ignored(labels):
    notebook = md(r"$$q = \boxed{1}$$", r"$$\boxed{2}$$", r"Some text \boxed{3}", "$$y = x$$")
    assert read_boxes(notebook, labels) == {}


def test_unbalanced_braces_do_not_hide_later_boxes(labels):
    notebook = md(r"$$a = \boxed{\frac{1}{4}$$" "\n\n" r"$$b = \boxed{2}$$",
                  r"$$c = \boxed{\log{2}}}}}$$", r"$$d = \boxed{-\log 2}$$")
    assert texts(read_boxes(notebook, labels)) == {"fwd_b": "2", "fwd_c": r"\log{2}",
                                                   "fwd_d": r"-\log 2"}


def test_cells_as_plain_dicts_and_lists(labels):
    notebook = {"cells": [{"cell_type": "markdown", "source": ["$$a = ", "\\boxed{\\log 2}$$"]},
                          {"cell_type": "code", "source": "$$b = \\boxed{2}$$"},
                          {"cell_type": "markdown", "source": None}, "junk"]}
    assert texts(read_boxes(notebook, labels)) == {"fwd_a": r"\log 2"}
    assert read_boxes({}, labels) == {} and read_boxes(None, labels) == {}


HOSTILE = [
    "{" * 300_000,
    r"\boxed{" * 100_000,
    r"$$a = \boxed{1}$$ " * 20_000,
    "a = " + r"\boxed{" * 50_000 + "}" * 50_000,
    "$$a = \\boxed{" + "x" * 500_000 + "}$$",
    "=" * 300_000 + r"\boxed{1}",
    ("$" * 1000 + r"\boxed{}") * 200,
]


@pytest.mark.parametrize("source", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_markdown_is_read_quickly(labels, source):
    notebook = md(*([source] * 12))
    start = time.process_time()
    read = read_boxes(notebook, labels)
    assert time.process_time() - start < 1.0
    assert all(len(v["text"]) <= 2_001 for v in read.values())

# ------------------------------------------------- answers in display math, without boxes


def test_published_notebook_without_boxes(labels, references):
    """Every box replaced by display math: each answer is read there, and judged right; the
    template's own "z = \\cosh{x} = ..." (same label, same heading) is not an answer."""
    notebook = unbox(published(), FILLED)
    assert not any(r"\boxed" in c.source for c in notebook.cells if c.cell_type == "markdown")
    assert any(r"z = \cosh{x} = \frac{e^x + e^{-x}}{2}" in c.source for c in notebook.cells)
    read = texts(read_boxes(notebook, labels), where="display math")
    assert set(read) == set(NAMES)
    assert read["fwd_z"] == r"\frac{5}{4} = 1.25"
    assert read["dz_dx_formula"] == r"\sinh{x} = \sinh{x}"     # the seed's own chain, then the value
    for name, answer in read.items():
        compare, reference = references[name]
        verdict = compare(answer, reference)
        assert verdict.correct, (name, answer, verdict)


def test_wrong_answers_in_display_math_are_judged_wrong(labels, references):
    wrong = {**FILLED, "a": "2", r"T_{\text{run}}": "O(nbd)"}
    read = texts(read_boxes(unbox(published(), wrong), labels), where="display math")
    for name in ("fwd_a", "T_run"):
        compare, reference = references[name]
        assert not compare(read[name], reference).correct, name


def test_the_issues_display_math(labels, references):
    """The forms of the issue: "$$a = \\log 2$$", "$$T_{run} = O(nbd^2)$$" (no \\text)."""
    notebook = md("## Exercise 2.1: Implement backpropagation on paper",
                  "$$a = \\log 2$$", "### Time complexity of ordinary backpropagation",
                  "$$T_{run} = O(nbd^2)$$", r"\[ T_{\text{forward}} = O(n b d^2) \]")
    read = read_boxes(notebook, labels)
    assert read == {"fwd_a": {"text": r"\log 2", "where": "display math"},
                    "T_run": {"text": "O(nbd^2)", "where": "display math"},
                    "T_forward": {"text": "O(n b d^2)", "where": "display math"}}
    for name, found in read.items():
        compare, reference = references[name]
        assert compare(found["text"], reference).correct, name


def test_a_filled_box_wins_over_display_math(labels):
    notebook = md(r"$$a = \boxed{\log 2}$$", "$$a = 1$$", r"$$b = \boxed{\texttt{fwd\_b}}$$",
                  "$$b = 2$$")
    assert read_boxes(notebook, labels) == {"fwd_a": {"text": r"\log 2", "where": "box"},
                                            "fwd_b": {"text": "2", "where": "display math"}}


@pytest.mark.parametrize("source", [
    r"Here $a = \log 2$ inline.",                    # inline math
    "We know a = log 2 from the graph.",             # prose
    "$$a = ...$$", r"$$a = \texttt{fwd\_a}$$", r"$$a = O(\text{TODO: fill me in})$$", "$$a = $$",
    "$$a$$", r"$$\log 2$$",                          # no label, or no value
    "$$a = \\log 2$$\n\n$$a = 2\\log 2 - \\log 2$$",  # two different formulas: ambiguous
    "$$ q = \\log 2 $$",                            # another label
])
def test_what_is_not_an_answer_in_display_math(labels, source):
    assert "fwd_a" not in read_boxes(md(source), labels)


def test_the_same_formula_twice_is_not_ambiguous(labels):
    notebook = md("$$a = \\log 2$$", "$$ a = \\log  2 $$")
    assert texts(read_boxes(notebook, labels), "display math") == {"fwd_a": r"\log 2"}


def test_display_math_stands_where_the_box_stood(labels):
    """A formula for z counts only under z's heading and in the order of the master's boxes."""
    heading, step3 = "## Exercise 2.1: Implement backpropagation on paper", "### Step 3, implement Add"
    template = r"$$z = \cosh{x} = \frac{e^x + e^{-x}}{2}$$"
    boxes = [r"$$\frac{dz}{dx} = \boxed{\sinh x}$$", r"$$a = \boxed{\log 2}$$",
             r"$$e = \boxed{\frac12}$$"]
    later = r"$$\frac{\partial z}{\partial z} = \boxed{1}$$"
    # No z box, no answer for z: the template's formula above the first box is not one.
    assert "fwd_z" not in read_boxes(md(heading, template, *boxes, later), labels)
    # The student's formula after e's box is.
    read = read_boxes(md(heading, template, *boxes, "$$z = 5/4$$", later), labels)
    assert read["fwd_z"] == {"text": "5/4", "where": "display math"}
    # A formula for z under another heading is not, not even after every box.
    read = read_boxes(md(heading, template, *boxes, later, step3, r"$$z = \tanh x$$"), labels)
    assert "fwd_z" not in read
    # Without the heading (renamed), the label is matched anywhere, still in order.
    renamed = "## Exercise 2.1 (by hand)"
    read = read_boxes(md(renamed, template, *boxes, "$$z = 5/4$$", later), labels)
    assert read["fwd_z"]["text"] == "5/4"
    read = read_boxes(md(renamed, template, *boxes, later, step3, r"$$z = \tanh x$$"), labels)
    assert "fwd_z" not in read


def test_aligned_display_math(labels):
    notebook = md("$$\\begin{aligned} a &= \\log 2 \\\\ b &= 2 \\\\ c &= \\log{2} \\end{aligned}$$",
                  "\\[ d = -\\log 2 \\]")
    assert texts(read_boxes(notebook, labels), "display math") == {
        "fwd_a": r"\log 2", "fwd_b": "2", "fwd_c": r"\log{2}", "fwd_d": r"-\log 2"}


def test_headings_of_the_master_boxes(labels):
    headings = {entry["name"]: entry["heading"] for entry in labels}
    assert headings["fwd_a"] == headings["dz_dx_formula"] == "Exercise 2.1: Implement backpropagation on paper"
    assert headings["T_backward_W1"] == "Time complexity of ordinary backpropagation"
    assert headings["M_run"] == "Space complexity of ordinary backpropagation"


HOSTILE_DISPLAY = [
    "\\[" * 200_000, "$$" * 200_000 + "a = 1", "$$a = 1$$\n" * 40_000, "$$a = " + "x" * 400_000 + "$$",
    "\\[ a = " + "\\\\" * 200_000 + "\\]", ("$$" + "a = 1 \\\\ " * 10_000 + "$$") * 5,
    "# h\n" * 100_000, "$$\\begin{aligned}" + "a &= 1 \\\\ " * 30_000 + "\\end{aligned}$$",
    "# x" + " #" * 40_000 + "y", ("## " + "#" * 1_000 + " x\n") * 90,
]


@pytest.mark.parametrize("source", HOSTILE_DISPLAY, ids=range(len(HOSTILE_DISPLAY)))
def test_hostile_display_math_is_read_quickly(labels, source):
    notebook = md(*([source] * 6))
    start = time.process_time()
    read = read_boxes(notebook, labels)
    assert time.process_time() - start < 1.0
    assert all(len(v["text"]) <= 2_001 for v in read.values())
