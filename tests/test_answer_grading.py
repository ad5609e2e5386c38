"""The written answers, graded through the zip: right answers in many spellings earn their
points, wrong ones lose exactly theirs, and feedback does not give the reference away."""


import pytest


# Right answers in the spellings students use, and wrong ones marked False.
MIXED = {
    "dz_dx_formula": (r"\frac{e^{x}-e^{-x}}{2}", True),
    "fwd_a": (r"$\ln 2$", True),
    "fwd_b": ("2.0", True),
    "fwd_c": ("log(2)", True),
    "fwd_d": ("log 2", False),          # the sign is lost
    "fwd_e": ("0.5", True),
    "fwd_z": ("1.25", True),
    "dz_dz": ("1", True),
    "dz_de": (r"\frac{1}{2}", True),
    "dz_dd": ("-1/4", False),           # the sign is wrong
    "dz_dc": ("-0.25", True),
    "dz_db": ("$\\tfrac12$", True),
    "dz_da": ("e^{-\\log 2} * 2", True),
    "dz_dx": ("sinh(log 2)", True),
    "T_run": (r"$\mathcal{O}(n \cdot b \cdot d^2)$", True),
    "T_forward": ("O(nbd^2 + nbd)", True),
    "T_backward": ("O(n b d)", False),      # too small
    "T_backward_W1": ("O(b d^2)", False),   # backprop to W1 still crosses every layer
    "M_run": ("Θ(bd)", True),
    "M_forward": ("O(n·b·d)", True),
    "M_backward": ("O(nbd)", False),        # forgets the n gradients of size d²
    "M_backward_W1": ("O(d² + nbd)", True),
}
POINTS = {"paper_calculus": 1, "paper_forward": 0.5, "paper_backward": 0.5, "bigo_time": 1,
          "bigo_memory": 1}
QUESTION_OF = {"dz_dx_formula": "paper_calculus", **{n: "paper_forward" for n in MIXED
                                                      if n.startswith("fwd_")},
               **{n: "paper_backward" for n in MIXED if n.startswith("dz_d") and n != "dz_dx_formula"},
               **{n: "bigo_time" for n in MIXED if n.startswith("T_")},
               **{n: "bigo_memory" for n in MIXED if n.startswith("M_")}}


@pytest.fixture(scope="module")
def mixed(corpus):
    graded = corpus["mixed"]
    return graded.report.scores(), graded.results


def test_partial_credit_per_answer(mixed):
    scores, _ = mixed
    deserved = {q: 0.0 for q in POINTS}
    for name, (_, right) in MIXED.items():
        deserved[QUESTION_OF[name]] += POINTS[QUESTION_OF[name]] * right
    assert {q: scores[q][0] for q in POINTS} == deserved
    assert all(scores[q][0] == 0 for q in scores if q.startswith("step"))


def test_feedback_names_the_wrong_answers_without_the_reference(mixed):
    _, results = mixed
    outputs = {t["name"]: t.get("output", "") for t in results["tests"]}
    for name, (_, right) in MIXED.items():
        text = outputs[QUESTION_OF[name]]
        if not right:
            assert f"{name}: " in text
    for reference in ["O(n b d + n d^2)", "O(nbd + nd^2)", "O(n b d^2)", "-log 2"]:
        assert reference not in outputs["bigo_time"] + outputs["bigo_memory"] + \
            outputs["paper_forward"]
