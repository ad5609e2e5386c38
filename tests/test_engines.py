"""Grading depth: every realistic wrong engine loses exactly the points it should, every correct
engine keeps full marks, and the feedback says what went wrong without showing the solution."""

import re

import pytest
import torch

from conftest import report_cases, scores
from engines import CORRECT, WRONG
from notebooks import ENGINE_STEPS, POINTS, reference_main



@pytest.fixture(scope="module")
def graded(corpus):
    return {name: corpus[name] for name in [*WRONG, *CORRECT]}


def test_corpus_size():
    assert len(WRONG) >= 20 and len(CORRECT) >= 5


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_engine_loses_what_it_should(graded, name):
    got = scores(graded[name])
    want = {step: WRONG[name]["expect"].get(step, POINTS[step]) for step in ENGINE_STEPS}
    assert {step: got[step] for step in ENGINE_STEPS} == want
    assert any(got[step] < POINTS[step] for step in ENGINE_STEPS)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_engine_keeps_full_marks(graded, name):
    got = scores(graded[name])
    assert {step: got[step] for step in ENGINE_STEPS} == {s: POINTS[s] for s in ENGINE_STEPS}


def test_feedback_is_specific_and_shows_no_solution(graded, built):
    _, _, solution = built
    solution_lines = {line.strip() for line in reference_main(solution).splitlines()
                      if len(line.strip()) > 20 and not line.strip().startswith("#")}
    specific = re.compile(r"should be|should have|raised|ran \d+ times|was stopped|not defined"
                          r"|timed out|should be a")
    for name in WRONG:
        for step in ENGINE_STEPS:
            for case, (passed, message) in report_cases(graded[name], step).items():
                if passed:
                    continue
                assert specific.search(message), (name, step, case, message)
                # lines the message quotes from the student's own cells are theirs to see
                own = "\n".join(line for line in message.splitlines()
                                 if not line.startswith(("  in ", "  called from ")))
                leaked = [line for line in solution_lines if line in own]
                assert not leaked, (name, step, case, leaked)


def test_a_rerun_keeps_what_each_run_found_when_the_engine_updates_in_place(built):
    """A probe that runs one graph again on new leaves returns each run's own values, even from
    an engine that writes results into the same tensor each time."""
    import json
    import zipfile

    from grader.authoring.probes import rerun_program

    _, zip_path, solution = built
    with zipfile.ZipFile(zip_path) as zf:
        scope = {"torch": torch}   # as the homework's cells import it
        exec(json.loads(zf.read("homework.json"))["provided"], scope)
    exec(reference_main(solution) + '''
class InPlaceExp(Exp):
    def forward(self):
        value = self.input(0).exp()
        if isinstance(self.result, torch.Tensor) and self.result.shape == value.shape:
            self.result.copy_(value)
        else:
            self.result = value.clone()
''', scope)
    runs = [{"x": {"data": [float(k), k + 1.0]}} for k in range(2)]
    found = rerun_program("a = InPlaceExp(x)", runs, {"Leaf": scope["Leaf"],
                                                       "InPlaceExp": scope["InPlaceExp"]},
                          scope["forward_algorithm"])
    assert [f["results"]["a"].tolist() for f in found] == \
        [torch.exp(torch.tensor(r["x"]["data"], dtype=torch.float64)).tolist() for r in runs]
