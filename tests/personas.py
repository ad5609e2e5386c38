"""Student personas: the notebooks real students hand in, written the way they write them.

Each persona is a function of (the student template notebook, the reference engine: the
`# MAIN CODE` cell of the reference solution) that returns the notebook that student has: the
`# MAIN CODE` cell edited (a definition rewritten in place, as tests/engines.py's mistakes),
answers typed in their cells, in the markdown boxes or in display math, a cell in an order that
breaks "Restart & Run All". `run` says how the student runs
it: in Jupyter ("jupyter"), in Colab ("colab"), in Jupyter with the kernel started in another
folder than the notebook's ("elsewhere"), or on a laptop whose Python has no matplotlib
("no-matplotlib"). `expect` is what Gradescope should give, {question: score}, for the questions
that do not earn full marks (the persona's own sanity: it makes the mistake it claims to).

The ten students of the issue, the blank and the correct notebook come first (two of the ten make
a second mistake besides theirs); then more.
"""

import ast
import copy
import re
from dataclasses import dataclass, field
from typing import Callable

import nbformat

from engines import ALGORITHMS_USING_ORDERED, WRONG
from notebooks import QUESTIONS, REFERENCE_ANSWERS, with_main

ALL_ZERO = {q: 0 for q in QUESTIONS}


@dataclass(frozen=True)
class Persona:
    story: str                       # who this student is, in one line
    make: Callable                   # (template notebook, reference engine source) -> notebook
    run: str = "jupyter"             # "jupyter", "colab", "elsewhere" or "no-matplotlib"
    expect: dict = field(default_factory=dict)   # {question: Gradescope score} below full marks


# ---- how students edit a notebook --------------------------------------------------------------

def rewrite(engine, code):
    """The # MAIN CODE cell `engine` with each top-level definition in `code` rewritten in
    place (a new one added at the end), as a student edits the cell."""
    lines = engine.splitlines()
    code = code.strip("\n")
    new, new_lines = ast.parse(code).body, code.splitlines()
    imports = [n for n in new if isinstance(n, (ast.Import, ast.ImportFrom))]
    definitions = [n for n in new if not isinstance(n, (ast.Import, ast.ImportFrom))]
    def first(node):   # its first line, decorators included
        return min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])

    for node in definitions:
        text = "\n".join(new_lines[first(node) - 1:node.end_lineno])
        old = next((n for n in ast.parse("\n".join(lines)).body
                    if getattr(n, "name", None) == getattr(node, "name", "")), None)
        if old is None:
            lines += [""] + text.splitlines()
        else:
            lines[first(old) - 1:old.end_lineno] = text.splitlines()
    if imports:   # a student's imports go at the top of the cell, under its first comments
        at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines[at:at] = [new_lines[n.lineno - 1] for n in imports] + [""]
    return "\n".join(lines) + "\n"


def answer_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"
            and re.search(r"^\w+ = \.\.\.$", c.source, re.M)]


def type_answers(notebook, answers):
    """Each `NAME = ...` line of the answer cells with `NAME = <code>`; `answers` maps names to
    Python code as the student types it (a string literal is `repr(text)`)."""
    for cell in answer_cells(notebook):
        cell.source = re.sub(r"^(\w+) = \.\.\.$",
                             lambda m: f"{m.group(1)} = {answers[m.group(1)]}"
                             if m.group(1) in answers else m.group(0), cell.source, flags=re.M)
    return notebook


def typed(answers):
    return {name: repr(text) for name, text in answers.items()}


def fill_boxes(notebook, answers):
    """Write answers into the markdown boxes `\\boxed{\\texttt{NAME}}` (LaTeX, as students do),
    leaving the answer cells as they are."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for name, latex in answers.items():
                placeholder = r"\boxed{\texttt{" + name.replace("_", r"\_") + "}}"
                cell.source = cell.source.replace(placeholder, r"\boxed{" + latex + "}")
    return notebook


def unbox(notebook, answers):
    """Replace each box by the answer itself in display math ("$$a = \\log 2$$"), as a student
    who deleted the boxes writes."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for name, latex in answers.items():
                placeholder = r"\boxed{\texttt{" + name.replace("_", r"\_") + "}}"
                cell.source = cell.source.replace(placeholder, latex)
    return notebook


def cell_index(notebook, starts):
    return next(i for i, c in enumerate(notebook.cells) if c.source.startswith(starts))


# Answers in LaTeX, as typed into the boxes.
BOXED = {
    "dz_dx_formula": r"\sinh{x}", "fwd_a": r"\log 2", "fwd_b": "2", "fwd_c": r"\log{2}",
    "fwd_d": r"-\log 2", "fwd_e": r"\frac{1}{2}", "fwd_z": r"\frac{5}{4}", "dz_dz": "1",
    "dz_de": r"\frac{1}{2}", "dz_dd": r"\frac{1}{4}", "dz_dc": r"-\frac{1}{4}",
    "dz_db": "0.5", "dz_da": "1", "dz_dx": r"\frac{3}{4}", "T_run": "O(nbd^2)",
    "T_forward": r"O(n b d^{2})", "T_backward": r"\mathcal{O}(n \cdot b \cdot d^2)",
    "T_backward_W1": "O(nbd^2)", "M_run": "O(bd)", "M_forward": r"O(n\,b\,d)",
    "M_backward": "O(nbd + nd^{2})", "M_backward_W1": "O(d^2 + nbd)"}


def typed_with(**changed):
    """Answers typed in the answer cells: the right ones, but for `changed`."""
    return lambda notebook: type_answers(notebook, typed({**REFERENCE_ANSWERS, **changed}))


def in_display_math(notebook):
    """Every box replaced by its answer in display math; the answer cells left as they were."""
    return unbox(notebook, BOXED)


