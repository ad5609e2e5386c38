"""`backprop-grader` from the command line: it finds the project's zip from any directory (or
says clearly that it cannot, before grading anything), and scores.csv and the report show what
course staff should look at (timeouts, edited protected cells) and nothing that is not there
(a whitespace-only change)."""

import csv
import re
import time
from pathlib import Path

import nbformat
import pytest

from adversarial import HANG_ON_LOAD
from notebooks import (EXTRA_TOTAL, POINTS, REFERENCE_ANSWERS, REGULAR_TOTAL, load, reference_main,
                       with_answers, with_main)

from grader import cli, project
from grader.classroom import batch
from grader.classroom import report as class_report

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "HW1.2_Backpropagation.ipynb"
PROTECTED = "x = Leaf(math.log(2), 'x')\ncosh_x = Mean(Exp(x), Exp(-x))"


@pytest.fixture
def project_at(tmp_path, monkeypatch):
    """Make the project this package is installed from a folder of the test's choosing, and
    run from another directory, in no project."""
    def use(folder):
        monkeypatch.setattr(project, "installed", lambda: folder)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(exist_ok=True)
        monkeypatch.chdir(elsewhere)
        return elsewhere
    return use


def test_the_project_is_found_from_the_current_directory_first(tmp_path, monkeypatch):
    """Inside a checkout (at its top or deeper), that checkout; elsewhere, the one this package
    is installed from."""
    assert project.installed() == ROOT
    second = tmp_path / "term 2-copy"
    (second / "reference").mkdir(parents=True)
    (second / "grader").mkdir()
    (second / "setup.py").write_text("")
    (second / "tests" / "deep").mkdir(parents=True)
    monkeypatch.chdir(second / "tests" / "deep")
    assert project.root() == (second, "the project the current directory is in")
    monkeypatch.chdir(tmp_path)
    assert project.root() == (ROOT, "the project this package is installed from")


