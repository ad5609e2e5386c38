"""Sealed, bounded grading: hostile, hanging and malformed submissions, graded through the zip."""

import html
import re

import pytest

from adversarial import ALL, EXPECT
from conftest import scores
from notebooks import POINTS


@pytest.fixture(scope="module")
def graded(attacked):
    return attacked


def feedback(graded):
    """Every output of results.json, as the student reads it (HTML entities decoded)."""
    results = graded.results
    return html.unescape("\n".join([results.get("output", "")]
                                   + [t.get("output", "") for t in results["tests"]]))


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_submission_is_graded_as_it_deserves(graded, name):
    result, expect = graded[name], EXPECT[name]
    got = scores(result)
    assert list(got) == ALL, "results.json must list every question, in order"
    assert {q: got[q] for q in expect.get("full", [])} == \
        {q: POINTS[q] for q in expect.get("full", [])}
    assert {q: got[q] for q in expect.get("zero", [])} == {q: 0 for q in expect.get("zero", [])}
    assert {q: got[q] for q in expect.get("scores", {})} == expect.get("scores", {})
    if "says" in expect:
        assert re.search(expect["says"], feedback(result)), feedback(result)[-3000:]


def test_hangs_are_cut_by_the_sandbox_not_by_the_caller(graded):
    """The per-step limits end a hanging submission: its report comes from sealed grading."""
    for name in ["hang_on_load", "hang_in_tensor_backward", "sleep_everywhere"]:
        assert graded[name].report is not None and graded[name].report.error is None
        statuses = {q.name: q.status for q in graded[name].report.questions}
        assert "timeout" in statuses.values(), statuses


def test_tampering_leaves_no_trace_in_verdicts(graded):
    """A blank engine that patches the checks fails with the blank engine's own messages."""
    for name in ["patch_otter_runner", "patch_comparisons", "patch_grader_package"]:
        cases = [c for q in graded[name].report.questions for c in q.cases]
        assert cases and not any(c.passed for c in cases)
