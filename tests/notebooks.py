"""Build test submissions from the student template."""

import copy

import nbformat

MAIN_MARK = "# MAIN CODE"


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