def engine_persona(wrong, *more, answers=typed_with()):
    """The reference engine with one of tests/engines.py's mistakes written in (and any `more`
    definitions); the answers typed right, unless `answers` (notebook -> notebook) writes them
    otherwise."""
    def make(template, engine):
        for code in (WRONG[wrong]["code"], *more):
            engine = rewrite(engine, code)
        return answers(with_main(template, engine))
    return make


def correct(template, engine):
    return typed_with()(with_main(template, engine))


def blank(template, engine):
    return copy.deepcopy(template)


def answers_only(**changed):
    return lambda template, engine: typed_with(**changed)(with_main(template, engine))


def answers_in_boxes(template, engine):
    """Every answer in its markdown box; the answer cells left as they were."""
    return fill_boxes(with_main(template, engine), BOXED)


def math_before_its_import(template, engine):
    """The forward pass typed as Python numbers, with `math`: the answer cell stands above the
    provided cell that imports math, so "Restart & Run All" raises NameError there."""
    numbers = {"fwd_a": "math.log(2)", "fwd_b": "2", "fwd_c": "math.log(2)",
               "fwd_d": "-math.log(2)", "fwd_e": "1/2", "fwd_z": "5/4"}
    notebook = with_main(template, engine)
    return type_answers(notebook, {**typed(REFERENCE_ANSWERS), **numbers})


# An engine whose topological sort is a helper the student wrote in a scratch cell at the end
# of the notebook, after trying it there: "Restart & Run All" reaches the checks first.
HELPER_CELL = '''# scratch: my topological sort
def ordered(graph, seen=None):
    seen = set() if seen is None else seen
    if graph in seen:
        return []
    seen.add(graph)
    return [n for child in graph.input_nodes for n in ordered(child, seen)] + [graph]
'''


def helper_in_a_cell_at_the_end(template, engine):
    notebook = type_answers(with_main(template, rewrite(engine, ALGORITHMS_USING_ORDERED)),
                            typed(REFERENCE_ANSWERS))
    at = cell_index(notebook, "### Lessons to learn")
    notebook.cells.insert(at, nbformat.v4.new_code_cell(HELPER_CELL))
    return notebook


# A student's Matmul that is not written yet, and says so in HTML-ish words: student-controlled
# text that every page must show as text.
HOSTILE = "<script>alert('matmul')</script><img src=x onerror=alert(1)> is a <b>TODO</b>"
MATMUL_TODO = f'''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        raise NotImplementedError("{HOSTILE}")
'''


def engine_expect(name):
    return dict(WRONG[name]["expect"])


PERSONAS = {
    # ---- the blank and the correct notebook
    "blank": Persona("opens the notebook and runs it without writing anything", blank,
                     expect=ALL_ZERO),
    "correct": Persona("a right engine and right answers typed in the answer cells", correct),
    # ---- the ten students of the issue
    "backward_along_every_path": Persona(
        "backward by recursion along every path, pushing a node's whole gradient each time",
        engine_persona("backward_recursive_double_counts"),
        expect=engine_expect("backward_recursive_double_counts")),
    "backward_called_per_path": Persona(
        "recursion that sums the paths right but calls backward() once per path",
        engine_persona("backward_recursive_exponential"),
        expect=engine_expect("backward_recursive_exponential")),
    "forward_without_memo": Persona(
        "a recursive forward pass without memo (each node computed once per path), and a Matmul "
        "not written yet whose backward() raises NotImplementedError with HTML in its message",
        engine_persona("forward_recomputes_per_path", MATMUL_TODO),
        expect={**engine_expect("forward_recomputes_per_path"), "step6_matmul": 0}),
    "wrong_M_backward": Persona(
        "right engine, M_backward = 'O(nbd)' (forgets the gradients of the weights), on a laptop "
        "whose Python has no matplotlib", answers_only(M_backward="O(nbd)"), run="no-matplotlib",
        expect={"bigo_memory": 3}),
    "answers_in_boxes": Persona(
        "writes every answer in its markdown box and leaves the answer cells as they are, in "
        "Colab", answers_in_boxes, run="colab"),
    "backward_never_resets": Persona(
        "never resets gradients, so two backward passes on one graph add up; deletes the boxes "
        "and writes each answer as display math in their place, the answer cells left as they "
        "are", engine_persona("backward_never_resets", answers=in_display_math),
        expect=engine_expect("backward_never_resets")),
    "error_in_provided_code": Persona(
        "starts the backward pass from 1.0 whatever `one` is: Matsum's provided backward() fails",
        engine_persona("backward_starts_from_float_one"),
        expect=engine_expect("backward_starts_from_float_one")),
    "several_unreadable_answers": Persona(
        "three memory answers in words or half-written, in one question; calls torch autograd "
        "instead of writing the backward pass",
        engine_persona("torch_autograd_instead_of_backprop", answers=typed_with(
            M_forward="same as M_run, n times", M_backward="O(nbd + nd^2",
            M_backward_W1="the activations plus the gradient of W_1")),
        expect={**engine_expect("torch_autograd_instead_of_backprop"), "bigo_memory": 1}),
    "same_as_T_run": Persona(
        "answers T_forward with 'same as T_run', in Jupyter started from another folder",
        answers_only(T_forward="same as T_run"), run="elsewhere", expect={"bigo_time": 3}),
    "math_before_import": Persona(
        "types fwd_a = math.log(2) in the answer cell, above the cell that imports math",
        math_before_its_import, expect={"paper_forward": 0}),
    # ---- more students
    "helper_in_a_cell_at_the_end": Persona(
        "the engine calls a helper written in a scratch cell at the end of the notebook",
        helper_in_a_cell_at_the_end),
}
assert all(set(p.expect) <= set(QUESTIONS) for p in PERSONAS.values())
