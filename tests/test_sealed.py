"""Sealed, bounded grading: hostile, hanging and malformed submissions, graded through the zip."""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adversarial import ALL, EXPECT, MARKER
from conftest import maxima, scores


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
    got, most = scores(result), maxima(result)
    assert list(got) == ALL or set(got) == set(ALL), "results.json must list every question"
    assert {q: got[q] for q in expect.get("full", [])} == {q: most[q] for q in expect.get("full", [])}
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


def test_otter_log_is_never_unpickled(graded, built, tmp_path):
    """Neither our grading nor Otter's own `otter run` with our zip runs a submitted log. The
    zip given to `otter run` also ships a `grader` package and a `torch.py`, and its notebook
    names a kernel that does not exist: Otter still writes results, nothing submitted is
    imported, and the blank engine scores zero."""
    from adversarial import ESCAPED

    _, zip_path, _ = built
    assert not Path(MARKER).exists()
    submission = graded["grader_package_in_zip"].submission
    subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o",
                    str(tmp_path), str(submission)], capture_output=True)
    assert not Path(MARKER).exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["tests"]
    assert {t["score"] for t in results["tests"] if "score" in t} == {0}
    assert list(Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*")) == []


def test_tampering_leaves_no_trace_in_verdicts(graded):
    """A blank engine that patches the checks fails with the blank engine's own messages."""
    for name in ["patch_otter_runner", "patch_comparisons", "patch_grader_package"]:
        cases = [c for q in graded[name].report.questions for c in q.cases]
        assert cases and not any(c.passed for c in cases)
