"""The course's published notebook, as students fill it in: answers in the markdown boxes, no
answer cells, no Otter cells, the "Do not change" cells as published (trailing spaces and all).
Graded through the zip, it earns the points its boxes deserve, and staff see where the answers
came from."""

import re

import pytest

from notebooks import ANSWER_QUESTIONS, POINTS, fill, load, main_cell, reference_main
from test_boxes import FILLED, NAMES


def published(template, engine, filled):
    """The student notebook in the published notebook's format, its boxes `filled`."""
    notebook = load(template)
    answer = re.compile(r"^(%s) = " % "|".join(NAMES), re.M)
    notebook.cells = [c for c in notebook.cells if not (
        c.cell_type == "code" and (answer.search(c.source) or "otter" in c.source
                                   or "grader." in c.source))]
    for cell in notebook.cells:
        if cell.source.startswith("# Do not change the code in this cell."):
            cell.source = "\n".join(line + "  " for line in cell.source.splitlines())
    main_cell(notebook).source = engine
    return fill(notebook, filled)


@pytest.fixture(scope="module")
def graded(built, grade_all):
    template, _, solution = built
    engine = reference_main(solution)
    wrong = {**FILLED, "a": r"\log 3", r"T_{\text{run}}": "O(n b d)"}
    return grade_all({"published": published(template, engine, FILLED),
                      "published_two_wrong": published(template, engine, wrong)})


def test_answers_in_boxes_earn_their_points(graded):
    scores = graded["published"].report.scores()
    assert {q: scores[q][0] for q in scores} == POINTS


def test_wrong_boxes_lose_exactly_their_points(graded):
    scores = graded["published_two_wrong"].report.scores()
    assert {q: scores[q][0] for q in ANSWER_QUESTIONS} == \
        {**{q: POINTS[q] for q in ANSWER_QUESTIONS}, "paper_forward": 2.5, "bigo_time": 3}


def test_staff_see_where_the_answers_came_from(graded):
    flags = graded["published"].report.flags
    assert flags["answers from boxes"] == [", ".join(NAMES)]
    assert "no answer" not in flags
    assert "edited" not in flags, flags.get("edited")  # published cells differ only in spacing