def test_grade_from_another_directory_finds_the_project_zip(built, tmp_path, project_at, capsys):
    _, zip_path, solution = built
    fake_project = tmp_path / "project"
    (fake_project / "dist").mkdir(parents=True)
    (fake_project / "dist" / "autograder.zip").write_bytes(zip_path.read_bytes())
    submission = tmp_path / "submission" / NOTEBOOK
    submission.parent.mkdir()
    submission.write_bytes(solution.read_bytes())
    here = project_at(fake_project)
    assert cli.main(["grade", str(submission), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert str(fake_project / "dist" / "autograder.zip") in out
    assert f"{REGULAR_TOTAL:g} / {REGULAR_TOTAL:g} + {EXTRA_TOTAL:g} extra credit" in out
    with open(here / "graded" / "scores.csv") as f:
        (row,) = csv.DictReader(f)
    assert (float(row["total"]), row["status"], row["flags"]) == (REGULAR_TOTAL, "graded", "")


def test_missing_zip_is_reported_before_grading(built, tmp_path, project_at, capsys):
    _, _, solution = built
    empty = tmp_path / "empty-project"
    empty.mkdir()
    here = project_at(empty)
    started = time.monotonic()
    assert cli.main(["grade", str(solution)]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - started < 5
    assert "--zip" in err and str(empty / "dist" / "autograder.zip") in err
    assert "[" not in err, "a progress bar was drawn: grading started"
    assert not (here / "graded").exists()

    assert cli.main(["grade", str(solution), "--zip", str(tmp_path / "nope.zip")]) == 2
    assert "--zip" in capsys.readouterr().err


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--zip", "--out", "--workers"):
        assert re.search(re.escape(option) + r" [A-Z]+ [^-]*\(default: ", text), option
    assert str(ROOT / "dist" / "autograder.zip") in text


def _with_protected(notebook, source):
    """`notebook` with the protected cell that builds cosh_x replaced by `source`."""
    cell = next(c for c in notebook.cells if c.cell_type == "code" and PROTECTED in c.source)
    cell.source = cell.source.replace(PROTECTED, source)
    return notebook


@pytest.fixture(scope="module")
def flagged_class(built, tmp_path_factory):
    """A class graded as one batch: a submission that cannot be copied, clean, timed out,
    protected cell edited, protected cell with only its whitespace changed. Returns (out dir,
    {key: scores.csv row})."""
    template, zip_path, solution = built
    folder = tmp_path_factory.mktemp("flagged")
    engine = reference_main(solution)
    solved = lambda code=engine: with_answers(with_main(load(template), code), REFERENCE_ANSWERS)
    notebooks = {
        "clean": solved(),
        "timed_out": solved(engine + HANG_ON_LOAD),
        "edited": _with_protected(solved(), "x = Leaf(math.log(3), 'x')\n"
                                             "cosh_x = Mean(Exp(x), Exp(-x))"),
        "whitespace": _with_protected(solved(), "x = Leaf( math.log(2),  'x' )\n\n"
                                                "cosh_x = Mean(Exp(x),Exp(-x))   "),
    }
    # first in the batch: a folder whose data file is a dangling link, which cannot be copied
    uncopyable = folder / "in" / "uncopyable"
    uncopyable.mkdir(parents=True)
    nbformat.write(notebooks["clean"], uncopyable / NOTEBOOK)
    (uncopyable / "data.csv").symlink_to(folder / "nowhere.csv")
    entries = [batch.Entry("uncopyable", uncopyable)]
    for key, notebook in notebooks.items():
        path = folder / "in" / key / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        entries.append(batch.Entry(key, path))
    out = folder / "graded"
    batch.grade_all(entries, zip_path, out, workers=2)
    batch.write_csv(entries, out, zip_path, out / "scores.csv")
    with open(out / "scores.csv") as f:
        return out, {row["submission"]: row for row in csv.DictReader(f)}


def test_clean_submission_is_just_graded(flagged_class):
    _, rows = flagged_class
    assert (rows["clean"]["status"], rows["clean"]["flags"]) == ("graded", "")
    assert float(rows["clean"]["total"]) == REGULAR_TOTAL


def test_a_submission_that_cannot_be_copied_stops_only_itself(flagged_class):
    _, rows = flagged_class
    assert rows["uncopyable"]["status"].startswith("not graded: ")
    assert float(rows["uncopyable"]["total"]) == 0
    assert [key for key, row in rows.items() if row["status"].startswith("not graded")] == \
        ["uncopyable"]


def test_timed_out_submission_is_flagged(flagged_class):
    _, rows = flagged_class
    row = rows["timed_out"]
    assert row["status"] == "graded, flagged"
    assert re.search(r"(^|; )timeout: .*step\d_", row["flags"]), row["flags"]
    assert float(row["bigo_time"]) == POINTS["bigo_time"]  # the answers were still graded


def test_edited_protected_cell_is_flagged(flagged_class):
    _, rows = flagged_class
    row = rows["edited"]
    assert row["status"] == "graded, flagged"
    assert re.search(r"(^|; )edited: ", row["flags"]), row["flags"]
    assert float(row["total"]) == REGULAR_TOTAL  # grading used the original cell


def test_whitespace_only_change_is_not_flagged(flagged_class):
    _, rows = flagged_class
    assert re.search(r"(^|; )edited: ", rows["edited"]["flags"])  # else this test proves nothing
    row = rows["whitespace"]
    assert "edited" not in row["flags"], row["flags"]
    assert float(row["total"]) == REGULAR_TOTAL


def test_report_lists_the_flagged_submissions(flagged_class):
    out, rows = flagged_class
    page = class_report.write(out, out / "report").read_text()
    flagged = page.split('id="flagged"', 1)[1].split("<h2", 1)[0]
    for key, row in rows.items():
        listed = f'<td class="key">{key}</td>' in flagged
        assert listed == (row["status"] == "graded, flagged"), key
