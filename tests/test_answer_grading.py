"""The written answers, graded through the zip: right answers in many spellings earn their
points, wrong ones lose exactly theirs, and feedback does not give the reference away."""

import pytest

from notebooks import ANSWER_NAMES, ANSWER_QUESTIONS, ENGINE_STEPS, POINTS


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
PER_ANSWER = {q: POINTS[q] / len(ANSWER_NAMES[q]) for q in ANSWER_QUESTIONS}
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
    deserved = {q: 0.0 for q in ANSWER_QUESTIONS}
    for name, (_, right) in MIXED.items():
        deserved[QUESTION_OF[name]] += PER_ANSWER[QUESTION_OF[name]] * right
    assert {q: scores[q][0] for q in ANSWER_QUESTIONS} == deserved
    assert {q: scores[q][0] for q in ENGINE_STEPS} == {q: 0 for q in ENGINE_STEPS}


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


# The published notebook as a student hands it in, answer cells never used: the engine in its
# # MAIN CODE cell, the paper answers in their boxes, some written as derivations, and the big-O
# boxes replaced by plain display math ("$$M_{\text{run}} = O(bd)$$"), by their left-hand sides.
IN_BOXES = {
    r"\frac{dz}{dx}": (r"\frac{e^x - e^{-x}}{2} = \sinh{x}", True),
    "a": (r"\text{log 2}", True),
    "b": (r"e^{\log 2} = 2", True),
    "c": (r"\log 2", True),
    "d": (r"\text{-log2 or log(0.5)}", True),                  # alternatives, both right
    "e": (r"\frac{1}{2}", True),
    "z": (r"\frac{5}{4} + 10^{-40}", False),                   # exact means exact
    r"\frac{\partial z}{\partial z}": ("1", True),
    r"\frac{\partial z}{\partial e}": (r"\frac{1}{2}", True),
    r"\frac{\partial z}{\partial d}": (r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{2} "
                                       r"= \tfrac{1}{4}", True),   # e is the node e here
    r"\frac{\partial z}{\partial c}": (r"-\frac{1}{4}", True),
    r"\frac{\partial z}{\partial b}": (r"\frac{\partial z}{\partial d} \cdot 2 = \frac{1}{2}", True),
    r"\frac{\partial z}{\partial a}": ("1", True),
    r"\frac{\partial z}{\partial x}": (r"\frac{1}{2} + \frac{1}{4} = \frac{3}{4}", True),
    r"T_{\text{run}}": (r"\sum_{i=1}^n \left( T_{\text{mm}} + T_{\sigma} \right) = n \left[ "
                        r"O(bd^2) + O(bd) \right] = O(nbd^2)", True),
    r"T_{\text{forward}}": (r"O(n b d^2)", True),
    r"T_{\text{backward}}": (r"2 T_{\text{forward}} = O(nbd^2)", True),
    r"T_{\text{backward-for-}W_1}": (r"O(nbd)", False),
}
UNBOXED = {
    r"M_{\text{run}}": (r"O(bd)", True),
    r"M_{\text{forward}}": (r"\sum_{i=1}^n O(bd) = O(nbd)", True),
    r"M_{\text{backward}}": (r"O(nbd) + \sum_{i=1}^{n} O(d^2) = O(nbd + nd^2)", True),
    r"M_{\text{backward-for-}W_1}": (r"O(nbd)", False),        # forgets the gradient of W_1
}


def ta_notebook(engine):
    """The published notebook filled in as above, with `engine` as its # MAIN CODE cell."""
    from notebooks import fill, main_cell, published, unbox

    notebook = unbox(fill(published(), {k: v for k, (v, _) in IN_BOXES.items()}),
                     {k: v for k, (v, _) in UNBOXED.items()})
    main_cell(notebook).source = engine
    return notebook


def test_answers_read_as_a_ta_reads_them(corpus):
    """Graded through the zip: every answer is found (in its box, or in the display math where
    the box stood), judged as a TA would, and staff are told where each answer was read."""
    import nbformat

    from grader.answers.boxes import box_labels
    from notebooks import REFERENCE

    names = {e["label"]: e["name"] for e in box_labels(nbformat.read(REFERENCE, as_version=4))}
    right = {names[label]: ok for label, (_, ok) in {**IN_BOXES, **UNBOXED}.items()}
    graded = corpus["ta_reading"]
    scores = graded.report.scores()
    for question, answers in ANSWER_NAMES.items():
        if answers:
            share = POINTS[question] / len(answers)
            assert scores[question][0] == sum(share for name in answers if right[name]), \
                (question, graded.report.questions)
    flags = graded.report.flags
    assert set(flags["answers from boxes"][0].split(", ")) == {names[k] for k in IN_BOXES}
    assert set(flags["answers from display math"][0].split(", ")) == {names[k] for k in UNBOXED}
    assert "no answer" not in flags
    assert {step: scores[step][0] for step in ENGINE_STEPS} == \
        {step: POINTS[step] for step in ENGINE_STEPS}
