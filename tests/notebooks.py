"""Build test submissions from the student template."""

import copy

import nbformat

MAIN_MARK = "# MAIN CODE"
# The questions, in notebook order: five written-answer questions around six engine steps.
QUESTIONS = ["paper_calculus", "paper_forward", "paper_backward", "step1_forward",
             "step2_backward", "step3_add_mul", "step4_tensors", "step5_higher_order",
             "step6_matmul", "bigo_time", "bigo_memory"]
ENGINE_STEPS = QUESTIONS[3:9]
ANSWER_QUESTIONS = [q for q in QUESTIONS if q not in ENGINE_STEPS]
# Answers a correct student might type (other spellings than the reference's).
REFERENCE_ANSWERS = {
    "dz_dx_formula": "sinh(x)", "fwd_a": "log 2", "fwd_b": "2", "fwd_c": "log 2",
    "fwd_d": "-log 2", "fwd_e": "1/2", "fwd_z": "5/4", "dz_dz": "1", "dz_de": "1/2",
    "dz_dd": "1/4", "dz_dc": "-1/4", "dz_db": "1/2", "dz_da": "1", "dz_dx": "3/4",
    "T_run": "O(nbd^2)", "T_forward": "O(nbd^2)", "T_backward": "O(nbd^2)",
    "T_backward_W1": "O(nbd^2)", "M_run": "O(bd)", "M_forward": "O(nbd)",
    "M_backward": "O(nbd + nd^2)", "M_backward_W1": "O(nbd + d^2)"}


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
