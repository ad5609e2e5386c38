"""The class report in a real browser: headless chromium renders report.html at a laptop's width.

Needs /usr/bin/chromium (`make browser`, or `apt-get install -y chromium`); skipped without it.
The class is written directly as graded folders (no grading), with the worst a page has to
carry: long failure messages, long unbroken flag details, a submission that could not be graded.
The screenshot is kept in the test's folder and its path printed (pytest -s shows it).
"""

import json
import re

import pytest

from browser import HEIGHT, WIDTH, chromium, needed, probe_script, probed
from notebooks import EXTRA_CREDIT, POINTS
from grader.classroom import batch
from grader.classroom import report as class_report
from grader.results import CaseResult, QuestionResult, Report

QUESTIONS = POINTS
PROBE = probe_script("""
  found.images = [...document.images].map(i => ({alt: i.alt, complete: i.complete,
                                                width: i.naturalWidth, height: i.naturalHeight}));""")

pytestmark = needed


def _report(k):
    """Submission k of a synthetic class: scores spread out, several kinds of mistakes."""
    questions = []
    for n, (name, points) in enumerate(QUESTIONS.items()):
        passed = (k + n) % 4 != 0
        message = "passed" if passed else [
            f"With x = -0.{k + 1}506: the result of node c = Exp(b) is {k}.4271 but should be "
            "0.4271; the derivative of tanh is 1 - tanh**2, and your Mul multiplies the "
            "gradient by its own input instead of the other one, so every product rule fails.",
            "No answer yet: replace the placeholder with your answer.",
            "Mul is not defined: no cell of your notebook defines it.",
            f"Your code raised RuntimeError: /autograder/submission/really/long/path/to/"
            f"{'a_very_long_module_name_' * 4}{k}.py"][(k + n) % 3 + (n == 8)]
        questions.append(QuestionResult(name, [
            CaseResult("first case", points / 2, False, passed, message),
            CaseResult("hidden case", points / 2, True, passed or k % 2 == 0, message)],
            "timeout" if k == 3 and name == "step2_backward" else "finished",
            name in EXTRA_CREDIT))
    report = Report(questions)
    if k == 3:  # as sealed grading flags a question whose check timed out
        report.flag("timeout", "step2_backward: timed out after 20 s")
    if k == 5:
        report.flag("edited", "The \"Do not change\" cell under 'Step 1' was edited: "
                              "x = Leaf(math.log(3), 'x')" + "_" * 150)
        report.flag("answers from boxes", "fwd_a, fwd_b, fwd_c, fwd_d, fwd_e, fwd_z")
    if k == 7:
        report.flag("renamed", "The notebook was named " + "HW1.2_Backpropagation_final_" * 6
                    + ".ipynb")
    return report


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    graded = tmp_path_factory.mktemp("graded-class")
    for k in range(24):
        folder = graded / f"submission_{100 + k}"
        folder.mkdir()
        report = _report(k)
        if k == 11:
            report = Report.failed(report.questions, "The notebook is not JSON (line 1, column "
                                                     "3): it could not be read.",
                                   extra_credit=tuple(EXTRA_CREDIT))
        report.save(folder / "sealed.json")
        (folder / "results.json").write_text("{}")
        (folder / "output.txt").write_text("")
        (folder / "student.json").write_text(json.dumps({"name": f"Student {k}"}))
        (folder / batch.DONE).write_text("synthetic")
    return class_report.write(graded, graded / "report")


def test_report_renders_as_a_screenshot(page, tmp_path):
    from matplotlib import image

    shot = tmp_path / "report.png"
    done = chromium(f"--screenshot={shot}", page.as_uri(), cwd=tmp_path)
    assert shot.exists(), done.stderr
    print(f"\nscreenshot of the class report: {shot}")
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = pixels[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05, "the page is blank"
    assert len({tuple(p) for p in rgb[::97]}) > 20, "the page is (nearly) one colour"


@pytest.fixture(scope="module")
def measured(page, tmp_path_factory):
    """What the probe script measured in the loaded page, at 1366 px wide."""
    folder = tmp_path_factory.mktemp("probe")
    target = folder / "report.html"
    target.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    return probed(target, cwd=folder)


def test_report_images_load(measured):
    images = measured["images"]
    assert len(images) == 2
    for img in images:
        assert img["complete"] and img["width"] > 400 and img["height"] > 200, img


def test_report_fits_a_laptop_screen(measured):
    assert measured["innerWidth"] == WIDTH
    assert measured["scrollWidth"] <= measured["clientWidth"], \
        f"wider than the window: {measured['overflowing']}"


def test_report_says_how_ungraded_submissions_count(page):
    text = re.sub(r"<[^>]+>", "", page.read_text())
    assert "24 submissions graded" in text
    assert "1 of them could not be graded" in text and "counts as 0 in every mean" in text
    assert "Mean over the 23 graded ones only" in text
    assert "submission_111" in text.split("Not graded")[-1]
    flagged = text.split("Flagged submissions", 1)[1].split("Most common failures", 1)[0]
    for key in ("submission_103", "submission_105", "submission_107"):
        assert key in flagged
    assert "submission_111" not in flagged and "submission_104" not in flagged
