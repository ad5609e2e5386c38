"""The build: student template faithful to the homework, zip complete, reference and blank graded
through the zip by Otter's own `otter run`."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path


from conftest import NOTEBOOK, ROOT
from slow_inputs import otter_run
from notebooks import (EXTRA_CREDIT, EXTRA_TOTAL, POINTS, QUESTIONS, REFERENCE_ANSWERS,
                       REGULAR_TOTAL, SEED, load, main_cell)




def seed_text():
    return SEED.read_text()


def code_cells(notebook):
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def test_main_cell_is_the_seed_stub(built):
    template, _, _ = built
    stub = seed_text().split("In [None]:\n", 1)[1].split("\n\n### Step 1")[0].strip()
    source = main_cell(load(template)).source
    assert source.splitlines()[0] == "# MAIN CODE"
    assert source == stub
    assert "BEGIN SOLUTION" not in source and "sorted_nodes" not in source


def test_protected_cells_are_verbatim_and_in_order(built):
    template, _, _ = built
    protected = [s for s in code_cells(load(template)) if s.startswith("# Do not change")]
    assert len(protected) == 7  # the provided code and the six step cells
    text = seed_text()
    positions = [text.index(source) for source in protected]
    assert positions == sorted(positions)


def test_markdown_follows_the_seed(built):
    """Every prose line of the seed is in the template's markdown, in order; only the answer
    boxes change, and they name the variable that holds the answer."""
    template, _, _ = built
    notebook = load(template)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    text = seed_text()
    for source in code_cells(notebook):
        text = text.replace(source, "")
    position = 0
    for line in text.splitlines():
        if line.strip() and "\\boxed" not in line and not line.startswith("In ["):
            found = markdown.find(line, position)
            assert found >= 0, f"missing or out of order: {line[:70]}"
            position = found + len(line)
    for url in ["https://colab.research.google.com/github/CS7150/CS7150-Homework-1/blob/main/"
                "HW1.2_Backpropagation.ipynb",
                "https://cs7150.baulab.info/2022-Fall/hw2/cosh-backprop.png",
                "https://github.com/ayaazuddin/CS7150-Homework-1/blob/main/"
                "typical-nn-bp-graph.png?raw=1"]:
        assert url in markdown
    for name in REFERENCE_ANSWERS:
        assert "\\texttt{" + name.replace("_", "\\_") + "}" in markdown


def test_answer_cells_and_check_cells(built):
    template, _, _ = built
    sources = code_cells(load(template))
    for name in REFERENCE_ANSWERS:
        assert any(re.search(rf"^{name} = \.\.\.$", s, re.M) for s in sources), name
    checks = [s for s in sources if s.startswith("grader.check(")]
    assert checks == [f'grader.check("{q}")' for q in QUESTIONS]


def test_committed_template_matches_the_build(built):
    template, _, _ = built
    committed = ROOT / "student_template"
    fresh, old = load(template), load(committed / NOTEBOOK)
    assert [(c.cell_type, c.source) for c in fresh.cells] == \
        [(c.cell_type, c.source) for c in old.cells], "run `backprop-grader assign` and commit"
    assert fresh.metadata["otter"] == old.metadata["otter"], "run `backprop-grader assign`"


def test_public_tests_hold_no_hidden_case(built):
    template, _, _ = built
    for source in load(template).metadata["otter"]["tests"].values():
        assert "hidden=True" not in source


def test_zip_contents(built):
    _, zip_path, _ = built
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        assert {f"tests/{q}.py" for q in QUESTIONS} <= names
        assert {"homework.json", "otter_config.json", "run_autograder", "setup.sh",
                "environment.yml"} <= names
        assert any(re.match(r"backprop_autograder-.*\.whl$", n) for n in names)
        environment = zf.read("environment.yml").decode()
        setup = zf.read("setup.sh").decode()
        run = zf.read("run_autograder").decode()
        config = json.loads(zf.read("otter_config.json"))
        homework = json.loads(zf.read("homework.json"))
    assert "https://download.pytorch.org/whl/cpu" in environment
    assert re.search(r"torch==[\d.]+\+cpu", environment)
    assert "playwright" not in setup and "texlive" not in setup and "pandoc" not in setup
    assert "grader.gradescope" in run
    assert config["plugins"][0]["grader.otter_plugin.SealedGrading"]["extra_credit"] == \
        EXTRA_CREDIT
    assert homework["questions"] == QUESTIONS
    assert homework["provided"].startswith("# Do not change") and \
        "class ComputationNode" in homework["provided"]


def test_otter_run_gives_the_reference_full_marks_and_runs_nothing_else_submitted(built,
                                                                                  tmp_path):
    """Otter's own `otter run` (the plugin path) gives the scores and the one total every tool
    gives: the regular points possible, extra credit on top (Gradescope's convention: its entry
    has a maximum of 0). The reference solution is submitted in a zip that also ships a `grader`
    package, a `torch.py` and an `.OTTER_LOG`, and its notebook names a kernel that does not
    exist: Otter still grades it in full, and nothing else submitted is imported or unpickled.
    (The blank notebook's zero through the zip: the blank persona, tests/test_personas.py.)"""
    from adversarial import ESCAPED, MARKER, build

    template, zip_path, solution = built
    assert not Path(MARKER).exists()
    submission = build("grader_package_in_zip", load(solution), "", tmp_path / "submission")
    results = otter_run(zip_path, submission, tmp_path / "reference")
    assert not Path(MARKER).exists()
    assert list(Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*")) == []
    reference = {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]
                 if "max_score" in t}
    assert list(reference) == QUESTIONS
    assert all(score == most == POINTS[q] for q, (score, most) in reference.items()
               if q not in EXTRA_CREDIT)
    assert all(reference[q] == (POINTS[q], 0) for q in EXTRA_CREDIT)
    assert sum(most for _, most in reference.values()) == REGULAR_TOTAL
    assert sum(score for score, _ in reference.values()) == REGULAR_TOTAL + EXTRA_TOTAL


def test_the_zip_ships_the_production_limits(production_zip):
    """The tests grade with limits of seconds; the zip course staff upload keeps the real ones."""
    from grader.context import plugin_settings

    with zipfile.ZipFile(production_zip) as zf:
        settings = plugin_settings(json.loads(zf.read("otter_config.json")))
    assert settings == {"step_timeout": 20, "submission_timeout": 240, "memory_mb": 3072,
                        "extra_credit": EXTRA_CREDIT}


def test_results_are_written_whatever_breaks_while_writing_them(tmp_path, monkeypatch):
    """grading.write leaves a results file with the scores when otter_config.json is broken,
    and one that says the autograder failed when the results cannot be formatted at all."""
    from grader import grading
    from grader.feedback import results_json
    from grader.results import CaseResult, QuestionResult, Report

    (tmp_path / "source").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "source" / "otter_config.json").write_text("{not json")
    report = Report([QuestionResult("step1_forward", [CaseResult("cosh", 2, False, True, "ok")])])
    grading.write(tmp_path, report)
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 2
    assert results["tests"][-1]["name"] == "Autograder"
    assert "JSONDecodeError" in results["tests"][-1]["output"]

    def broken(report, config):
        raise ValueError("cannot format")
    monkeypatch.setattr(results_json, "results_json", broken)
    (tmp_path / "source" / "otter_config.json").write_text("{}")
    grading.write(tmp_path, report)
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["output"] == grading.AUTOGRADER_FAILED
    assert "cannot format" in results["tests"][-1]["output"]
    assert json.loads((tmp_path / "results" / "sealed.json").read_text())["questions"]


