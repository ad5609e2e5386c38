"""`assign` ships nothing broken, and the student template holds nothing secret."""

import ast
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import nbformat

from conftest import NOTEBOOK, ROOT
from notebooks import load, main_cell


def tree_digest(path):
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


def hidden_case_names(zip_path):
    """Every hidden case's function name, from the zip's test files."""
    names = set()
    with zipfile.ZipFile(zip_path) as zf:
        for item in zf.namelist():
            if item.startswith("tests/") and item.endswith(".py"):
                for node in ast.parse(zf.read(item).decode()).body:
                    if isinstance(node, ast.FunctionDef) and any(
                            isinstance(d, ast.Call) and any(
                                k.arg == "hidden" and getattr(k.value, "value", False)
                                for k in d.keywords) for d in node.decorator_list):
                        names.add(node.name)
    return names


def solution_lines(solution, template):
    """The reference engine's own lines: in the solution's MAIN CODE cell, not in the
    student's stub or the provided code."""
    given = set()
    for cell in load(template).cells:
        given.update(line.strip() for line in cell.source.splitlines())
    return {line.strip() for line in main_cell(load(solution)).source.splitlines()
            if len(line.strip()) > 12 and line.strip() not in given
            and not line.strip().startswith("#")}


def test_student_template_holds_no_hidden_test_and_no_solution(built):
    template, zip_path, solution = built
    hidden = hidden_case_names(zip_path)
    lines = solution_lines(solution, template)
    assert len(hidden) > 20 and len(lines) > 5
    for folder in (template.parent, ROOT / "student_template"):
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert [p.name for p in files] == [NOTEBOOK], files
        notebook = load(files[0])
        text = "\n".join([c.source for c in notebook.cells if c.cell_type != "markdown"]
                         + list(notebook.metadata["otter"]["tests"].values()))
        for name in hidden:
            assert not re.search(rf"\b{name}\b", text), (folder, name)
        for line in lines:
            assert line not in text, (folder, line)
        assert "hidden=True" not in text and "hidden: true" not in text


def test_student_notebook_stores_its_public_tests(built):
    template, _, _ = built
    metadata = load(template).metadata["otter"]
    assert metadata["OK_FORMAT"] is False
    from notebooks import QUESTIONS
    assert sorted(metadata["tests"]) == sorted(QUESTIONS)
    for question, source in metadata["tests"].items():
        assert f'name = "{question}"' in source
        assert not re.search(r"^\s*(from|import)\s+grader\b", source, re.M), question


def test_colab_link_is_configurable(tmp_path):
    from grader.assign import build

    notebook = load(ROOT / "reference" / NOTEBOOK)
    config = next(c for c in notebook.cells if c.source.startswith("# ASSIGNMENT CONFIG"))
    config.source = config.source.rstrip() + \
        "\nstudent_notebook:\n  colab_url: https://colab.research.google.com/drive/abc123\n"
    (tmp_path / "reference").mkdir()
    nbformat.write(notebook, tmp_path / "reference" / NOTEBOOK)
    master, settings = build._master_for_otter(tmp_path / "reference" / NOTEBOOK, tmp_path)
    assert settings == {"colab_url": "https://colab.research.google.com/drive/abc123"}
    assert "student_notebook" not in load(master).cells[0].source
    student = build.student_notebook(load(master), tmp_path / "no-tests", ROOT, settings)
    first = next(c for c in student.cells if c.cell_type == "markdown")
    assert "https://colab.research.google.com/drive/abc123" in first.source


def test_broken_reference_changes_nothing_and_names_the_case(tmp_path, capsys, monkeypatch):
    """A reference broken on purpose: the previous template and zip stay byte-identical, and
    the error names each failing case with what was expected and what was found."""
    from grader import cli

    (tmp_path / "reference").mkdir()
    for name in ("setup.py", "grader"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=(ROOT / name).is_dir())
    notebook = load(ROOT / "reference" / NOTEBOOK)
    main = main_cell(notebook)
    correct = "return [self.gradient * self.input(1), self.gradient * self.input(0)]"
    assert correct in main.source
    main.source = main.source.replace(
        correct, "return [self.gradient * self.input(0), self.gradient * self.input(1)]")
    nbformat.write(notebook, tmp_path / "reference" / NOTEBOOK)
    shutil.copytree(ROOT / "student_template", tmp_path / "student_template")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "autograder.zip").write_bytes(b"the previous zip")
    before = {**tree_digest(tmp_path / "student_template"),
              **tree_digest(tmp_path / "dist")}

    monkeypatch.chdir(tmp_path / "reference")   # inside the second checkout, no --root
    assert cli.main(["assign"]) == 1
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert first == f"Building {tmp_path}: the project the current directory is in."

    after = {**tree_digest(tmp_path / "student_template"), **tree_digest(tmp_path / "dist")}
    assert after == before
    errors = captured.err
    failing = [line for line in errors.splitlines() if line.startswith("ERROR: ")]
    mul = [line for line in failing if "fails step3_add_mul / mul and add:" in line]
    assert len(mul) == 1, errors
    assert re.search(r"the gradient of leaf `[ab]` should be \S+, but it is \S+", mul[0]), mul
    assert "blank template earns" not in errors
    assert "unchanged" in errors
