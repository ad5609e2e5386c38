"""Class-scale grading: a Gradescope export of a small mixed class, interrupted and resumed,
then the report rendered from it."""

import base64
import csv
import io
import signal
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser

import nbformat
import pytest
import yaml

from adversarial import HANG_ON_LOAD
from engines import WRONG
from notebooks import (EXTRA_TOTAL, POINTS, REFERENCE_ANSWERS, REGULAR_TOTAL, load,
                       reference_main, with_answers, with_main)

STUDENTS = {"submission_101": ("Alice Adams", "a01"), "submission_102": ("Bob Brown", "b02"),
            "submission_103": ("Carol Chen", "c03"), "submission_104": ("Dave Diaz", "d04")}


@pytest.fixture(scope="module")
def export(built, tmp_path_factory):
    """A Gradescope "Export submissions" zip: correct, wrong, malformed and hanging notebooks."""
    template, _, solution = built
    engine = reference_main(solution)
    notebooks = {
        "submission_101": with_answers(with_main(load(template), engine), REFERENCE_ANSWERS),
        "submission_102": with_main(load(template),
                                    engine + WRONG["mul_gradients_not_swapped"]["code"]),
        "submission_103": None,
        "submission_104": with_answers(with_main(load(template), engine + HANG_ON_LOAD),
                                       REFERENCE_ANSWERS)}
    path = tmp_path_factory.mktemp("export") / "assignment_42_export.zip"
    metadata = {key: {":submitters": [{":name": name, ":sid": sid, ":email": f"{sid}@u.edu"}],
                      ":created_at": "2026-11-20 10:00:00", ":score": None}
                for key, (name, sid) in STUDENTS.items()}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("assignment_42_export/submission_metadata.yml", yaml.safe_dump(metadata))
        for key, notebook in notebooks.items():
            text = "{ not json" if notebook is None else nbformat.writes(notebook)
            zf.writestr(f"assignment_42_export/{key}/HW1.2_Backpropagation.ipynb", text)
    return path


def cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "grader.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="module")
def graded_class(built, export, tmp_path_factory):
    """Grade the export one at a time, interrupt after the first is saved, then resume."""
    out = tmp_path_factory.mktemp("class")
    zip_path = built[1]
    first = cli("grade", export, "--zip", zip_path, "--out", out, "--workers", 1)
    deadline = time.monotonic() + 300
    while not list(out.glob("*/graded-with")) and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)
    _, first_err = first.communicate(timeout=120)
    done_early = {p.parent.name: p.parent.joinpath("results.json").stat().st_mtime_ns
                  for p in out.glob("*/graded-with")}
    second = cli("grade", export, "--zip", zip_path, "--out", out)
    second_out, second_err = second.communicate(timeout=900)
    return {"out": out, "first": (first.returncode, first_err), "done_early": done_early,
            "second": (second.returncode, second_out, second_err)}


def test_interrupted_run_keeps_what_it_finished(graded_class):
    code, err = graded_class["first"]
    assert code == 130, err
    assert 1 <= len(graded_class["done_early"]) < len(STUDENTS)


def test_resumed_run_grades_only_the_rest(graded_class):
    code, _, err = graded_class["second"]
    assert code == 0, err
    assert {p.parent.name for p in graded_class["out"].glob("*/graded-with")} == set(STUDENTS)
    for key, mtime in graded_class["done_early"].items():
        path = graded_class["out"] / key / "results.json"
        assert path.stat().st_mtime_ns == mtime, f"{key} was graded twice"


def test_one_row_per_student(graded_class):
    with open(graded_class["out"] / "scores.csv") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(STUDENTS)
    for key, (name, sid) in STUDENTS.items():
        assert (rows[key]["name"], rows[key]["sid"]) == (name, sid)
    alice, bob, carol, dave = (rows[k] for k in sorted(STUDENTS))
    assert float(alice["total"]) == float(alice["possible"]) == REGULAR_TOTAL
    assert float(alice["extra_credit"]) == EXTRA_TOTAL
    assert float(bob["step1_forward"]) == POINTS["step1_forward"]
    assert float(bob["step3_add_mul"]) == 0
    assert float(carol["total"]) == 0 and "not JSON" in carol["status"]
    assert float(dave["step1_forward"]) == 0 and float(dave["bigo_time"]) == POINTS["bigo_time"]
    for key in STUDENTS:
        assert (graded_class["out"] / key / "feedback.txt").read_text().strip()


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_report_renders_with_its_plots(graded_class):
    from matplotlib import image

    out = graded_class["out"]
    done = subprocess.run([sys.executable, "-m", "grader.cli", "report", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = Images()
    page.feed((out / "report" / "report.html").read_text())
    assert len(page.sources) == 2
    for source, png in zip(page.sources, ["scores.png", "pass_rates.png"]):
        assert source.startswith("data:image/png;base64,")
        data = base64.b64decode(source.split(",", 1)[1])
        assert data == (out / "report" / png).read_bytes()
        height, width, _ = image.imread(io.BytesIO(data)).shape
        assert height > 200 and width > 400
    text = " ".join(page.text)
    assert "4 submissions graded" in text
    # only Alice has full marks on step3_add_mul: Bob's Mul is wrong, Carol's notebook is
    # broken, Dave's hangs
    row = text.split("step3_add_mul", 1)[1]
    assert row.split()[0] == "25%"
    assert "mul and add" in text  # Bob's failure is among the most common ones


@pytest.mark.parametrize("message, expected", [
    ("The derivative of tanh is 1 - tanh**2", "The derivative of tanh is 1 - tanh**2"),
    ("With x = -0.8506: c = Exp(b) is 0.4142 but should be -1.25e-05.",
     "With x = #: c = Exp(b) is # but should be #."),
    ("x1.5 and x-0.5 and 2 ** 3 and tensor([0.1000, 2.5000])",
     "x1.5 and x-# and 2 ** 3 and tensor([#, #])"),
    ("first line 0.5\nsecond line", "first line #"),
])
def test_failures_are_grouped_by_mistake(message, expected):
    from grader.classroom.report import pattern

    assert pattern(message) == expected


def test_failure_patterns_are_cut_between_words():
    from grader.classroom.report import MAX_PATTERN, pattern

    cut = pattern("gradient " * 100)
    assert len(cut) <= MAX_PATTERN and cut.endswith("gradient…")


def test_unanswered_cases_are_told_from_wrong_ones():
    """The report counts blank work apart from mistakes, by the kind of each verdict, which
    travels typed from the judge: never guessed back from a message."""
    from grader.answers import compare_value
    from grader.authoring.cases import CheckFailed, missing_verdict
    from grader.authoring.checks import answer_correct
    from grader.classroom.report import unanswered
    from grader.results import CaseResult

    def kind_of(answer):
        try:
            answer_correct(answer, "fwd_a", compare_value, "log 2")
        except CheckFailed as failure:
            return failure.kind

    blank = [missing_verdict(["Mul"]).kind, missing_verdict(["fwd_a", "fwd_b"]).kind,
             kind_of(...)]
    wrong = [kind_of("log 3"), kind_of("same as before")]
    case = lambda kind: CaseResult("c", 1, False, False, "a message", kind)
    assert [unanswered(case(k)) for k in blank] == [True] * 3
    assert [unanswered(case(k)) for k in wrong] == [False] * 2