def test_a_broken_staff_test_still_gives_a_results_file(built, tmp_path):
    """A test file that does not load (its test does not end with case()) is the autograder's
    fault: the entry point still writes results, zero for the student with a message saying the
    autograder failed, and the fault for staff. Through the zip's entry point."""
    template, zip_path, _ = built
    autograder = tmp_path / "autograder"
    for part in ("source", "submission", "results"):
        (autograder / part).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(autograder / "source")
    test_file = autograder / "source" / "tests" / "step1_forward.py"
    test_file.write_text(test_file.read_text().replace("    case(env, probe, judge", "    (env,", 1))
    (autograder / "submission" / NOTEBOOK).write_bytes(template.read_bytes())
    subprocess.run([sys.executable, "-I", "-m", "grader.gradescope", str(autograder)],
                   capture_output=True, timeout=120, cwd=autograder)
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == 0 and [t["name"] for t in results["tests"]][-1] == "Autograder"
    assert "autograder failed" in results["output"] and "not a problem with your work" in \
        results["output"]
    report = json.loads((autograder / "results" / "sealed.json").read_text())
    assert any("step1_forward.py" in note for note in report["notes"]), report["notes"]


def test_questions_are_read_from_test_files_as_otter_reads_them(tmp_path):
    """Without Otter: a file without `name` is named for itself, a case without a name for its
    function, and a question's points are shared among the cases that give none."""
    from grader.questions import load_questions

    (tmp_path / "q_unnamed.py").write_text('''from otter.test_files import test_case

points = 3

@test_case(hidden=False)
def test_first_thing(env):
    from grader.authoring.cases import case

    def probe():
        return 1

    def judge(found):
        pass
    case(env, probe, judge)

@test_case(name="second", points=1, hidden=True)
def test_other(env):
    from grader.authoring.cases import case

    def probe():
        return 2

    def judge(found):
        pass
    case(env, probe, judge)
''')
    [question] = load_questions(tmp_path)
    assert question.name == "q_unnamed"
    assert [(c.name, c.points, c.hidden) for c in question.cases] == \
        [("first thing", 2.0, False), ("second", 1.0, True)]
