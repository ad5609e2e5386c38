"""The homework's facts, read from the reference notebook (its questions, their points, which
are extra credit, the answer names), and test submissions built from the student template."""

import copy
import re
from pathlib import Path

import nbformat
import yaml

MAIN_MARK = "# MAIN CODE"
REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "HW1.2_Backpropagation.ipynb"
SEED = Path(__file__).resolve().parent / "data" / "HW1.2_Backpropagation.txt"  # as published
TEMPLATE = REFERENCE.parent.parent / "student_template" / "HW1.2_Backpropagation.ipynb"


def _facts(path):
    """(questions in order, {question: points}, {question: answer names}, extra credit)."""
    questions, points, answers, question = [], {}, {}, None
    notebook = nbformat.read(path, as_version=4)
    config = yaml.safe_load(notebook.cells[0].source)
    plugin = next(iter(config["plugins"][0].values()))
    for cell in notebook.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            question = yaml.safe_load(cell.source.split("\n", 1)[1])["name"]
            questions.append(question)
            points[question], answers[question] = 0, []
        elif cell.cell_type == "raw" and cell.source.startswith("# END QUESTION"):
            question = None
        elif question and cell.cell_type == "code" and "# BEGIN TEST CONFIG" in cell.source:
            header = cell.source.split('"""')[1].replace("# BEGIN TEST CONFIG", "")
            points[question] += yaml.safe_load(header)["points"]
        elif question and cell.cell_type == "code":
            answers[question] += re.findall(r"^(\w+) = .*# SOLUTION$", cell.source, re.M)
    return questions, points, answers, plugin["extra_credit"]


QUESTIONS, POINTS, ANSWER_NAMES, EXTRA_CREDIT = _facts(REFERENCE)
ENGINE_STEPS = [q for q in QUESTIONS if not ANSWER_NAMES[q]]
ANSWER_QUESTIONS = [q for q in QUESTIONS if ANSWER_NAMES[q]]
REGULAR_TOTAL = sum(p for q, p in POINTS.items() if q not in EXTRA_CREDIT)
EXTRA_TOTAL = sum(POINTS[q] for q in EXTRA_CREDIT)
# Answers a correct student might type (other spellings than the reference's).
REFERENCE_ANSWERS = {
    "dz_dx_formula": "sinh(x)", "fwd_a": "log 2", "fwd_b": "2", "fwd_c": "log 2",
    "fwd_d": "-log 2", "fwd_e": "1/2", "fwd_z": "5/4", "dz_dz": "1", "dz_de": "1/2",
    "dz_dd": "1/4", "dz_dc": "-1/4", "dz_db": "1/2", "dz_da": "1", "dz_dx": "3/4",
    "T_run": "O(nbd^2)", "T_forward": "O(nbd^2)", "T_backward": "O(nbd^2)",
    "T_backward_W1": "O(nbd^2)", "M_run": "O(bd)", "M_forward": "O(nbd)",
    "M_backward": "O(nbd + nd^2)", "M_backward_W1": "O(nbd + d^2)"}
assert set(REFERENCE_ANSWERS) == {n for names in ANSWER_NAMES.values() for n in names}


def load(path):
    return nbformat.read(path, as_version=4)


def main_cell(notebook):
    return next(c for c in notebook.cells if c.cell_type == "code"
                and c.source.startswith(MAIN_MARK))


def reference_main(solution_path):
    """The reference engine: the MAIN CODE cell of the reference solution notebook."""
    return main_cell(load(solution_path)).source


def with_main(template, source):
    """The template with its MAIN CODE cell replaced by `source`."""
    notebook = copy.deepcopy(template)
    main_cell(notebook).source = source
    return notebook


def with_answers(template, answers):
    """The template with answer lines `NAME = ...` replaced by `NAME = <repr(value)>`."""
    notebook = copy.deepcopy(template)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            name = line.split("=")[0].strip()
            if name in answers and line.rstrip().endswith("= ..."):
                lines[i] = f"{name} = {answers[name]!r}"
        cell.source = "\n".join(lines)
    return notebook


# --- the notebook as the course publishes it (tests/data): boxes in the markdown, no answer cells

def notebook_from_text(text, code=()):
    """The published notebook rebuilt from its text: each "In [n]:" starts a code cell, which
    holds the first source of `code` it begins with (code cells have blank lines in them), or
    else its block; the blocks between blank lines outside code cells are markdown."""
    cells, position = [], 0
    for marker in re.finditer(r"^In \[(?:\d*|None)\]:\n", text, re.M):
        cells += _markdown(text[position:marker.start()])
        rest = text[marker.end():]
        source = next((c for c in code if rest.startswith(c)), rest.split("\n\n", 1)[0])
        cells.append(nbformat.v4.new_code_cell(source))
        position = marker.end() + len(source)
    cells += _markdown(text[position:])
    return nbformat.v4.new_notebook(cells=cells)


def _markdown(text):
    return [nbformat.v4.new_markdown_cell(block.strip("\n"))
            for block in re.split(r"\n\s*\n", text) if block.strip()]


def published():
    """The notebook as the course publishes it: its code cells are those of the student
    template that the homework gives (the provided code, the # MAIN CODE stub)."""
    template = nbformat.read(TEMPLATE, as_version=4)
    code = sorted((c.source for c in template.cells if c.cell_type == "code"
                   and c.source.startswith(("# Do not change", MAIN_MARK))), key=len,
                  reverse=True)
    return notebook_from_text(SEED.read_text(), code)


def fill(notebook, filled, boxed=True):
    """Write the answers of `filled` ({box label: answer}) in their boxes, or, with `boxed`
    False, in place of their boxes, as a student who deleted them writes "$$a = \\log 2$$"."""
    box = r"\\boxed\{)(.*)(\}" if boxed else r")\\boxed\{.*\}("
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for label, answer in filled.items():
            pattern = re.compile(r"^(\$*\s*" + re.escape(label) + r"\s*=.*?" + box
                                 + r"\s*\$*\s*)$", re.MULTILINE)
            cell.source = pattern.sub(lambda m: m.group(1) + answer + m.group(m.lastindex),
                                      cell.source)
    return notebook


def unbox(notebook, filled):
    return fill(notebook, filled, boxed=False)
